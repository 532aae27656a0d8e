"""The v1 REST API as a pipeline uses it: tokens, JSON bodies, the error shape, filters and pagination."""

import pytest

from governance.models import AuditEvent
from registry import services
from registry.choices import Stage, Visibility
from tests.conftest import bearer
from tests.factories import make_model, make_version


@pytest.fixture
def owner_token(owner):
    _, secret = services.token_create(actor=owner, user=owner, name="pipeline", scopes=["write"])
    return secret


def test_pipeline_registers_model_and_versions_with_a_token(api, owner, owner_token):
    api.credentials(**bearer(owner_token))
    created = api.post(
        "/api/v1/models/", {"name": "churn", "title": "Churn", "tags": {"unit": "retail"}}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["owner"] == "owner"
    assert created.json()["url"].endswith("/api/v1/models/churn/")

    numbers = []
    for _ in range(3):
        response = api.post(
            "/api/v1/models/churn/versions/",
            {"source": "runs:/abc", "metrics": [{"name": "auc", "value": 0.8, "split": "test"}]},
            format="json",
        )
        assert response.status_code == 201, response.content
        numbers.append(response.json()["version"])
    assert numbers == [1, 2, 3]
    body = api.get("/api/v1/models/churn/versions/2/").json()
    assert body["metrics"] == [{"name": "auc", "value": 0.8, "dataset": "", "split": "test"}]
    assert body["stage"] == "development" and body["metadata_frozen"] is False
    event = AuditEvent.objects.filter(action="version.created").order_by("-seq").first()
    assert event.actor_label == "owner" and event.actor_token.startswith("arb_")


def test_version_numbers_are_assigned_by_the_server(api, owner, owner_token):
    make_model(owner, name="m")
    api.credentials(**bearer(owner_token))
    chosen = api.post("/api/v1/models/m/versions/", {"version": 99}, format="json")
    assert chosen.status_code == 400 and chosen.json()["error"]["fields"] == {"version": ["Unknown field."]}
    response = api.post("/api/v1/models/m/versions/", {}, format="json")
    assert response.status_code == 201
    assert response.json()["version"] == 1


def test_errors_have_one_machine_readable_shape(api, owner, owner_token):
    api.credentials(**bearer(owner_token))
    bad = api.post("/api/v1/models/", {"name": "bad/name", "title": "x"}, format="json")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "invalid" and "name" in error["fields"] and error["message"]

    make_model(owner, name="taken")
    dup = api.post("/api/v1/models/", {"name": "TAKEN", "title": "x"}, format="json")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "name_unavailable"

    missing = api.get("/api/v1/models/nope/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    malformed = api.generic("POST", "/api/v1/models/", "{not json", content_type="application/json")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_request"


def test_frozen_version_update_is_refused_with_409(api, owner, owner_token):
    model = make_model(owner, name="frozen")
    version = make_version(owner, model)
    services.version_stage_apply(actor=owner, version=version, stage=Stage.STAGING)
    api.credentials(**bearer(owner_token))
    response = api.patch("/api/v1/models/frozen/versions/1/", {"run_id": "other"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "version_frozen"
    described = api.patch("/api/v1/models/frozen/versions/1/", {"description": "new"}, format="json")
    assert described.status_code == 200 and described.json()["description"] == "new"
    tags = api.patch("/api/v1/models/frozen/versions/1/", {"tags": {"region": "eu"}}, format="json")
    assert tags.status_code == 200 and tags.json()["tags"] == {"region": "eu"}


def test_stage_cannot_be_set_through_patch(api, owner, owner_token):
    make_version(owner, make_model(owner, name="gated"))
    api.credentials(**bearer(owner_token))
    response = api.patch("/api/v1/models/gated/versions/1/", {"stage": "production"}, format="json")
    assert response.status_code == 400
    assert "transition" in response.json()["error"]["fields"]["stage"][0]


def test_transition_endpoint_moves_through_the_lifecycle(api, owner, owner_token):
    make_version(owner, make_model(owner, name="lifecycle"))
    api.credentials(**bearer(owner_token))
    url = "/api/v1/models/lifecycle/versions/1/transition/"
    ok = api.post(url, {"stage": "staging", "justification": "ready"}, format="json")
    assert ok.status_code == 200 and ok.json()["stage"] == "staging"
    illegal = api.post(url, {"stage": "development"}, format="json")
    assert illegal.status_code == 409 and illegal.json()["error"]["code"] == "illegal_transition"


def test_transition_can_archive_the_other_versions_in_the_target_stage(api, owner, owner_token):
    model = make_model(owner, name="rotating")
    first = make_version(owner, model)
    make_version(owner, model), make_version(owner, model)
    services.version_stage_apply(actor=owner, version=first, stage=Stage.STAGING)
    api.credentials(**bearer(owner_token))
    url = "/api/v1/models/rotating/versions/{}/transition/"
    assert api.post(url.format(2), {"stage": "staging"}, format="json").status_code == 200
    assert dict(model.versions.values_list("version", "stage")) == {1: "staging", 2: "staging", 3: "development"}

    rotated = api.post(url.format(3), {"stage": "staging", "archive_existing_versions": True}, format="json")
    assert rotated.status_code == 200 and rotated.json()["stage"] == "staging"
    assert dict(model.versions.values_list("version", "stage")) == {1: "archived", 2: "archived", 3: "staging"}
    archived = AuditEvent.objects.filter(action="version.stage_changed", changes__stage__after="archived")
    assert {e.changes["reason"] for e in archived} == {"replaced in staging by v3"}


def test_model_delete_only_while_all_versions_in_development(api, owner, owner_token):
    model = make_model(owner, name="to-delete")
    make_version(owner, model)
    api.credentials(**bearer(owner_token))
    assert api.delete("/api/v1/models/to-delete/").status_code == 204
    kept = make_model(owner, name="kept")
    services.version_stage_apply(actor=owner, version=make_version(owner, kept), stage=Stage.STAGING)
    refused = api.delete("/api/v1/models/kept/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "model_has_released_versions"


def test_list_filters_search_and_sort(api, owner):
    make_model(owner, name="credit-scoring", title="Retail credit scoring", framework="xgboost")
    make_model(owner, name="fraud", title="Card fraud", framework="lightgbm", description="transactions")
    sentiment = make_model(owner, name="sentiment", title="Review sentiment", tags={"unit": "insights"})
    services.model_risk_tier_set(actor=None, model=sentiment, tier="minimal")
    api.force_login(owner)

    def names(**params):
        response = api.get("/api/v1/models/", params)
        assert response.status_code == 200, response.content
        return [m["name"] for m in response.json()["results"]]

    assert names(q="credit") == ["credit-scoring"]
    assert names(q="transactions") == ["fraud"]
    assert names(q="insights") == ["sentiment"]
    assert names(framework="lightgbm") == ["fraud"]
    assert names(risk_tier="minimal") == ["sentiment"]
    assert names(owner="owner", sort="name") == ["credit-scoring", "fraud", "sentiment"]
    assert names(sort="-created_at")[0] == "sentiment"
    bad = api.get("/api/v1/models/", {"risk_tier": "extreme"})
    assert bad.status_code == 400 and "risk_tier" in bad.json()["error"]["fields"]


def test_list_pagination(api, owner):
    for i in range(30):
        make_model(owner, name=f"m{i:02d}")
    api.force_login(owner)
    first = api.get("/api/v1/models/", {"page_size": 10, "sort": "name"}).json()
    assert first["count"] == 30 and len(first["results"]) == 10 and first["next"]
    second = api.get(first["next"]).json()
    assert second["results"][0]["name"] == "m10"


def test_version_list_uses_cursor_pagination_newest_first(api, owner):
    model = make_model(owner, name="paged")
    for _ in range(5):
        make_version(owner, model)
    api.force_login(owner)
    first = api.get("/api/v1/models/paged/versions/", {"page_size": 2}).json()
    assert [v["version"] for v in first["results"]] == [5, 4]
    assert "cursor=" in first["next"]
    second = api.get(first["next"]).json()
    assert [v["version"] for v in second["results"]] == [3, 2]


def test_restricted_model_is_404_for_outsider_and_missing_from_lists(api, owner, outsider):
    make_model(owner, name="secret", visibility=Visibility.RESTRICTED)
    make_model(owner, name="open")
    api.force_login(outsider)
    assert api.get("/api/v1/models/secret/").status_code == 404
    assert api.get("/api/v1/models/secret/versions/").status_code == 404
    listed = api.get("/api/v1/models/").json()
    assert [m["name"] for m in listed["results"]] == ["open"] and listed["count"] == 1


def test_session_writes_need_csrf(api, owner):
    api.force_login(owner)
    response = api.post("/api/v1/models/", {"name": "x", "title": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_unauthenticated_requests_get_401_not_a_login_page(api):
    response = api.get("/api/v1/models/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
