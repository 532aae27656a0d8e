"""The wire rules MLflow clients rely on, checked with raw HTTP: parameters, bodies, shapes, errors, audit,
and a constant number of queries per search page."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from governance.models import AuditEvent
from registry import services
from registry.choices import ArtifactStatus
from registry.models import Artifact, ModelVersion, RegisteredModel
from tests.factories import make_model, make_version

BASE = "/api/2.0/mlflow/"
pytestmark = pytest.mark.postgres


@pytest.fixture
def token(owner):
    return services.token_create(actor=owner, user=owner, name="wire", scopes=["write"])


@pytest.fixture
def http(token):
    """A raw client sending the token the way MLFLOW_TRACKING_TOKEN does."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {token[1]}")


def send(http, method: str, path: str, body=None, **headers):
    """A body as MLflow sends it: JSON, whatever the method (DELETE included)."""
    return http.generic(method, BASE + path, json.dumps(body or {}), content_type="application/json", **headers)


def test_success_is_a_json_object_and_empty_when_nothing_to_say(http, owner):
    model = make_model(owner, name="wire")
    make_version(owner, model)
    response = send(http, "POST", "registered-models/set-tag", {"name": "wire", "key": "k", "value": "v"})
    assert (response.status_code, response["Content-Type"], response.json()) == (200, "application/json", {})
    response = send(http, "DELETE", "registered-models/delete-tag", {"name": "wire", "key": "k"})
    assert (response.status_code, response.json()) == (200, {})
    model.refresh_from_db()
    assert model.tags == {}


def test_shapes_versions_as_strings_and_epoch_milliseconds(http, owner):
    model = make_model(owner, name="shapes")
    version = make_version(owner, model, source="runs:/r/model", run_id="r")
    body = http.get(BASE + "model-versions/get", {"name": "shapes", "version": "1"}).json()["model_version"]
    assert body["version"] == "1" and body["current_stage"] == "None" and body["status"] == "READY"
    assert body["creation_timestamp"] == int(version.created_at.timestamp() * 1000)
    assert (body["source"], body["run_id"], body["user_id"]) == ("runs:/r/model", "r", "owner")
    model_body = http.get(BASE + "registered-models/get", {"name": "shapes"}).json()["registered_model"]
    assert [v["version"] for v in model_body["latest_versions"]] == ["1"]
    assert model_body["risk_tier"] == "unassessed" and model_body["tags"] == []


def test_get_takes_repeated_query_parameters_for_lists(http, owner):
    model = make_model(owner, name="lists")
    make_version(owner, model)
    staged = make_version(owner, model)
    services.version_stage_apply(actor=owner, version=staged, stage="staging")
    make_version(owner, model)
    answer = http.get(BASE + "registered-models/get-latest-versions", {"name": "lists", "stages": ["Staging", "None"]})
    assert [(v["version"], v["current_stage"]) for v in answer.json()["model_versions"]] == [
        ("2", "Staging"),
        ("3", "None"),
    ]
    posted = send(http, "POST", "registered-models/get-latest-versions", {"name": "lists", "stages": ["staging"]})
    assert [v["version"] for v in posted.json()["model_versions"]] == ["2"]


