"""Every v1 write endpoint refuses fields it does not take, the same way (400 `unknown_field`), instead of
silently ignoring them."""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.serializers import BaseSerializer

from registry import services
from registry.api.serializers import RejectUnknownFields
from registry.choices import Stage
from registry.models import RegisteredModel
from tests.conftest import bearer
from tests.factories import make_model, make_version

WRITE_METHODS = {"POST", "PUT", "PATCH"}


def _v1_write_serializers():
    """(method, path, request serializer) for every v1 write operation, as the OpenAPI schema documents it."""
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    found = []
    for path, _regex, method, view in generator._get_paths_and_endpoints():
        if method not in WRITE_METHODS or not path.startswith("/api/v1/"):
            continue
        view.schema.method, view.schema.view, view.schema.path = method, view, path
        request = view.schema.get_request_serializer()
        # A body documented per media type ({"multipart/form-data": EvidenceInput, ...}); raw bodies (a file
        # PUT, an empty object) have no fields to check.
        for serializer in request.values() if isinstance(request, dict) else [request]:
            if isinstance(serializer, BaseSerializer) or (
                isinstance(serializer, type) and issubclass(serializer, BaseSerializer)
            ):
                found.append((method, path, serializer))
    return found


WRITE_SERIALIZERS = _v1_write_serializers()


def test_the_walk_finds_the_write_endpoints():
    paths = {path for _, path, _ in WRITE_SERIALIZERS}
    assert "/api/v1/models/{name}/versions/{version}/promote/" in paths
    assert len(WRITE_SERIALIZERS) > 20


@pytest.mark.parametrize(
    ("method", "path", "serializer"), [pytest.param(*row, id=f"{row[0]} {row[1]}") for row in WRITE_SERIALIZERS]
)
def test_every_write_serializer_rejects_unknown_fields(db, method, path, serializer):
    instance = serializer() if isinstance(serializer, type) else serializer
    cls = type(instance.child if hasattr(instance, "child") else instance)
    assert issubclass(cls, RejectUnknownFields), f"{method} {path}: {cls.__name__} accepts unknown fields"


def test_promote_answers_400_for_a_field_it_does_not_take(api, owner):
    model = make_model(owner, name="churn")
    version = make_version(owner, model)
    _, secret = services.token_create(actor=owner, user=owner, name="pipeline", scopes=["write"])
    api.credentials(**bearer(secret))
    answer = api.post("/api/v1/models/churn/versions/1/promote/", {"stage": "staging"}, format="json")
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "unknown_field"
    assert error["fields"] == {"stage": ["Unknown field."]}
    assert "justification" in error["message"]
    version.refresh_from_db()
    assert version.stage == Stage.DEVELOPMENT


def test_registering_a_model_with_a_misspelt_field_registers_nothing(api, owner):
    _, secret = services.token_create(actor=owner, user=owner, name="pipeline", scopes=["write"])
    api.credentials(**bearer(secret))
    created = api.post("/api/v1/models/", {"name": "m1", "title": "M", "colour": "red"}, format="json")
    assert created.status_code == 400 and created.json()["error"]["code"] == "unknown_field"
    assert not RegisteredModel.objects.filter(name="m1").exists()
