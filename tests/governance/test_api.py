"""The governance workflow over the v1 API, as pipelines and people use it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from governance.models import ApprovalRequest
from registry import services as registry_services
from registry.choices import Stage
from tests.artifact_files import safetensors_bytes, sha256_of
from tests.conftest import bearer

pytestmark = pytest.mark.usefixtures("committees", "artifact_storage")


@pytest.fixture
def pipeline(owner):
    return registry_services.token_create(actor=owner, user=owner, name="pipeline", scopes=["write"])[1]


def _submit(api, token, model="credit-scoring", version=1, stage="production"):
    api.credentials(**bearer(token))
    return api.post(
        "/api/v1/approval-requests/",
        {"model": model, "version": version, "target_stage": stage, "justification": "Validated on Q3 holdout."},
        format="json",
    )


def test_pipeline_submits_people_vote_pipeline_promotes_and_cd_resolves_the_alias(
    api, owner, model, reviewers, risk_officer, committees, pipeline, artifact_storage
):
    from governance import services

    version = registry_services.version_register(
        actor=owner, model=model, training_data=["s3://x"], metrics=[{"name": "auc", "value": 0.9}]
    )
    data = safetensors_bytes()
    artifact = registry_services.artifact_upload(
        actor=owner,
        version=version,
        uploaded_file=SimpleUploadedFile("model.safetensors", data),
        filename="model.safetensors",
        kind="weights",
    )
    registry_services.artifact_validate(artifact_id=artifact.pk)
    services.version_transition(actor=owner, version=version, stage=Stage.STAGING)

    created = _submit(api, pipeline)
    assert created.status_code == 201, created.content
    request_id = created.json()["id"]
    assert created.json()["committees"] == ["model-review-committee", "risk-compliance-committee"]

    # A pipeline token cannot vote, and the owner cannot vote on their own model.
    vote = {"committee": "model-review-committee", "decision": "approve"}
    refused = api.post(f"/api/v1/approval-requests/{request_id}/votes/", vote, format="json")
    assert refused.status_code == 403 and "vote" in refused.json()["error"]["message"]

    for reviewer in reviewers[:2]:
        _, secret = registry_services.token_create(actor=reviewer, user=reviewer, name="my votes", scopes=["vote"])
        api.credentials(**bearer(secret))
        answer = api.post(f"/api/v1/approval-requests/{request_id}/votes/", vote, format="json")
        assert answer.status_code == 201, answer.content
    api.credentials()
    from django.test import Client

    browser = Client()
    browser.force_login(risk_officer)
    session_vote = browser.post(
        f"/governance/requests/{request_id}/vote/",
        {"committee": committees["rnc"].pk, "decision": "approve", "comment": ""},
    )
    assert session_vote.status_code == 302
    api.credentials(**bearer(pipeline))
    detail = api.get(f"/api/v1/approval-requests/{request_id}/").json()
    assert detail["status"] == "approved"
    assert detail["artifact_digests"] == {"model.safetensors": sha256_of(data)}
    assert {t["committee"]: t["outcome"] for t in detail["tallies"]} == {
        "model-review-committee": "approved",
        "risk-compliance-committee": "approved",
    }

    promoted = api.post("/api/v1/models/credit-scoring/versions/1/promote/", {"justification": "go"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["stage"] == "production"
    moved = api.put("/api/v1/models/credit-scoring/aliases/production", {"version": 1}, format="json")
    assert moved.status_code == 200, moved.content

    resolved = api.get("/api/v1/models/credit-scoring/aliases/production")
    assert resolved.status_code == 200
    files = resolved.json()["version"]["artifacts"]
    assert [(f["filename"], f["sha256"]) for f in files] == [("model.safetensors", sha256_of(data))]
    production = api.get("/api/v1/models/credit-scoring/production")
    assert production.json()["version"] == 1 and production.json()["artifacts"][0]["sha256"] == sha256_of(data)
    assert ApprovalRequest.objects.get().status == "promoted"


def test_every_api_path_around_the_gate_is_refused(api, owner, model, staged, administrator, pipeline):
    api.credentials(**bearer(pipeline))
    patch = api.patch("/api/v1/models/credit-scoring/versions/1/", {"stage": "production"}, format="json")
    assert patch.status_code == 400
    transition = api.post(
        "/api/v1/models/credit-scoring/versions/1/transition/", {"stage": "production"}, format="json"
    )
    assert transition.status_code == 403 and "needs an approval" in transition.json()["error"]["message"]
    promote = api.post("/api/v1/models/credit-scoring/versions/1/promote/", {}, format="json")
    assert promote.status_code == 403
    alias = api.put("/api/v1/models/credit-scoring/aliases/production", {"version": 1}, format="json")
    assert alias.status_code == 403 and "Model Review Committee" in alias.json()["error"]["message"]
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(administrator)
    admin_try = api.post("/api/v1/models/credit-scoring/versions/1/promote/", {}, format="json")
    assert admin_try.status_code in (403,), "administrators go through break-glass, not around the gate"
    staged.refresh_from_db()
    assert staged.stage == Stage.STAGING


def test_break_glass_over_the_api_is_administrators_only_and_justified(api, owner, staged, administrator, pipeline):
    from rest_framework.test import APIClient

    api.credentials(**bearer(pipeline))
    body = {"stage": "production", "justification": "Incident INC-1: rollback impossible, CRO approved by phone."}
    assert api.post("/api/v1/models/credit-scoring/versions/1/break-glass/", body, format="json").status_code == 403
    api = APIClient()  # a signed-in administrator (CSRF is covered in tests/registry/test_api.py)
    api.force_login(administrator)
    short = api.post(
        "/api/v1/models/credit-scoring/versions/1/break-glass/",
        {"stage": "production", "justification": "now"},
        format="json",
    )
    assert short.status_code == 400 and "justification" in short.json()["error"]["fields"]
    done = api.post("/api/v1/models/credit-scoring/versions/1/break-glass/", body, format="json")
    assert done.status_code == 200 and done.json()["stage"] == "production"


def test_alias_resolution_is_query_cheap(api, owner, model, staged, pipeline, django_assert_max_num_queries):
    from governance import services

    services.alias_set(actor=owner, model=model, name="champion", version=staged)
    api.credentials(**bearer(pipeline))
    with django_assert_max_num_queries(7):
        response = api.get("/api/v1/models/credit-scoring/aliases/champion")
    assert response.status_code == 200 and response.json()["version"]["version"] == 1


def test_committees_and_policies_are_managed_by_administrators_and_risk_officers(risk_officer, viewer):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_login(viewer)
    assert api.get("/api/v1/committees/").status_code == 200
    assert api.post("/api/v1/committees/", {"name": "Ethics board"}, format="json").status_code == 403
    api.force_login(risk_officer)
    created = api.post("/api/v1/committees/", {"name": "Ethics board", "quorum_rule": "unanimous"}, format="json")
    assert created.status_code == 201 and created.json()["slug"] == "ethics-board"
    policy = api.get("/api/v1/policies/").json()[0]
    updated = api.patch(f"/api/v1/policies/{policy['id']}/", {"committees": ["ethics-board"]}, format="json")
    assert updated.status_code == 200 and updated.json()["committees"] == ["ethics-board"]
