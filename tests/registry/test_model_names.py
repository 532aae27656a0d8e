"""Model names as MLflow accepts them (spaces included) in every surface, look-alike names refused, a name
collision that never confirms a model the caller may not see, and NUL characters refused with 400."""

import json

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from governance.models import AuditEvent
from registry import services
from registry.choices import Visibility
from registry.exceptions import NameUnavailable
from registry.models import ModelVersion, RegisteredModel, model_name_key
from tests.conftest import bearer
from tests.factories import make_model, make_version

SPACED = "UpdateRMTest 2"
FORM = {"title": "T", "task_type": "classification", "framework": "pytorch", "visibility": Visibility.INTERNAL}


@pytest.fixture
def owner_token(owner):
    return services.token_create(actor=owner, user=owner, name="pipeline", scopes=["write"])[1]


@pytest.fixture
def outsider_token(outsider):
    return services.token_create(actor=outsider, user=outsider, name="pipeline", scopes=["write"])[1]


def test_a_name_with_a_space_works_in_the_v1_api(api, owner_token):
    api.credentials(**bearer(owner_token))
    created = api.post("/api/v1/models/", {"name": SPACED, "title": "Spaced"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["url"].endswith("/api/v1/models/UpdateRMTest%202/")
    registered = api.post("/api/v1/models/UpdateRMTest%202/versions/", {"source": "s3://b/m"}, format="json")
    assert registered.status_code == 201, registered.content
    assert api.get("/api/v1/models/UpdateRMTest%202/versions/1/").json()["version"] == 1
    assert api.get("/api/v1/models/UpdateRMTest%202/").json()["name"] == SPACED


def test_a_name_with_a_space_works_in_the_pages_and_the_admin(owner, administrator):
    browser = Client()
    browser.force_login(owner)
    created = browser.post("/models/new/", {**FORM, "name": "Credit Scoring #2?"})
    assert created.status_code == 302 and created["Location"] == "/models/Credit%20Scoring%20%232%3F/"
    model = RegisteredModel.objects.get(name="Credit Scoring #2?")
    make_version(owner, model)
    page = browser.get(created["Location"])
    assert page.status_code == 200 and b"Credit Scoring #2?" in page.content
    version_url = reverse("registry:version-detail", kwargs={"name": model.name, "version": 1})
    assert version_url == "/models/Credit%20Scoring%20%232%3F/versions/1/"
    assert browser.get(version_url).status_code == 200
    assert browser.get(reverse("governance:model-history", kwargs={"name": model.name})).status_code == 200

    admin = Client()
    admin.force_login(administrator)
    change = admin.get(f"/admin/registry/registeredmodel/{model.pk}/change/")
    assert change.status_code == 200 and b"Credit Scoring #2?" in change.content


def test_the_form_says_why_a_name_is_refused_next_to_the_field(owner):
    browser = Client()
    browser.force_login(owner)
    for name, reason in (("credit/scoring", b"cannot contain"), ("credit-scoring.", b"cannot end with a dot")):
        response = browser.post("/models/new/", {**FORM, "name": name})
        assert response.status_code == 200 and reason in response.content
    assert not RegisteredModel.objects.exists()


def test_look_alike_names_are_one_name_but_each_keeps_its_spelling(owner):
    model = make_model(owner, name="credit-scoring")
    for look_alike in ("credit_scoring", "Credit.Scoring", "CREDIT SCORING"):
        with pytest.raises(NameUnavailable):
            make_model(owner, name=look_alike)
    renamed = services.model_rename(actor=owner, model=model, new_name="Credit_Scoring")  # its own look-alike
    assert renamed.name == "Credit_Scoring" and RegisteredModel.objects.get(pk=model.pk).name_key == "credit-scoring"
    other = make_model(owner, name="fraud")
    with pytest.raises(NameUnavailable):
        services.model_rename(actor=owner, model=other, new_name="credit.scoring")
    assert RegisteredModel.objects.get(pk=other.pk).name == "fraud"


def test_the_name_key_constraint_holds_without_the_service_check(owner):
    """The database refuses look-alikes too: two requests racing past the service's check cannot both win."""
    make_model(owner, name="race-model")
    other = make_model(owner, name="other-model")
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisteredModel.objects.filter(pk=other.pk).update(name="Race_Model", name_key=model_name_key("Race_Model"))


@pytest.mark.postgres
def test_a_collision_answers_the_same_whether_or_not_the_caller_may_see_the_model(api, owner, outsider, outsider_token):
    make_model(owner, name="secret-scoring", visibility=Visibility.RESTRICTED)
    make_model(outsider, name="own-scoring")
    api.credentials(**bearer(outsider_token))
    assert api.get("/api/v1/models/secret-scoring/").status_code == 404

    answers = {}
    for attempt, holder in (("Secret_Scoring", "invisible"), ("Own_Scoring", "visible")):
        response = api.post("/api/v1/models/", {"name": attempt, "title": "x"}, format="json")
        body = response.json()
        answers[holder] = (response.status_code, body["error"]["code"], body["error"]["message"].replace(attempt, "?"))
    assert answers["invisible"] == answers["visible"]
    assert answers["visible"][:2] == (409, "name_unavailable") and "secret-scoring" not in json.dumps(answers)

    api.post("/api/v1/models/", {"name": "SECRET-SCORING", "title": "x"}, format="json")
    refusals = AuditEvent.objects.filter(action="model.name_unavailable", actor_label="outsider").order_by("seq")
    assert [(e.target_label, e.changes["name"], e.changes["refusals_last_day"]) for e in refusals] == [
        ("secret-scoring", "Secret_Scoring", 1),
        ("own-scoring", "Own_Scoring", 2),
        ("secret-scoring", "SECRET-SCORING", 3),
    ]
    assert RegisteredModel.objects.count() == 2


@pytest.mark.postgres
def test_nul_characters_anywhere_in_v1_input_answer_400(api, owner, owner_token):
    model = make_model(owner, name="nul-model")
    api.credentials(**bearer(owner_token))
    nested = {
        "source": "s3://b/m",
        "hyperparameters": {"layers": [{"name": "dense\u0000"}]},
        "library_versions": {"torch": "2.4"},
    }
    response = api.post("/api/v1/models/nul-model/versions/", nested, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"
    tagged = api.post("/api/v1/models/", {"name": "t", "title": "t", "tags": {"k\u0000": "v"}}, format="json")
    assert tagged.status_code == 400 and "NUL" in tagged.json()["error"]["message"]
    in_path = api.get("/api/v1/models/nul-model%00/")
    assert in_path.status_code == 400 and in_path.json()["error"]["code"] == "invalid"
    in_query = api.get("/api/v1/models/", {"q": "credit\x00"})
    assert in_query.status_code == 400 and in_query.json()["error"]["code"] == "invalid"
    assert not ModelVersion.objects.filter(model=model).exists()

    browser = Client()
    browser.force_login(owner)
    page = browser.get("/", {"q": "credit\x00"})
    assert page.status_code == 400 and b"NUL characters" in page.content
