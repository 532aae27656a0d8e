"""Approval requests, votes, the production gate, rollback and break-glass, through the services."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.utils import timezone

from governance import services
from governance.models import ApprovalRequest, AuditEvent, Notification, Vote
from registry import permissions
from registry import services as registry_services
from registry.choices import ArtifactStatus, RiskTier, Stage, Visibility
from registry.exceptions import Conflict, InvalidInput
from registry.models import Artifact
from tests.factories import make_version
from tests.governance.conftest import governed_model

pytestmark = pytest.mark.usefixtures("committees")


def submit(owner, version, stage=Stage.PRODUCTION):
    return services.approval_request_submit(
        actor=owner, version=version, target_stage=stage, justification="Beats v0 on AUC; validated on holdout."
    )


def approve_all(request, reviewers, risk_officer, committees):
    services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")
    services.vote_cast(actor=reviewers[1], request=request, committee=committees["mrc"], decision="approve")
    services.vote_cast(actor=risk_officer, request=request, committee=committees["rnc"], decision="approve")
    request.refresh_from_db()
    return request


def test_high_risk_request_is_routed_to_both_committees_and_notifies_members(
    owner, staged, committees, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = submit(owner, staged)
    assert set(request.committees.all()) == {committees["mrc"], committees["rnc"]}
    assert request.status == "open"
    notified = set(Notification.objects.values_list("user__username", flat=True))
    assert notified == {"rev1", "rev2", "rev3", "risk"}, "the owner is a member but conflicted: not asked"
    assert any("Review requested" in mail.subject for mail in mailoutbox)
    event = AuditEvent.objects.filter(action="approval.requested").get()
    assert event.changes["committees"] == ["model-review-committee", "risk-compliance-committee"]


def test_quorum_in_every_committee_approves_and_binds_the_digests(owner, staged, reviewers, risk_officer, committees):
    request = submit(owner, staged)
    services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")
    services.vote_cast(actor=risk_officer, request=request, committee=committees["rnc"], decision="approve")
    request.refresh_from_db()
    assert request.status == "open", "MRC needs two approvals"
    services.vote_cast(actor=reviewers[1], request=request, committee=committees["mrc"], decision="approve")
    request.refresh_from_db()
    assert request.status == "approved"
    assert request.valid_until > timezone.now() + timedelta(days=29)
    assert request.artifact_digests == {"model.safetensors": staged.artifacts.get().sha256}
    assert AuditEvent.objects.filter(action="approval.decided").count() == 1


def test_separation_of_duties_owner_teammate_and_submitter_cannot_vote(
    owner, teammate, staged, committees, administrator
):
    services.committee_member_set(actor=administrator, committee=committees["mrc"], user=teammate)
    request = submit(owner, staged)
    with pytest.raises(PermissionDenied, match="Separation of duties: you submitted this request"):
        services.vote_cast(actor=owner, request=request, committee=committees["mrc"], decision="approve")
    with pytest.raises(PermissionDenied, match="on the team that owns this model"):
        services.vote_cast(actor=teammate, request=request, committee=committees["mrc"], decision="approve")
    assert not Vote.objects.exists()


def test_non_members_service_accounts_and_pipeline_tokens_cannot_vote(
    owner, staged, reviewers, committees, viewer, administrator
):
    from registry.services import service_account_create, token_create

    request = submit(owner, staged)
    with pytest.raises(PermissionDenied, match="not a member"):
        services.vote_cast(actor=viewer, request=request, committee=committees["mrc"], decision="approve")
    with pytest.raises(PermissionDenied, match="not routed"):
        services.vote_cast(actor=reviewers[2], request=request, committee=committees["peer"], decision="approve")
    robot = service_account_create(actor=administrator, username="ci-bot").user
    with pytest.raises(PermissionDenied):
        services.vote_cast(actor=robot, request=request, committee=committees["mrc"], decision="approve")
    token, _ = token_create(actor=reviewers[0], user=reviewers[0], name="ci", scopes=["write"])
    reviewers[0].api_token = token
    with pytest.raises(PermissionDenied, match="'vote' scope"):
        services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")


def test_one_vote_per_member_per_round_and_comments_required(owner, staged, reviewers, committees):
    request = submit(owner, staged)
    with pytest.raises(InvalidInput, match="Explain"):
        services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="reject")
    services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")
    with pytest.raises(Conflict, match="already voted"):
        services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")


def test_veto_rejects_and_impossible_quorum_rejects(owner, staged, reviewers, risk_officer, committees):
    request = submit(owner, staged)
    services.vote_cast(
        actor=risk_officer,
        request=request,
        committee=committees["rnc"],
        decision="reject",
        comment="No fairness analysis for age groups.",
    )
    request.refresh_from_db()
    assert request.status == "rejected" and "vetoed" in request.decision_reason

    second = submit(owner, staged)
    services.vote_cast(
        actor=reviewers[0], request=second, committee=committees["mrc"], decision="reject", comment="Calibration drift."
    )
    services.vote_cast(
        actor=reviewers[1], request=second, committee=committees["mrc"], decision="reject", comment="Agreed."
    )
    second.refresh_from_db()
    assert second.status == "rejected" and "can no longer be reached" in second.decision_reason


def test_changes_requested_then_resubmitted_as_a_new_round(owner, staged, reviewers, risk_officer, committees):
    request = submit(owner, staged)
    services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")
    services.vote_cast(
        actor=reviewers[1],
        request=request,
        committee=committees["mrc"],
        decision="request_changes",
        comment="Add the drift report.",
    )
    request.refresh_from_db()
    assert request.status == "changes_requested"
    with pytest.raises(PermissionDenied, match="voting is closed"):
        services.vote_cast(actor=reviewers[2], request=request, committee=committees["mrc"], decision="approve")
    services.approval_request_resubmit(actor=owner, request=request, justification="Drift report attached.")
    request.refresh_from_db()
    assert request.status == "open" and request.round == 2
    approve_all(request, reviewers, risk_officer, committees)
    assert request.status == "approved"
    assert Vote.objects.filter(request=request, round=1).count() == 2, "old votes stay in history"


def test_a_version_cannot_have_two_open_requests_for_the_same_stage(owner, staged):
    submit(owner, staged)
    with pytest.raises(Conflict, match="already has an open request"):
        submit(owner, staged)


@pytest.mark.parametrize(
    ("tier", "message"),
    [(RiskTier.PROHIBITED, "never promoted"), (RiskTier.UNASSESSED, "Assess the model")],
)
def test_prohibited_and_unassessed_models_cannot_be_submitted_for_production(owner, team_alpha, tier, message):
    model = governed_model(owner, team_alpha, tier=tier, name=f"m-{tier}")
    version = make_version(owner, model, training_data=["s3://x"])
    if tier != RiskTier.PROHIBITED:
        services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
    with pytest.raises(Conflict, match=message):
        submit(owner, version)


def test_missing_documentation_is_listed_with_links(owner, team_alpha):
    model = governed_model(owner, team_alpha, name="undocumented")
    registry_services.model_update(actor=owner, model=model, data={"limitations": ""})
    version = make_version(owner, model, metrics=[])
    with pytest.raises(Conflict) as exc:
        submit(owner, version)
    missing = exc.value.fields["preconditions"]
    assert any("limitations" in m for m in missing) and any("training data" in m for m in missing)
    assert any("metrics" in m for m in missing)


def test_every_bypass_of_the_production_gate_is_refused(owner, staged, administrator, model):
    with pytest.raises(PermissionDenied, match="needs an approval from Model Review Committee and Risk"):
        services.version_transition(actor=owner, version=staged, stage=Stage.PRODUCTION)
    with pytest.raises(PermissionDenied, match="needs an approval"):
        services.alias_set(actor=owner, model=model, name="production", version=staged)
    with pytest.raises(PermissionDenied, match="needs an approval"):
        services.version_transition(actor=administrator, version=staged, stage=Stage.PRODUCTION)
    with pytest.raises(PermissionDenied, match="approval gate"):
        registry_services.version_stage_apply(actor=administrator, version=staged, stage=Stage.PRODUCTION)
    with pytest.raises(PermissionDenied, match="approval gate"):
        registry_services.alias_apply(actor=owner, model=model, name="production", version=staged)
    staged.refresh_from_db()
    assert staged.stage == Stage.STAGING
    # Other aliases are not gated.
    services.alias_set(actor=owner, model=model, name="challenger", version=staged)


def test_promotion_with_an_approval_archives_the_previous_production_version(
    owner, model, staged, reviewers, risk_officer, committees
):
    approve_all(submit(owner, staged), reviewers, risk_officer, committees)
    promoted = services.version_transition(actor=owner, version=staged, stage=Stage.PRODUCTION)
    assert promoted.stage == Stage.PRODUCTION
    model.refresh_from_db()
    assert model.production_version == 1
    event = AuditEvent.objects.filter(action="version.stage_changed").order_by("-seq").first()
    assert event.changes["authorised_by"]["committees"] == ["model-review-committee", "risk-compliance-committee"]
    assert ApprovalRequest.objects.get().status == "promoted"

    v2 = services.version_transition(
        actor=owner, version=make_version(owner, model, training_data=["s3://y"], files=True), stage=Stage.STAGING
    )
    approve_all(submit(owner, v2), reviewers, risk_officer, committees)
    services.version_transition(actor=owner, version=v2, stage=Stage.PRODUCTION)
    staged.refresh_from_db()
    model.refresh_from_db()
    assert staged.stage == Stage.ARCHIVED and model.production_version == 2
    services.alias_set(actor=owner, model=model, name="production", version=v2)


def test_rollback_puts_the_previous_version_back_without_new_approval(
    owner, model, staged, reviewers, risk_officer, committees
):
    approve_all(submit(owner, staged), reviewers, risk_officer, committees)
    services.version_transition(actor=owner, version=staged, stage=Stage.PRODUCTION)
    v2 = services.version_transition(
        actor=owner, version=make_version(owner, model, training_data=["s3://y"], files=True), stage=Stage.STAGING
    )
    approve_all(submit(owner, v2), reviewers, risk_officer, committees)
    services.version_transition(actor=owner, version=v2, stage=Stage.PRODUCTION)
    back = services.model_rollback(actor=owner, model=model, justification="v2 latency regression")
    assert back.version == 1
    staged.refresh_from_db()
    v2.refresh_from_db()
    model.refresh_from_db()
    assert staged.stage == Stage.PRODUCTION and v2.stage == Stage.STAGING and model.production_version == 1
    assert AuditEvent.objects.filter(action="model.rolled_back").count() == 1


def test_rollback_needs_a_new_approval_once_the_old_one_expired(
    owner, model, staged, reviewers, risk_officer, committees
):
    approve_all(submit(owner, staged), reviewers, risk_officer, committees)
    services.version_transition(actor=owner, version=staged, stage=Stage.PRODUCTION)
    v2 = services.version_transition(
        actor=owner, version=make_version(owner, model, training_data=["s3://y"], files=True), stage=Stage.STAGING
    )
    approve_all(submit(owner, v2), reviewers, risk_officer, committees)
    services.version_transition(actor=owner, version=v2, stage=Stage.PRODUCTION)
    ApprovalRequest.objects.filter(version=staged).update(valid_until=timezone.now() - timedelta(minutes=1))
    with pytest.raises(PermissionDenied, match="needs an approval"):
        services.model_rollback(actor=owner, model=model)
    v2.refresh_from_db()
    assert v2.stage == Stage.PRODUCTION, "nothing moved"


def test_unused_approvals_expire(owner, staged, reviewers, risk_officer, committees):
    request = approve_all(submit(owner, staged), reviewers, risk_officer, committees)
    ApprovalRequest.objects.filter(pk=request.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    assert services.approvals_expire() == 1
    request.refresh_from_db()
    assert request.status == "expired"
    with pytest.raises(PermissionDenied):
        services.version_transition(actor=owner, version=staged, stage=Stage.PRODUCTION)


def test_approval_is_bound_to_the_file_digests(owner, model, reviewers, risk_officer, committees, artifact_storage):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.artifact_files import safetensors_bytes

    version = make_version(owner, model, training_data=["s3://x"])
    first = registry_services.artifact_upload(
        actor=owner,
        version=version,
        uploaded_file=SimpleUploadedFile("a.safetensors", safetensors_bytes()),
        filename="a.safetensors",
        kind="weights",
    )
    registry_services.artifact_validate(artifact_id=first.pk)
    approve_all(submit(owner, version), reviewers, risk_officer, committees)
    second = registry_services.artifact_upload(
        actor=owner,
        version=version,
        uploaded_file=SimpleUploadedFile("b.json", b"{}"),
        filename="b.json",
        kind="config",
    )
    registry_services.artifact_validate(artifact_id=second.pk)
    services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
    with pytest.raises(PermissionDenied, match="none is valid for its current files"):
        services.version_transition(actor=owner, version=version, stage=Stage.PRODUCTION)


def test_flagged_files_must_be_accepted_explicitly(owner, model, reviewers, risk_officer, committees, artifact_storage):
    from django.core.files.uploadedfile import SimpleUploadedFile

    version = make_version(owner, model, training_data=["s3://x"])
    artifact = registry_services.artifact_upload(
        actor=owner,
        version=version,
        uploaded_file=SimpleUploadedFile("model.joblib", b"payload"),
        filename="model.joblib",
        kind="weights",
    )
    registry_services.artifact_validate(artifact_id=artifact.pk)
    Artifact.objects.filter(pk=artifact.pk).update(status=ArtifactStatus.NEEDS_REVIEW)
    request = submit(owner, version)
    with pytest.raises(InvalidInput, match="must be explicitly accepted"):
        services.vote_cast(actor=reviewers[0], request=request, committee=committees["mrc"], decision="approve")
    for reviewer in reviewers[:2]:
        services.vote_cast(
            actor=reviewer, request=request, committee=committees["mrc"], decision="approve", accept_flagged=True
        )
    services.vote_cast(
        actor=risk_officer, request=request, committee=committees["rnc"], decision="approve", accept_flagged=True
    )
    services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
    services.version_transition(actor=owner, version=version, stage=Stage.PRODUCTION)


def test_flagged_files_route_staging_to_the_review_committee(owner, model, committees, artifact_storage):
    from django.core.files.uploadedfile import SimpleUploadedFile

    version = make_version(owner, model, training_data=["s3://x"])
    artifact = registry_services.artifact_upload(
        actor=owner,
        version=version,
        uploaded_file=SimpleUploadedFile("m.joblib", b"x"),
        filename="m.joblib",
        kind="weights",
    )
    registry_services.artifact_validate(artifact_id=artifact.pk)
    Artifact.objects.filter(pk=artifact.pk).update(status=ArtifactStatus.NEEDS_REVIEW)
    with pytest.raises(PermissionDenied, match="Model Review Committee"):
        services.version_transition(actor=owner, version=version, stage=Stage.STAGING)
    assert list(submit(owner, version, Stage.STAGING).committees.all()) == [committees["mrc"]]


def test_break_glass_needs_an_administrator_and_a_written_reason(owner, staged, administrator):
    with pytest.raises(PermissionDenied):
        services.version_break_glass(actor=owner, version=staged, stage=Stage.PRODUCTION, justification="x" * 40)
    with pytest.raises(InvalidInput, match="justification"):
        services.version_break_glass(
            actor=administrator, version=staged, stage=Stage.PRODUCTION, justification="urgent"
        )
    services.version_break_glass(
        actor=administrator,
        version=staged,
        stage=Stage.PRODUCTION,
        justification="Incident INC-4411: v0 leaks PII; regulator informed.",
    )
    staged.refresh_from_db()
    assert staged.stage == Stage.PRODUCTION
    flagged = AuditEvent.objects.get(action="version.break_glass")
    assert flagged.changes["flagged"] is True and "INC-4411" in flagged.changes["justification"]


def test_reviewers_see_restricted_models_routed_to_them(owner, team_alpha, reviewers, committees):
    model = governed_model(owner, team_alpha, name="secret-model", visibility=Visibility.RESTRICTED)
    version = services.version_transition(
        actor=owner, version=make_version(owner, model, training_data=["s3://x"], files=True), stage=Stage.STAGING
    )
    assert not permissions.can(reviewers[0], permissions.Action.VIEW, model)
    submit(owner, version)
    from tests.factories import User

    fresh = User.objects.get(pk=reviewers[0].pk)
    assert permissions.can(fresh, permissions.Action.VIEW, model)
    assert not permissions.can(fresh, permissions.Action.CHANGE, model)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_final_votes_produce_one_decision(
    postgres, owner, team_alpha, reviewers, risk_officer, committees
):
    model = governed_model(owner, team_alpha, name="raced")
    version = services.version_transition(
        actor=owner, version=make_version(owner, model, training_data=["s3://x"], files=True), stage=Stage.STAGING
    )
    request = submit(owner, version)
    services.vote_cast(actor=risk_officer, request=request, committee=committees["rnc"], decision="approve")
    barrier = threading.Barrier(3)
    errors = []

    def vote(user):
        try:
            barrier.wait(timeout=10)
            services.vote_cast(actor=user, request=request, committee=committees["mrc"], decision="approve")
        except Exception as exc:  # noqa: BLE001  (collected and asserted)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=vote, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    request.refresh_from_db()
    assert request.status == "approved"
    assert AuditEvent.objects.filter(action="approval.decided").count() == 1
    assert len(errors) == 1 and "voting is closed" in str(errors[0]), errors
