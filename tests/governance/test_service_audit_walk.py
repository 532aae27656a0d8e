"""Every public function of registry.services and governance.services (and the webhook_subscription_*
services of governance.webhooks), called for real, with the audit
actions it writes. The modules are introspected: a new service missing from `TABLE` fails the first test,
so nothing ships without saying what it records.

A row is `(actions written, in order; how to call it)`. Helpers that change nothing write `()` and say why.
A few services write more than one event, each recorded by the service that made that change: the table
spells them out (a vote that decides a request also writes `approval.decided`; a promotion through the gate
writes the stage changes of both versions).
"""

from __future__ import annotations

import datetime as dt
import inspect
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from governance import services as gov
from governance import webhooks as hooks
from governance.audit_actions import AuditAction
from governance.models import ApprovalPolicy, ApprovalRequest, AssessmentTemplate, AuditEvent
from registry import services as reg
from registry.choices import RiskTier, Stage
from registry.models import ApiToken
from registry.permissions import Action
from tests.artifact_files import safetensors_bytes
from tests.factories import make_model, make_user, make_version
from tests.governance.conftest import EU_BASELINE

TEMPLATE_DEF = {
    "sections": [{"id": "s", "title": "S", "questions": [{"id": "q1", "text": "Why?", "type": "short_text"}]}]
}


def _v2(w, stage=Stage.STAGING):
    version = make_version(w.owner, w.model, training_data=["s3://y"], files=True)
    return (
        gov.version_transition(actor=w.owner, version=version, stage=stage) if stage != Stage.DEVELOPMENT else version
    )


def _approved(w, version):
    request = gov.approval_request_submit(
        actor=w.owner, version=version, target_stage=Stage.PRODUCTION, justification="Ready."
    )
    for voter, committee in ((w.reviewers[0], "mrc"), (w.reviewers[1], "mrc"), (w.risk_officer, "rnc")):
        gov.vote_cast(actor=voter, request=request, committee=w.committees[committee], decision="approve")
    request.refresh_from_db()
    return request


def _orphan_blob() -> str:
    """A stored file no artifact references, as an interrupted upload leaves behind."""
    from django.core.files.base import ContentFile

    from registry import blobstore

    return blobstore.storage().save("blobs/" + "0" * 64, ContentFile(b"orphan"))


def _artifact(w, validated=True):
    upload = SimpleUploadedFile("model.safetensors", safetensors_bytes())
    artifact = reg.artifact_upload(actor=w.owner, version=w.dev, uploaded_file=upload, filename="model.safetensors")
    return reg.artifact_validate(artifact_id=artifact.pk) if validated else artifact


def _assessment(w, submitted=False):
    template = AssessmentTemplate.objects.filter(key="eu-ai-act").order_by("-version").first()
    assessment = gov.assessment_create(actor=w.owner, model=w.model, template=template)
    if submitted:
        gov.assessment_answer(actor=w.owner, assessment=assessment, answers=EU_BASELINE)
        gov.assessment_submit(actor=w.owner, assessment=assessment)
    return assessment


def _approved_assessment_due(w, days_left):
    assessment = _assessment(w, submitted=True)
    gov.assessment_approve(actor=w.risk_officer2, assessment=assessment)
    assessment.refresh_from_db()
    return assessment, assessment.valid_until - dt.timedelta(days=days_left)


def _rollback(w):
    _approved(w, w.staged)
    gov.version_transition(actor=w.owner, version=w.staged, stage=Stage.PRODUCTION)
    v2 = _v2(w)
    _approved(w, v2)
    gov.version_transition(actor=w.owner, version=v2, stage=Stage.PRODUCTION)
    return lambda: gov.model_rollback(actor=w.owner, model=w.model, justification="regression")


def _expire_approval(w):
    request = _approved(w, w.staged)
    ApprovalRequest.objects.filter(pk=request.pk).update(valid_until=timezone.now() - dt.timedelta(days=1))
    return gov.approvals_expire