def test_errors_have_mlflows_shape_codes_and_statuses(http, owner):
    client = Client()  # no credentials
    make_model(owner, name="exists")
    cases = [
        (http.get(BASE + "registered-models/get", {"name": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST"),
        (send(http, "POST", "registered-models/create", {"name": "exists"}), 400, "RESOURCE_ALREADY_EXISTS"),
        (send(http, "POST", "registered-models/create", {}), 400, "INVALID_PARAMETER_VALUE"),
        (http.get(BASE + "registered-models/search", {"page_token": "garbage"}), 400, "INVALID_PARAMETER_VALUE"),
        (http.get(BASE + "registered-models/search", {"filter": "name = 'x"}), 400, "INVALID_PARAMETER_VALUE"),
        (http.get(BASE + "registered-models/search", {"order_by": "size DESC"}), 400, "INVALID_PARAMETER_VALUE"),
        (http.get(BASE + "model-versions/get", {"name": "exists", "version": "one"}), 400, "INVALID_PARAMETER_VALUE"),
        (
            http.generic("POST", BASE + "registered-models/create", b"{not json", content_type="application/json"),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (client.get(BASE + "registered-models/search"), 401, "UNAUTHENTICATED"),
        (
            client.get(BASE + "registered-models/search", HTTP_AUTHORIZATION="Bearer arb_0000_nope"),
            401,
            "UNAUTHENTICATED",
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.content
        body = response.json()
        assert set(body) == {"error_code", "message"} and body["error_code"] == code and body["message"]


def test_a_body_without_content_type_is_read_as_json(http):
    response = http.generic("POST", BASE + "registered-models/create", json.dumps({"name": "plain"}), content_type="")
    assert response.status_code == 200 and response.json()["registered_model"]["name"] == "plain"


def test_basic_auth_needs_the_tokens_owner_as_username(token, owner):
    client = Client()

    def basic(username: str) -> str:
        return "Basic " + base64.b64encode(f"{username}:{token[1]}".encode()).decode()

    ok = client.get(BASE + "registered-models/search", HTTP_AUTHORIZATION=basic("owner"))
    assert ok.status_code == 200 and ok.json() == {"registered_models": []}
    wrong = client.get(BASE + "registered-models/search", HTTP_AUTHORIZATION=basic("admin"))
    assert wrong.status_code == 401 and wrong.json()["error_code"] == "UNAUTHENTICATED"
    assert wrong["WWW-Authenticate"].startswith("Bearer")


def test_each_call_is_audited_like_its_v1_twin(http, token, owner):
    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    send(http, "POST", "registered-models/create", {"name": "audited", "tags": [{"key": "k", "value": "v"}]})
    send(http, "POST", "model-versions/create", {"name": "audited", "source": "runs:/x/model"})
    send(http, "POST", "registered-models/alias", {"name": "audited", "alias": "champion", "version": "1"})
    send(http, "POST", "model-versions/transition-stage", {"name": "audited", "version": "1", "stage": "Staging"})
    http.get(BASE + "registered-models/alias", {"name": "audited", "alias": "champion"})  # reads record nothing
    events = AuditEvent.objects.filter(seq__gt=before).order_by("seq")
    assert [e.action for e in events] == ["model.created", "version.created", "alias.changed", "version.stage_changed"]
    assert {(e.actor_label, e.actor_token) for e in events} == {("owner", token[0].prefix)}


def test_source_is_an_opaque_reference_never_fetched(http, owner):
    """Arbiter stores whatever the pipeline says; a path or URL is never opened (MLflow's own CVEs)."""
    make_model(owner, name="opaque")
    for source in ("file:///etc/passwd", "../../../../etc/shadow", "http://169.254.169.254/latest/meta-data/"):
        response = send(http, "POST", "model-versions/create", {"name": "opaque", "source": source})
        assert response.status_code == 200 and response.json()["model_version"]["source"] == source


@pytest.mark.parametrize("path", ["registered-models/search", "model-versions/search"])
def test_search_pages_take_a_constant_number_of_queries(http, owner, path, django_assert_max_num_queries):
    for i in range(30):
        model = make_model(owner, name=f"q-{i:02d}", tags={"n": str(i)})
        first = make_version(owner, model)
        services.version_stage_apply(actor=owner, version=first, stage="staging")
        second = make_version(owner, model)
        services.alias_apply(actor=owner, model=model, name="champion", version=second)
        Artifact.objects.create(version=second, filename="w.bin", storage_key="k", status=ArtifactStatus.VALID)
    key = "registered_models" if path.startswith("registered") else "model_versions"
    filters = "name LIKE 'q-%' AND tags.`n` != '3'" if key == "registered_models" else "name LIKE 'q-%'"
    for size in (3, 25):
        with django_assert_max_num_queries(8):
            response = http.get(BASE + path, {"filter": filters, "max_results": size})
        assert len(response.json()[key]) == size and response.json()["next_page_token"]


def test_search_shows_only_what_the_caller_may_see(owner, outsider):
    from registry.choices import Visibility

    for name, visibility in (("shared", Visibility.INTERNAL), ("private", Visibility.RESTRICTED)):
        make_version(owner, make_model(owner, name=name, visibility=visibility))
    _, secret = services.token_create(actor=outsider, user=outsider, name="peek", scopes=["read"])
    peek = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    models = peek.get(BASE + "registered-models/search").json()["registered_models"]
    versions = peek.get(BASE + "model-versions/search").json()["model_versions"]
    assert [m["name"] for m in models] == ["shared"] and [v["name"] for v in versions] == ["shared"]
    hidden = peek.get(BASE + "registered-models/get", {"name": "private"})
    assert hidden.status_code == 404 and hidden.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_archive_existing_versions_archives_the_others_in_the_target_stage(http, owner):
    model = make_model(owner, name="rotate")
    first, second = make_version(owner, model), make_version(owner, model)
    services.version_stage_apply(actor=owner, version=first, stage="staging")
    response = send(
        http,
        "POST",
        "model-versions/transition-stage",
        {"name": "rotate", "version": "2", "stage": "staging", "archive_existing_versions": True},
    )
    assert response.json()["model_version"]["current_stage"] == "Staging"
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.stage, second.stage) == ("archived", "staging")
    back = send(http, "POST", "model-versions/transition-stage", {"name": "rotate", "version": "2", "stage": "None"})
    assert back.status_code == 409 and back.json()["error_code"] == "RESOURCE_CONFLICT"
    assert "cannot return to development" in back.json()["message"]


def test_the_cd_hot_path_takes_few_queries(http, owner, django_assert_max_num_queries):
    """Resolving an alias: the token, the caller's roles, the aliased version (visibility checked in the same
    query), its files and aliases. Getting a model: the same plus its aliases and newest versions."""
    model = make_model(owner, name="hot")
    version = make_version(owner, model)
    services.alias_apply(actor=owner, model=model, name="champion", version=version)
    http.get(BASE + "registered-models/search")  # the token's last-used stamp is written once a minute
    with django_assert_max_num_queries(5):
        resolved = http.get(BASE + "registered-models/alias", {"name": "hot", "alias": "champion"})
    assert resolved.json()["model_version"]["aliases"] == ["champion"]
    with django_assert_max_num_queries(7):
        assert http.get(BASE + "registered-models/get", {"name": "hot"}).status_code == 200


def test_nul_characters_anywhere_answer_400_invalid_parameter_value(http, owner):
    """Issue 22.5: these answered 500 (PostgreSQL refuses NUL in text and jsonb)."""
    make_model(owner, name="credit-scoring")
    cases = [
        http.get(BASE + "registered-models/get?name=credit-scoring%00"),
        http.get(BASE + "registered-models/search", {"filter": "name LIKE '%\x00'"}),
        http.get(BASE + "model-versions/get", {"name": "credit-scoring", "version": "1\x00"}),
        http.get("/api/2.0/mlflow-artifacts/artifacts/arbiter/credit-scoring%00/1/model.bin"),
        send(http, "POST", "registered-models/create", {"name": "n\x00"}),
        send(
            http,
            "POST",
            "model-versions/create",
            {"name": "credit-scoring", "source": "s3://b", "tags": [{"key": "k", "value": "v\x00"}]},
        ),
        send(
            http,
            "POST",
            "registered-models/set-tag",
            {"name": "credit-scoring", "key": "k", "value": {"nested": ["\x00"]}},
        ),
    ]
    for response in cases:
        assert response.status_code == 400, response.content
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE" and "NUL" in response.json()["message"]
    assert list(RegisteredModel.objects.values_list("name", "tags")) == [("credit-scoring", {})]
    assert not ModelVersion.objects.exists()
