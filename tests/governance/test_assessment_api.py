"""Risk assessments through the v1 API: the same rules as the pages, in the API's error shape."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from governance import services
from registry import services as registry_services
from registry.models import RegisteredModel
from tests.conftest import bearer
from tests.factories import make_model
from tests.governance.conftest import CREDIT_SCORING


@pytest.fixture
def api():
    """Session writes without CSRF tokens (tests/registry/test_api.py checks that CSRF is enforced)."""
    return APIClient()


@pytest.fixture
def credit(owner, team_alpha, frameworks):
    return make_model(owner, name="credit-scoring", team=team_alpha)


def start(api, owner):
    api.force_login(owner)
    response = api.post("/api/v1/models/credit-scoring/assessments/", {"template": "eu-ai-act"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_pipeline_of_calls_from_draft_to_high_risk(api, owner, risk_officer, credit):
    body = start(api, owner)
    assert body["status"] == "draft" and body["template"]["key"] == "eu-ai-act" and body["tier"] == "minimal"
    url = body["url"]

    response = api.patch(url, {"answers": {"annex3_applies": True}}, format="json")
    assert response.status_code == 200
    assert set(response.json()["missing"]) >= {"annex3_points", "art6_3_profiling"}

    response = api.post(f"{url}submit/", {}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "assessment_incomplete" and "annex3_points" in error["fields"]

    response = api.patch(url, {"answers": CREDIT_SCORING}, format="json")
    assert response.json()["tier"] == "high" and response.json()["missing"] == []
    assert "Annex III 5(b)" in response.json()["explanation"]["references"]
    assert api.post(f"{url}submit/", format="json").json()["status"] == "submitted"

    response = api.post(f"{url}approve/", {"comment": "Mine."}, format="json")
    assert response.status_code == 403, "the owner is not a risk officer"

    api.force_login(risk_officer)
    response = api.post(f"{url}approve/", {"comment": "Annex III 5(b)."}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "approved" and body["reviewer"] == "risk" and body["valid_until"]
    assert RegisteredModel.objects.get(name="credit-scoring").risk_tier == "high"
    assert api.get("/api/v1/models/credit-scoring/").json()["risk_tier"] == "high"


def test_invalid_answers_come_back_per_question(api, owner, credit):
    url = start(api, owner)["url"]
    response = api.patch(url, {"answers": {"eu_nexus": "perhaps", "unknown": 1}}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"eu_nexus", "unknown"}


def test_a_risk_officer_who_assessed_cannot_approve(api, risk_officer, credit):
    api.force_login(risk_officer)
    body = api.post("/api/v1/models/credit-scoring/assessments/", {"template": "eu-ai-act"}, format="json").json()
    assert body["assessor"] == "risk"
    api.patch(body["url"], {"answers": CREDIT_SCORING}, format="json")
    assert api.post(f"{body['url']}submit/", format="json").status_code == 200
    response = api.post(f"{body['url']}approve/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("You are this assessment's assessor")


def test_separation_of_duties_message(api, owner, risk_officer, team_alpha, credit):
    team_alpha.group.user_set.add(risk_officer)  # the risk officer may change the model and assesses it
    api.force_login(risk_officer)
    body = api.post("/api/v1/models/credit-scoring/assessments/", {"template": "eu-ai-act"}, format="json").json()
    api.patch(body["url"], {"answers": CREDIT_SCORING}, format="json")
    api.post(f"{body['url']}submit/", format="json")
    response = api.post(f"{body['url']}approve/", {}, format="json")
    assert response.status_code == 403
    assert "separation of duties" in response.json()["error"]["message"]
    response = api.post(f"{body['url']}return/", {}, format="json")
    assert response.status_code == 403, "the refusal comes before the missing comment"


def test_returning_needs_a_comment(api, owner, risk_officer, credit):
    url = start(api, owner)["url"]
    api.patch(url, {"answers": CREDIT_SCORING}, format="json")
    api.post(f"{url}submit/", format="json")
    api.force_login(risk_officer)
    assert api.post(f"{url}return/", {}, format="json").status_code == 400
    response = api.post(f"{url}return/", {"comment": "Attach the opinion."}, format="json")
    assert response.json()["status"] == "returned" and response.json()["review_comment"] == "Attach the opinion."


@pytest.mark.parametrize(("scopes", "status"), [(["read", "write"], 403), (["read", "vote"], 200)])
def test_sign_off_by_token_needs_the_vote_scope(api, owner, risk_officer, credit, scopes, status):
    url = start(api, owner)["url"]
    api.patch(url, {"answers": CREDIT_SCORING}, format="json")
    api.post(f"{url}submit/", format="json")
    api.logout()
    _, secret = registry_services.token_create(actor=risk_officer, user=risk_officer, name="t", scopes=scopes)
    response = api.post(f"{url}approve/", {}, format="json", **bearer(secret))
    assert response.status_code == status, response.json()
    if status == 403:
        assert "'vote' scope" in response.json()["error"]["message"]


def test_evidence_upload_returns_its_digest(api, owner, credit, artifact_storage):
    url = start(api, owner)["url"]
    content = b"DPIA v3 signed"
    response = api.post(
        f"{url}evidence/",
        {"file": SimpleUploadedFile("dpia.pdf", content), "question_id": "supporting_evidence", "title": "DPIA"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert response.json()["download_url"].endswith(f"/governance/evidence/{response.json()['id']}/")
    download = api.get(response.json()["download_url"])
    assert b"".join(download.streaming_content) == content
    assert download["Content-Disposition"].startswith('attachment; filename="dpia.pdf"')

    response = api.post(f"{url}evidence/", {"url": "javascript:alert(1)"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"] == {"url": ["Enter an http(s) URL."]}


def test_risk_register_through_the_api(api, owner, risk_officer, viewer, credit):
    api.force_login(risk_officer)
    response = api.post(
        "/api/v1/models/credit-scoring/risks/",
        {"title": "Drift", "likelihood": 4, "impact": 5, "owner": "owner", "category": "robustness"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    risk = response.json()
    assert risk["inherent_rating"] == 20 and risk["inherent_band"] == "critical"
    response = api.patch(risk["url"], {"residual_likelihood": 2, "residual_impact": 3}, format="json")
    assert response.json()["residual_rating"] == 6
    response = api.get("/api/v1/risks/", {"sort": "due"})
    assert [r["title"] for r in response.json()["results"]] == ["Drift"]

    api.force_login(viewer)
    response = api.patch(risk["url"], {"status": "closed"}, format="json")
    assert response.status_code == 403


def test_templates_are_readable_by_everyone_signed_in(api, viewer, frameworks):
    api.force_login(viewer)
    body = api.get("/api/v1/assessment-templates/").json()
    assert {t["key"] for t in body["results"]} == {"eu-ai-act", "nist-ai-rmf", "iso-42001"}
    eu = next(t for t in body["results"] if t["key"] == "eu-ai-act")
    detail = api.get(eu["url"]).json()
    assert detail["classifies"] is True and detail["definition"]["sections"][0]["id"] == "scope"


def test_creating_with_an_unknown_template_or_version(api, owner, credit):
    api.force_login(owner)
    response = api.post("/api/v1/models/credit-scoring/assessments/", {"template": "nope"}, format="json")
    assert response.status_code == 400 and "template" in response.json()["error"]["fields"]
    response = api.post(
        "/api/v1/models/credit-scoring/assessments/", {"template": "eu-ai-act", "model_version": 9}, format="json"
    )
    assert response.status_code == 404


def test_outsider_cannot_reach_a_restricted_models_assessments(api, owner, outsider, frameworks):
    hidden = make_model(owner, name="hidden", visibility="restricted")
    assessment = services.assessment_create(actor=owner, model=hidden, template=frameworks["eu-ai-act"])
    api.force_login(outsider)
    assert api.get(f"/api/v1/assessments/{assessment.pk}/").status_code == 404
    assert api.get("/api/v1/assessments/").json()["count"] == 0