NO_EVENT = ()
TABLE = {
    # --- registry.services ---------------------------------------------------------------------------------
    "team_create": (("team.created",), lambda w: lambda: reg.team_create(actor=w.admin, name="Gamma")),
    "team_member_add": (
        ("team.member_added",),
        lambda w: lambda: reg.team_member_add(actor=w.admin, team=w.team, user=w.viewer),
    ),
    "team_member_remove": (
        ("team.member_removed",),
        lambda w: lambda: reg.team_member_remove(actor=w.admin, team=w.team, user=w.owner),
    ),
    "model_create": (("model.created",), lambda w: lambda: reg.model_create(actor=w.owner, name="new-m", title="N")),
    "model_update": (
        ("model.updated",),
        lambda w: lambda: reg.model_update(actor=w.owner, model=w.model, data={"description": "New."}),
    ),
    "model_rename": (
        ("model.renamed",),
        lambda w: lambda: reg.model_rename(actor=w.owner, model=w.model, new_name="credit-scoring-2"),
    ),
    "model_tag_set": (
        ("model.updated",),
        lambda w: lambda: reg.model_tag_set(actor=w.owner, model=w.model, key="team", value="risk"),
    ),
    "model_tag_delete": (
        ("model.updated",),
        lambda w: (lambda m: lambda: reg.model_tag_delete(actor=w.owner, model=m, key="k"))(
            reg.model_tag_set(actor=w.owner, model=w.model, key="k", value="v")
        ),
    ),
    "model_delete": (
        ("model.deleted",),
        lambda w: (lambda m: lambda: reg.model_delete(actor=w.owner, model=m))(make_model(w.owner, name="doomed")),
    ),
    "version_register": (("version.created",), lambda w: lambda: reg.version_register(actor=w.owner, model=w.model)),
    "version_update": (
        ("version.updated",),
        lambda w: lambda: reg.version_update(actor=w.owner, version=w.dev, data={"description": "New."}),
    ),
    "version_tag_set": (
        ("version.updated",),
        lambda w: lambda: reg.version_tag_set(actor=w.owner, version=w.dev, key="k", value="v"),
    ),
    "version_tag_delete": (
        ("version.updated",),
        lambda w: (lambda v: lambda: reg.version_tag_delete(actor=w.owner, version=v, key="k"))(
            reg.version_tag_set(actor=w.owner, version=w.dev, key="k", value="v")
        ),
    ),
    "version_delete": (("version.deleted",), lambda w: lambda: reg.version_delete(actor=w.owner, version=w.dev)),
    "version_stage_apply": (
        ("version.stage_changed",),
        lambda w: lambda: reg.version_stage_apply(actor=w.owner, version=w.staged, stage=Stage.ARCHIVED),
    ),
    "alias_apply": (
        ("alias.changed",),
        lambda w: lambda: reg.alias_apply(actor=w.owner, model=w.model, name="champion", version=w.staged),
    ),
    "alias_delete": (
        ("alias.deleted",),
        lambda w: (
            reg.alias_apply(actor=w.owner, model=w.model, name="champion", version=w.staged),
            lambda: reg.alias_delete(actor=w.owner, model=w.model, name="champion"),
        )[1],
    ),
    "model_risk_tier_set": (
        ("model.risk_tier_changed",),
        lambda w: lambda: reg.model_risk_tier_set(actor=None, model=w.model, tier=RiskTier.LIMITED, reason="test"),
    ),
    "access_grant": (
        ("permission.granted",),
        lambda w: lambda: reg.access_grant(actor=w.owner, model=w.model, grantee=w.viewer, actions=[Action.CHANGE]),
    ),
    "access_revoke": (
        ("permission.revoked",),
        lambda w: (
            reg.access_grant(actor=w.owner, model=w.model, grantee=w.viewer, actions=[Action.CHANGE]),
            lambda: reg.access_revoke(actor=w.owner, model=w.model, grantee=w.viewer, actions=[Action.CHANGE]),
        )[1],
    ),
    "token_create": (
        ("token.created",),
        lambda w: lambda: reg.token_create(actor=w.owner, user=w.owner, name="ci", scopes=["read"]),
    ),
    "token_revoke": (
        ("token.revoked",),
        lambda w: (
            reg.token_create(actor=w.owner, user=w.owner, name="ci", scopes=["read"]),
            lambda: reg.token_revoke(actor=w.owner, token=ApiToken.objects.get(name="ci")),
        )[1],
    ),
    "service_account_create": (
        ("service_account.created",),
        lambda w: lambda: reg.service_account_create(actor=w.admin, username="pipeline"),
    ),
    "artifact_upload": (("artifact.uploaded",), lambda w: lambda: _artifact(w, validated=False)),
    "artifact_validate": (
        ("artifact.validated",),
        lambda w: (lambda a: lambda: reg.artifact_validate(artifact_id=a.pk))(_artifact(w, validated=False)),
    ),
    "artifact_verify": (
        NO_EVENT,  # a scrub that finds the blob intact changes nothing (a changed blob: artifact_mark_corrupted)
        lambda w: (lambda a: lambda: reg.artifact_verify(artifact=a))(_artifact(w)),
    ),
    "artifact_mark_corrupted": (
        ("artifact.corrupted",),
        lambda w: (lambda a: lambda: reg.artifact_mark_corrupted(artifact=a, reason="bit rot"))(_artifact(w)),
    ),
    "artifact_rescan": (
        ("artifact.rescan_requested",),
        lambda w: (lambda a: lambda: reg.artifact_rescan(artifact=a))(_artifact(w)),
    ),
    "artifact_delete": (
        ("artifact.deleted",),
        lambda w: (lambda a: lambda: reg.artifact_delete(actor=w.owner, artifact=a))(_artifact(w)),
    ),
    "blobs_unreferenced": (
        NO_EVENT,  # a read: what `manage.py blobs gc` would delete
        lambda w: lambda: reg.blobs_unreferenced(older_than=dt.timedelta(0)),
    ),
    "blob_collect": (
        ("blob.deleted",),
        lambda w: (lambda key: lambda: reg.blob_collect(actor=w.admin, key=key))(_orphan_blob()),
    ),
    "storage_usage": (NO_EVENT, lambda w: lambda: reg.storage_usage()),  # a read: bytes per model, team, stage
    "artifact_download_record": (
        ("artifact.downloaded",),
        lambda w: (lambda a: lambda: reg.artifact_download_record(actor=w.viewer, artifact=a))(_artifact(w)),
    ),
    "artifacts_requeue_stale": (
        NO_EVENT,  # re-enqueues validation of stuck uploads; the validation it triggers records its own event
        lambda w: lambda: reg.artifacts_requeue_stale(pending_for=0, validating_for=0),
    ),
    "enqueue_validation": (
        NO_EVENT,  # hands an artifact id to Celery; nothing changes in the registry
        lambda w: (lambda a: lambda: reg.enqueue_validation(a.pk))(_artifact(w)),
    ),
    "enqueue_import": (
        NO_EVENT,  # hands a version id to Celery; the import it triggers records its own events
        lambda w: lambda: reg.enqueue_import(w.dev.pk),
    ),
    "version_import": (
        # Nothing to import: the version's source is not under ARTIFACT_IMPORT_SOURCES. An import writes
        # `artifact.imported` per file and `version.imported` (tests/mlflow/test_source_import.py).
        NO_EVENT,
        lambda w: lambda: reg.version_import(version_id=w.dev.pk),
    ),
    "direct_grants": (NO_EVENT, lambda w: lambda: reg.direct_grants(w.model, w.owner)),  # a read
    "transition_refusal": (NO_EVENT, lambda w: lambda: reg.transition_refusal("staging", "production")),  # pure
    "validate_metrics": (NO_EVENT, lambda w: lambda: reg.validate_metrics([{"name": "auc", "value": 0.9}])),  # pure
    "validate_tags": (NO_EVENT, lambda w: lambda: reg.validate_tags({"a": "b"})),  # pure
    # --- governance.services -------------------------------------------------------------------------------
    "committee_create": (
        ("committee.created",),
        lambda w: lambda: gov.committee_create(actor=w.admin, name="Ethics board"),
    ),
    "committee_update": (
        ("committee.updated",),
        lambda w: lambda: gov.committee_update(actor=w.admin, committee=w.committees["peer"], data={"purpose": "P."}),
    ),
    "committee_member_set": (
        ("committee.member_set",),
        lambda w: lambda: gov.committee_member_set(actor=w.admin, committee=w.committees["peer"], user=w.viewer),
    ),
    "committee_member_remove": (
        ("committee.member_removed",),
        lambda w: (
            lambda: gov.committee_member_remove(actor=w.admin, committee=w.committees["peer"], user=w.reviewers[2])
        ),
    ),
    "policy_update": (
        ("policy.updated",),
        lambda w: (
            lambda: gov.policy_update(
                actor=w.admin,
                policy=ApprovalPolicy.objects.get(target_stage="staging", risk_tier="minimal"),
                data={"note": "Changed."},
            )
        ),
    ),
    "approval_request_submit": (
        ("approval.requested",),
        lambda w: (
            lambda: gov.approval_request_submit(
                actor=w.owner, version=w.staged, target_stage=Stage.PRODUCTION, justification="Ready."
            )
        ),
    ),
    "vote_cast": (
        # The third approval reaches quorum in both committees: the request is decided in the same transaction.
        ("vote.cast", "approval.decided"),
        lambda w: (
            lambda r: (
                gov.vote_cast(actor=w.reviewers[0], request=r, committee=w.committees["mrc"], decision="approve"),
                gov.vote_cast(actor=w.reviewers[1], request=r, committee=w.committees["mrc"], decision="approve"),
                lambda: gov.vote_cast(
                    actor=w.risk_officer, request=r, committee=w.committees["rnc"], decision="approve"
                ),
            )[2]
        )(
            gov.approval_request_submit(
                actor=w.owner, version=w.staged, target_stage=Stage.PRODUCTION, justification="R."
            )
        ),
    ),
    "approval_request_withdraw": (
        ("approval.withdrawn",),
        lambda w: (lambda r: lambda: gov.approval_request_withdraw(actor=w.owner, request=r, reason="Not yet."))(
            gov.approval_request_submit(
                actor=w.owner, version=w.staged, target_stage=Stage.PRODUCTION, justification="R."
            )
        ),
    ),
    "approval_request_resubmit": (
        ("approval.resubmitted",),
        lambda w: (
            lambda r: (
                gov.vote_cast(
                    actor=w.reviewers[0],
                    request=r,
                    committee=w.committees["mrc"],
                    decision="request_changes",
                    comment="More data.",
                ),
                lambda: gov.approval_request_resubmit(actor=w.owner, request=r, justification="Added data."),
            )[1]
        )(
            gov.approval_request_submit(
                actor=w.owner, version=w.staged, target_stage=Stage.PRODUCTION, justification="R."
            )
        ),
    ),
    "approvals_expire": (("approval.expired",), _expire_approval),
    "version_transition": (
        # Through the gate: the stage change records the approval it used (the request is marked promoted in
        # the same transaction, without an event of its own).
        ("version.stage_changed",),
        lambda w: (
            _approved(w, w.staged),
            lambda: gov.version_transition(actor=w.owner, version=w.staged, stage=Stage.PRODUCTION),
        )[1],
    ),
    "alias_set": (
        ("alias.changed",),
        lambda w: lambda: gov.alias_set(actor=w.owner, model=w.model, name="champion", version=w.staged),
    ),
    "model_rollback": (
        # The archived previous version to staging, then to production, the current one to staging, then the
        # rollback itself.
        ("version.stage_changed", "version.stage_changed", "version.stage_changed", "model.rolled_back"),
        _rollback,
    ),
    "version_break_glass": (
        ("version.stage_changed", "version.break_glass"),
        lambda w: (
            lambda: gov.version_break_glass(
                actor=w.admin, version=w.staged, stage=Stage.PRODUCTION, justification="Outage: the fix must ship now."
            )
        ),
    ),
    "template_create": (
        ("assessment_template.created",),
        lambda w: (
            lambda: gov.template_create(
                actor=w.risk_officer, key="custom", title="Custom", framework="internal", definition=TEMPLATE_DEF
            )
        ),
    ),
    "template_update": (
        ("assessment_template.updated",),
        lambda w: (
            lambda t: (
                lambda: gov.template_update(actor=w.risk_officer, template=t, title="Renamed", definition=TEMPLATE_DEF)
            )
        )(
            gov.template_create(
                actor=w.risk_officer, key="custom", title="Custom", framework="internal", definition=TEMPLATE_DEF
            )
        ),
    ),
    "frameworks_load": (
        NO_EVENT,  # the seeded templates are already loaded (migration 0006): an unchanged reload changes nothing
        lambda w: lambda: gov.frameworks_load(actor=None),
    ),
    "assessment_create": (("assessment.created",), lambda w: lambda: _assessment(w)),
    "assessment_answer": (
        ("assessment.answered",),
        lambda w: (lambda a: lambda: gov.assessment_answer(actor=w.owner, assessment=a, answers=EU_BASELINE))(
            _assessment(w)
        ),
    ),
    "assessment_submit": (
        ("assessment.submitted",),
        lambda w: (
            lambda a: (
                gov.assessment_answer(actor=w.owner, assessment=a, answers=EU_BASELINE),
                lambda: gov.assessment_submit(actor=w.owner, assessment=a),
            )[1]
        )(_assessment(w)),
    ),
    "assessment_approve": (
        # Approval sets the model's risk tier from the assessment when it changes (here: high to minimal).
        ("assessment.approved", "model.risk_tier_changed"),
        lambda w: (lambda a: lambda: gov.assessment_approve(actor=w.risk_officer2, assessment=a))(
            _assessment(w, submitted=True)
        ),
    ),
    "assessment_return": (
        ("assessment.returned",),
        lambda w: (
            lambda a: lambda: gov.assessment_return(actor=w.risk_officer2, assessment=a, comment="Answer q3 again.")
        )(_assessment(w, submitted=True)),
    ),
    "assessment_expire": (
        # An expired assessment no longer classifies the model: its risk tier is recomputed (back to unassessed).
        ("assessment.expired", "model.risk_tier_changed"),
        lambda w: (
            lambda pair: (
                lambda: gov.assessment_expire(
                    assessment_id=pair[0].pk, today=pair[0].valid_until + dt.timedelta(days=1)
                )
            )
        )(_approved_assessment_due(w, 0)),
    ),
    "assessment_review_reminder": (
        ("assessment.review_due_soon",),
        lambda w: (lambda pair: lambda: gov.assessment_review_reminder(assessment_id=pair[0].pk, today=pair[1]))(
            _approved_assessment_due(w, 10)
        ),
    ),
    "assessment_evidence_add": (
        ("assessment.evidence_added",),
        lambda w: (
            lambda a: (
                lambda: gov.assessment_evidence_add(
                    actor=w.owner, assessment=a, url="https://dms.example.org/design", title="Design"
                )
            )
        )(_assessment(w)),
    ),
    "assessment_evidence_remove": (
        ("assessment.evidence_removed",),
        lambda w: (
            lambda a: (lambda e: lambda: gov.assessment_evidence_remove(actor=w.owner, evidence=e))(
                gov.assessment_evidence_add(actor=w.owner, assessment=a, url="https://dms.example.org/d", title="D")
            )
        )(_assessment(w)),
    ),
    "risk_create": (
        ("risk.created",),
        lambda w: (
            lambda: gov.risk_create(
                actor=w.owner,
                model=w.model,
                title="Drift",
                category="robustness",
                likelihood=3,
                impact=3,
                owner=w.owner,
            )
        ),
    ),
    "risk_update": (
        ("risk.updated",),
        lambda w: (lambda r: lambda: gov.risk_update(actor=w.owner, risk=r, data={"likelihood": 4}))(
            gov.risk_create(
                actor=w.owner,
                model=w.model,
                title="Drift",
                category="robustness",
                likelihood=3,
                impact=3,
                owner=w.owner,
            )
        ),
    ),
    "audit_export": (
        ("audit.exported",),
        lambda w: lambda: gov.audit_export(actor=w.auditor, filters={"action": "model.created"}, fmt="jsonl"),
    ),
    "records_export": (
        ("approvals.exported",),
        lambda w: lambda: b"".join(gov.records_export(actor=w.auditor, kind="approvals", fmt="csv").lines),
    ),
    "auth_login_record": (("login.succeeded",), lambda w: lambda: gov.auth_login_record(user=w.owner)),
    "auth_logout_record": (("logout",), lambda w: lambda: gov.auth_logout_record(user=w.owner)),
    "auth_login_failed_record": (("login.failed",), lambda w: lambda: gov.auth_login_failed_record(username="eve")),
    "conflicted_user_ids": (NO_EVENT, lambda w: lambda: gov.conflicted_user_ids(w.staged)),  # a read
    "request_tallies": (
        NO_EVENT,  # a read
        lambda w: (lambda r: lambda: gov.request_tallies(r))(
            gov.approval_request_submit(
                actor=w.owner, version=w.staged, target_stage=Stage.PRODUCTION, justification="R."
            )
        ),
    ),
    "request_awaiting_votes": (
        NO_EVENT,  # a read
        lambda w: (lambda r: lambda: gov.request_awaiting_votes(r))(
            gov.approval_request_submit(
                actor=w.owner, version=w.staged, target_stage=Stage.PRODUCTION, justification="R."
            )
        ),
    ),
    "notifications_mark_done": (
        NO_EVENT,  # inbox bookkeeping after a decision, which is the audited event
        lambda w: (lambda r: lambda: gov.notifications_mark_done(request=r))(
            gov.approval_request_submit(
                actor=w.owner, version=w.staged, target_stage=Stage.PRODUCTION, justification="R."
            )
        ),
    ),
    "audit_verification_request": (
        ("audit.verification_requested",),
        lambda w: lambda: gov.audit_verification_request(actor=w.auditor),
    ),
    "add_months": (NO_EVENT, lambda w: lambda: gov.add_months(dt.date(2026, 1, 31), 1)),  # pure
    # --- governance.webhooks (its webhook_subscription_* services) -----------------------------------------
    "webhook_subscription_create": (("webhook.created",), lambda w: lambda: _hook(w)),
    "webhook_subscription_update": (
        ("webhook.updated",),
        lambda w: (
            lambda hook: (
                lambda: _allowed(
                    hooks.webhook_subscription_update, actor=w.owner, subscription=hook, data={"name": "Renamed"}
                )
            )
        )(_hook(w)),
    ),
    "webhook_subscription_delete": (
        ("webhook.deleted",),
        lambda w: (lambda hook: lambda: hooks.webhook_subscription_delete(actor=w.owner, subscription=hook))(_hook(w)),
    ),
    "webhook_subscription_test": (
        ("webhook.tested",),
        lambda w: (lambda hook: lambda: _allowed(hooks.webhook_subscription_test, actor=w.owner, subscription=hook))(
            _hook(w)
        ),
    ),
}


