"""Issue 13, items 1-3 and 8: an approval covers exactly what the reviewers judged.

Every surface that can change a governed fact (the version form, the v1 API, the admin) is exercised after
the approval: each ends with the gate refusing the promotion and the request page saying why, with a diff.
The description stays editable at every stage. A production approval needs files held by Arbiter, and a
request whose preconditions fail says so at the top of its page, without a promote button.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from governance import services
from governance.models import ApprovalPolicy, AuditEvent
from registry import services as registry_services
from registry.choices import ArtifactStatus, Stage
from registry.exceptions import Conflict
from registry.models import Artifact
from tests.conftest import bearer
from tests.factories import make_version

AUC = [{"name": "auc", "value": 0.80, "dataset": "holdout", "split": "test"}]


def approve(request, reviewers, risk_officer, committees):
    for voter, committee in ((reviewers[0], "mrc"), (reviewers[1], "mrc"), (risk_officer, "rnc")):
        services.vote_cast(actor=voter, request=request, committee=committees[committee], decision="approve")
    request.refresh_from_db()
    return request


@pytest.fixture
def approved(owner, model, reviewers, risk_officer, committees):
    """credit-scoring v1, still in development, approved for production with AUC 0.80."""
    version = make_version(owner, model, training_data=["s3://lake/credit/"], metrics=AUC, files=True)
    request = services.approval_request_submit(
        actor=owner, version=version, target_stage=Stage.PRODUCTION, justification="AUC 0.80 on holdout."
    )
    request = approve(request, reviewers, risk_officer, committees)
    assert request.status == "approved" and len(request.facts_digest) == 64
    return version, request


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_stale(owner, version, request, *, label: str, before: str, after: str) -> None:
    """The gate refuses the promotion on the stale approval; the request page says why, with the diff."""
    version.refresh_from_db()
    services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
    with pytest.raises(PermissionDenied, match=f"changed since request #{request.pk} was submitted"):
        services.version_transition(actor=owner, version=version, stage=Stage.PRODUCTION)
    with pytest.raises(PermissionDenied, match="changed since"):
        services.alias_set(actor=owner, model=version.model, name="production", version=version)
    version.refresh_from_db()
    assert version.stage == Stage.STAGING

    page = signed_in(owner).get(request.get_absolute_url()).content.decode()
    assert "This request cannot currently be promoted" in page and "Not ready" in page
    assert 'data-problem="facts_changed"' in page and "Promote to production" not in page
    diff = page.split('id="facts-changed"')[1]
    assert label in diff and f'<del class="font-monospace small text-break">{before}</del>' in diff
    assert f'<ins class="font-monospace small text-break">{after}</ins>' in diff


def test_metrics_changed_in_the_version_form_void_the_approval(owner, approved):
    version, request = approved
    response = signed_in(owner).post(
        f"/models/credit-scoring/versions/{version.version}/edit/",
        {
            "description": version.description,
            "training_data": "s3://lake/credit/",
            "hyperparameters": "{}",
            "metrics": "auc, 0.99, holdout, test",
            "tags": "",
        },
    )
    assert response.status_code == 302
    assert_stale(
        owner, version, request, label="Metrics", before="auc=0.8 (holdout/test)", after="auc=0.99 (holdout/test)"
    )


def test_hyperparameters_patched_through_the_v1_api_void_the_approval(owner, approved, api):
    version, request = approved
    _, secret = registry_services.token_create(actor=owner, user=owner, name="ci", scopes=["write"])
    api.credentials(**bearer(secret))
    response = api.patch(
        f"/api/v1/models/credit-scoring/versions/{version.version}/",
        {"hyperparameters": {"max_depth": 9}},
        format="json",
    )
    assert response.status_code == 200, response.content
    detail = api.get(f"/api/v1/approval-requests/{request.pk}/").json()
    assert detail["facts"]["hyperparameters"] == {} and detail["facts_digest"] == request.facts_digest
    assert [p["code"] for p in detail["problems"]] == ["facts_changed"]
    assert "Changed since submission: hyperparameters" in detail["problems"][0]["message"]
    assert_stale(owner, version, request, label="Hyperparameters", before="—", after="{&quot;max_depth&quot;: 9}")


def test_intended_use_changed_in_the_admin_voids_the_approval(owner, approved, team_alpha):
    version, request = approved
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    model = version.model
    response = signed_in(owner).post(
        f"/admin/registry/registeredmodel/{model.pk}/change/",
        {
            "title": model.title,
            "description": model.description,
            "team": team_alpha.pk,
            "task_type": model.task_type,
            "framework": model.framework,
            "intended_use": "Any lending decision, fully automated.",
            "out_of_scope_uses": model.out_of_scope_uses,
            "limitations": model.limitations,
            "visibility": model.visibility,
            "tags": "{}",
        },
    )
    assert response.status_code == 302
    assert_stale(
        owner,
        version,
        request,
        label="Intended use (model)",
        before="Retail loan decisions with human review.",
        after="Any lending decision, fully automated.",
    )


def test_training_data_changed_in_the_version_admin_voids_the_approval(owner, approved):
    version, request = approved
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    response = signed_in(owner).post(
        f"/admin/registry/modelversion/{version.pk}/change/",
        {
            "description": version.description,
            "source": version.source,
            "run_id": version.run_id,
            "run_link": version.run_link,
            "hyperparameters": "{}",
            "training_data": '["s3://lake/credit-with-test-leak/"]',
            "framework": version.framework,
            "framework_version": version.framework_version,
            "library_versions": "{}",
            "tags": "{}",
            "metrics-TOTAL_FORMS": "1",
            "metrics-INITIAL_FORMS": "1",
            "metrics-MIN_NUM_FORMS": "0",
            "metrics-MAX_NUM_FORMS": "1000",
            "metrics-0-id": version.metrics.get().pk,
            "metrics-0-version": version.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_stale(
        owner,
        version,
        request,
        label="Training data",
        before="[&quot;s3://lake/credit/&quot;]",
        after="[&quot;s3://lake/credit-with-test-leak/&quot;]",
    )


def test_an_open_request_reaching_quorum_on_changed_facts_is_returned(
    owner, model, reviewers, risk_officer, committees
):
    version = make_version(owner, model, training_data=["s3://lake/credit/"], metrics=AUC, files=True)
    request = services.approval_request_submit(
        actor=owner, version=version, target_stage=Stage.PRODUCTION, justification="AUC 0.80."
    )
    registry_services.version_update(actor=owner, version=version, data={"metrics": [{**AUC[0], "value": 0.99}]})
    request = approve(request, reviewers, risk_officer, committees)
    assert request.status == "changes_requested"
    assert "Changed since submission: metrics" in request.decision_reason
    resubmitted = services.approval_request_resubmit(actor=owner, request=request, justification="AUC is 0.99.")
    assert resubmitted.facts["metrics"][0]["value"] == 0.99, "the new round judges the version as it is now"
    assert approve(resubmitted, reviewers[1:] + reviewers[:1], risk_officer, committees).status == "approved"


def test_description_and_tags_stay_free_and_audited_at_every_stage(owner, approved, api):
    """Item 8: the description is commentary. It does not void the approval, and it can be edited after the
    version left development, from the form, the v1 API and the admin; each edit is audited."""
    version, request = approved
    registry_services.version_update(actor=owner, version=version, data={"description": "Reviewed by MRC."})
    services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
    services.version_transition(actor=owner, version=version, stage=Stage.PRODUCTION)
    version.refresh_from_db()
    assert version.stage == Stage.PRODUCTION

    client = signed_in(owner)
    response = client.post(
        f"/models/credit-scoring/versions/{version.version}/edit/",
        {"description": "Serving since Monday.", "tags": "region=eu", "metrics": "auc, 0.5, holdout, test"},
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.description == "Serving since Monday." and version.tags == {"region": "eu"}
    assert version.metrics.get().value == 0.80, "a frozen version's governed fields are disabled in the form"

    _, secret = registry_services.token_create(actor=owner, user=owner, name="ci", scopes=["write"])
    api.credentials(**bearer(secret))
    url = f"/api/v1/models/credit-scoring/versions/{version.version}/"
    assert api.patch(url, {"description": "Drift checked."}, format="json").status_code == 200
    refused = api.patch(url, {"description": "x", "hyperparameters": {"max_depth": 9}}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "version_frozen"
    assert "hyperparameters" in refused.json()["error"]["message"]

    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    admin_edit = client.post(
        f"/admin/registry/modelversion/{version.pk}/change/",
        {
            "description": "Edited in the admin.",
            "source": version.source,
            "run_id": "",
            "run_link": "",
            "hyperparameters": "{}",
            "training_data": '["s3://lake/credit/"]',
            "framework": "",
            "framework_version": "",
            "library_versions": "{}",
            "tags": '{"region": "eu"}',
            "metrics-TOTAL_FORMS": "1",
            "metrics-INITIAL_FORMS": "1",
            "metrics-MIN_NUM_FORMS": "0",
            "metrics-MAX_NUM_FORMS": "1000",
            "metrics-0-id": version.metrics.get().pk,
            "metrics-0-version": version.pk,
        },
    )
    assert admin_edit.status_code == 302
    version.refresh_from_db()
    assert version.description == "Edited in the admin."
    descriptions = [
        e.changes["description"]["after"]
        for e in AuditEvent.objects.filter(action="version.updated", target_id=str(version.pk)).order_by("seq")
        if "description" in e.changes
    ]
    assert descriptions == ["Reviewed by MRC.", "Serving since Monday.", "Drift checked.", "Edited in the admin."]
    request.refresh_from_db()
    assert request.status == "promoted"


def test_production_approval_requires_files(owner, administrator, model, committees):
    """Item 2: a version with no files cannot be submitted or promoted under the default policy; the reason
    links to the upload, and the version page shows no green check next to 'no files'."""
    empty = make_version(owner, model, training_data=["s3://lake/credit/"], metrics=AUC)
    with pytest.raises(Conflict) as refused:
        services.approval_request_submit(
            actor=owner, version=empty, target_stage=Stage.PRODUCTION, justification="No files."
        )
    assert "no files registered in Arbiter; the policy requires them" in refused.value.message
    panel = (
        signed_in(owner).get(f"/governance/models/credit-scoring/versions/{empty.version}/approvals/").content.decode()
    )
    assert "no files registered in Arbiter" in panel
    assert f'href="/models/credit-scoring/versions/{empty.version}/#files-heading"' in panel
    assert "check-circle" not in panel

    services.version_break_glass(
        actor=administrator,
        version=empty,
        stage=Stage.STAGING,
        justification="Staging for a load test, files follow.",
    )
    with pytest.raises(Conflict, match="no files registered in Arbiter"):
        services.version_transition(actor=owner, version=empty, stage=Stage.PRODUCTION)


def test_a_request_whose_file_turned_rejected_is_not_ready(owner, staged, reviewers, risk_officer, committees):
    """Item 3: votes can still be cast, but the page says at the top that it cannot be promoted, and why."""
    request = services.approval_request_submit(
        actor=owner, version=staged, target_stage=Stage.PRODUCTION, justification="Ready."
    )
    Artifact.objects.filter(version=staged).update(status=ArtifactStatus.REJECTED)
    services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")
    page = signed_in(reviewers[1]).get(request.get_absolute_url()).content.decode()
    top = page.split('id="why-heading"')[0]
    assert "This request cannot currently be promoted" in top and "Not ready" in top
    assert 'data-problem="artifact_not_valid"' in top and "model.safetensors is rejected" in top
    assert "Cast vote" in page, "reviewers can still vote"
    assert "Files valid" not in page


def test_a_request_for_files_arbiter_does_not_hold_says_so(owner, administrator, model, committees):
    """Where an administrator lifted the files precondition, the request page still says plainly that the
    bytes a deployment would fetch are not under Arbiter's control."""
    policy = ApprovalPolicy.objects.get(target_stage=Stage.PRODUCTION, risk_tier=model.risk_tier)
    services.policy_update(actor=administrator, policy=policy, data={"require_files": False})
    version = make_version(
        owner, model, source="https://files.example.org/credit/model", training_data=["s3://lake/"], metrics=AUC
    )
    request = services.approval_request_submit(
        actor=owner, version=version, target_stage=Stage.PRODUCTION, justification="Files live elsewhere."
    )
    page = signed_in(owner).get(request.get_absolute_url()).content.decode()
    notice = page.split('id="bytes-not-held"')[1].split("</p>")[0]
    assert "not under Arbiter's control" in notice and "never fetched" in notice
    assert "https://files.example.org/credit/model" in notice
    assert "cannot currently be promoted" not in page