def _allowed(service, **kwargs):
    """Webhook URLs on 127.0.0.1 pass the SSRF guard only when an administrator allows the host."""
    with override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"]):
        return service(**kwargs)


def _hook(w):
    return _allowed(
        hooks.webhook_subscription_create,
        actor=w.owner,
        name="Deploy bot",
        url="http://127.0.0.1:9/hook",
        event_types=["version.created"],
        model=None,
    )


def public_functions() -> set[str]:
    found = set()
    for module, prefix in ((reg, ""), (gov, ""), (hooks, "webhook_subscription_")):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_") and name.startswith(prefix):
                found.add(name)
    return found


def test_every_public_service_function_has_a_row():
    missing = public_functions() - set(TABLE)
    stale = set(TABLE) - public_functions()
    assert not missing, f"add these services to TABLE with the audit actions they write: {sorted(missing)}"
    assert not stale, f"TABLE names functions that no longer exist: {sorted(stale)}"


@pytest.fixture
def w(owner, administrator, viewer, auditor, risk_officer, reviewers, committees, model, staged, team_alpha):
    model.refresh_from_db()
    return SimpleNamespace(
        owner=owner,
        admin=administrator,
        viewer=viewer,
        auditor=auditor,
        risk_officer=risk_officer,
        risk_officer2=make_user("risk2", roles=["Risk Officer"]),
        reviewers=reviewers,
        committees=committees,
        model=model,
        staged=staged,
        dev=make_version(owner, model),
        team=team_alpha,
    )


@pytest.mark.parametrize("name", sorted(TABLE))
def test_service_writes_the_events_in_its_row(name, w, artifact_storage, django_capture_on_commit_callbacks):
    expected, prepare = TABLE[name]
    call = prepare(w)
    before = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    with django_capture_on_commit_callbacks(execute=False):
        call()
    written = list(AuditEvent.objects.filter(seq__gt=before).order_by("seq").values_list("action", flat=True))
    assert tuple(written) == expected, f"{name} wrote {written}"
    unknown = set(written) - set(AuditAction)
    assert not unknown, f"{name} wrote actions missing from governance.audit_actions.AuditAction: {unknown}"
    for event in AuditEvent.objects.filter(seq__gt=before):
        assert event.action.split(".")[0] and (event.changes or event.action in QUIET_ACTIONS), (
            f"{name}: {event.action} records no field-level changes"
        )


# Events that record an act rather than a change of fields (no before/after to show).
QUIET_ACTIONS = {"login.succeeded", "logout", "assessment.review_due_soon"}
