"""Governance writes: committees, policies, approval requests, votes, and the lifecycle gate.

`version_transition` and `alias_set` are the one door through which every stage change and every move of
the production alias passes, from the browser, the v1 API, the MLflow-compatible API, the admin and the
management commands. Nothing reaches production without an approved, unexpired decision bound to the
version's file digests and to the governed facts its reviewers judged (`gate.governed_facts`), except
through `version_break_glass`, which an administrator must justify in writing and which is flagged in the
audit trail.

The risk-assessment services below follow the same rules: keyword-only, one transaction, permission
through `registry.permissions`, exactly one audit event per state change.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mass_mail
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from guardian.shortcuts import assign_perm

from governance import evidence as evidence_storage
from governance import exports, frameworks, gate, notifications, questionnaire, scoring, selectors
from governance.audit import audit_record, diff, snapshot
from governance.audit_actions import AuditAction
from governance.choices import (
    ApprovalStatus,
    AssessmentStatus,
    CommitteeRole,
    EvidenceKind,
    QuestionType,
    QuorumRule,
    RiskCategory,
    RiskStatus,
    VoteDecision,
)
from governance.filters import AuditEventFilter
from governance.models import (
    ApprovalPolicy,
    ApprovalRequest,
    Assessment,
    AssessmentEvidence,
    AssessmentTemplate,
    AuditEvent,
    Committee,
    CommitteeMembership,
    Notification,
    Risk,
    Vote,
)
from governance.quorum import Outcome, evaluate
from registry import permissions
from registry import services as registry_services
from registry.choices import ArtifactStatus, RiskTier, Stage, TokenScope
from registry.exceptions import Conflict, InvalidInput, NotFound
from registry.models import ModelVersion, RegisteredModel
from registry.permissions import Action

User = get_user_model()
logger = logging.getLogger(__name__)

COMMITTEE_FIELDS = ("name", "purpose", "quorum_rule", "min_approvals", "approval_fraction", "veto_on_reject")


# --- Notifications ------------------------------------------------------------------------------------------


def _notify(users: Iterable, message: str, link: str) -> None:
    """In-app notifications now, emails once the transaction commits."""
    recipients = {u.pk: u for u in users if u is not None and u.is_active}
    Notification.objects.bulk_create(
        Notification(user=u, message=message[:300], link=link) for u in recipients.values()
    )
    emails = [u.email for u in recipients.values() if u.email]
    if emails:
        # The inbox link is relative to the site; an email needs the full address.
        body = f"{message}\n\nOpen it in Arbiter: {settings.SITE_URL}{link}\n"
        batch = [(f"[Arbiter] {message[:120]}", body, settings.DEFAULT_FROM_EMAIL, [email]) for email in emails]
        transaction.on_commit(lambda: _send(batch))


@transaction.atomic
def notifications_mark_done(*, request: ApprovalRequest) -> int:
    """Mark done every notification that points at `request` (review requests, earlier decisions), called
    whenever the request is decided, withdrawn or expires: the inbox keeps them, its badge stops counting
    them. Inbox bookkeeping, not a change to the registry: the decision it follows is the audited event."""
    return Notification.objects.filter(link=request.get_absolute_url(), done_at__isnull=True).update(
        done_at=timezone.now()
    )


def _send(batch) -> None:
    try:
        send_mass_mail(batch, fail_silently=False)
    except Exception:  # noqa: BLE001  (mail trouble must not undo a committed decision; the inbox has it)
        logger.exception("could not send %d notification email(s)", len(batch))


# --- Committees and policies ------------------------------------------------------------------------------


def _validate_committee(committee: Committee) -> None:
    fields = {}
    if committee.quorum_rule not in {rule.value for rule in QuorumRule}:
        fields["quorum_rule"] = ["Choose count, fraction or unanimous."]
    if committee.quorum_rule == QuorumRule.COUNT and committee.min_approvals < 1:
        fields["min_approvals"] = ["At least one approval."]
    if committee.quorum_rule == QuorumRule.FRACTION and not 0 < committee.approval_fraction <= 1:
        fields["approval_fraction"] = ["A share between 0 and 1, e.g. 0.5."]
    if not committee.name.strip():
        fields["name"] = ["Required."]
    if fields:
        raise InvalidInput("Some fields are not valid.", fields=fields)


@transaction.atomic
def committee_create(
    *,
    actor,
    name: str,
    purpose: str = "",
    quorum_rule: str = QuorumRule.COUNT,
    min_approvals: int = 1,
    approval_fraction: float = 0.5,
    veto_on_reject: bool = False,
) -> Committee:
    """Create a committee (administrators and risk officers)."""
    permissions.require_committee_management(actor)
    slug = slugify(name)
    if Committee.objects.filter(slug=slug).exists() or Committee.objects.filter(name__iexact=name.strip()).exists():
        raise InvalidInput("A committee with this name exists.", fields={"name": ["Already taken."]})
    committee = Committee(
        name=name.strip(),
        slug=slug,
        purpose=purpose,
        quorum_rule=quorum_rule,
        min_approvals=min_approvals,
        approval_fraction=approval_fraction,
        veto_on_reject=veto_on_reject,
    )
    _validate_committee(committee)
    committee.group = Group.objects.create(name=f"committee:{slug}")
    committee.save()
    audit_record(
        actor=actor,
        action=AuditAction.COMMITTEE_CREATED,
        target=committee,
        changes=diff({}, snapshot(committee, COMMITTEE_FIELDS)),
    )
    return committee


@transaction.atomic
def committee_update(*, actor, committee: Committee, data: Mapping[str, Any]) -> Committee:
    permissions.require_committee_management(actor)
    committee = Committee.objects.select_for_update().get(pk=committee.pk)
    unknown = set(data) - set(COMMITTEE_FIELDS)
    if unknown:
        raise InvalidInput("These fields cannot be changed.", fields={f: ["Not editable."] for f in unknown})
    before = snapshot(committee, COMMITTEE_FIELDS)
    for key, value in data.items():
        setattr(committee, key, value)
    _validate_committee(committee)
    changes = diff(before, snapshot(committee, COMMITTEE_FIELDS))
    if changes:
        committee.save()
        audit_record(actor=actor, action=AuditAction.COMMITTEE_UPDATED, target=committee, changes=changes)
    return committee


@transaction.atomic
def committee_member_set(*, actor, committee: Committee, user, role: str = CommitteeRole.MEMBER) -> CommitteeMembership:
    """Add a member, or change their role (`chair` or `member`)."""
    permissions.require_committee_management(actor)
    if role not in CommitteeRole.values:
        raise InvalidInput("Role must be chair or member.", fields={"role": ["chair or member"]})
    if permissions.is_service_account(user):
        raise InvalidInput("Service accounts cannot sit on committees.", fields={"user": ["Not a person."]})
    membership, created = CommitteeMembership.objects.get_or_create(
        committee=committee, user=user, defaults={"role": role}
    )
    before = None if created else membership.role
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    committee.group.user_set.add(user)
    if created or before != role:
        audit_record(
            actor=actor,
            action=AuditAction.COMMITTEE_MEMBER_SET,
            target=committee,
            changes={"member": user.get_username(), "role": {"before": before, "after": role}},
        )
    return membership


@transaction.atomic
def committee_member_remove(*, actor, committee: Committee, user) -> None:
    permissions.require_committee_management(actor)
    deleted, _ = CommitteeMembership.objects.filter(committee=committee, user=user).delete()
    if not deleted:
        raise InvalidInput(f"{user.get_username()} is not on {committee.name}.", fields={"user": ["Not a member."]})
    committee.group.user_set.remove(user)
    audit_record(
        actor=actor,
        action=AuditAction.COMMITTEE_MEMBER_REMOVED,
        target=committee,
        changes={"member": user.get_username()},
    )


POLICY_FIELDS = ("allowed", "require_metadata", "require_assessment", "require_files", "note")


@transaction.atomic
def policy_update(*, actor, policy: ApprovalPolicy, data: Mapping[str, Any]) -> ApprovalPolicy:
    """Change a policy row: whether the move is allowed, which committees approve, which preconditions."""
    permissions.require_committee_management(actor)
    policy = ApprovalPolicy.objects.select_for_update().get(pk=policy.pk)
    before = snapshot(policy, POLICY_FIELDS)
    before["committees"] = sorted(policy.committees.values_list("slug", flat=True))
    for key in POLICY_FIELDS:
        if key in data:
            setattr(policy, key, data[key])
    policy.save()
    if "committees" in data:
        policy.committees.set(data["committees"])
    after = snapshot(policy, POLICY_FIELDS)
    after["committees"] = sorted(policy.committees.values_list("slug", flat=True))
    changes = diff(before, after)
    if changes:
        audit_record(
            actor=actor, action=AuditAction.POLICY_UPDATED, target=policy, target_label=str(policy), changes=changes
        )
    return policy


# --- Approval requests -------------------------------------------------------------------------------------


def conflicted_user_ids(request_or_version, submitter=None) -> set[int]:
    """People who may not vote: the submitter, the version's author, the model's owner and owning team."""
    version = request_or_version.version if isinstance(request_or_version, ApprovalRequest) else request_or_version
    model = version.model
    ids = {model.owner_id, version.created_by_id}
    if submitter is not None:
        ids.add(submitter.pk)
    elif isinstance(request_or_version, ApprovalRequest):
        ids.add(request_or_version.submitted_by_id)
    if model.team_id:
        ids |= set(model.team.group.user_set.values_list("pk", flat=True))
    ids.discard(None)
    return ids


def _eligible_members(committee: Committee, conflicted: set[int]) -> list:
    return [
        m.user
        for m in committee.memberships.select_related("user", "user__service_account")
        if m.user_id not in conflicted and m.user.is_active and not permissions.is_service_account(m.user)
    ]


def _refuse_if_problems(problems: list[gate.Problem], what: str) -> None:
    if problems:
        raise Conflict(
            f"{what}: " + " ".join(p.message for p in problems),
            code="preconditions_failed",
            fields={"preconditions": [p.message for p in problems]},
        )


@transaction.atomic
def approval_request_submit(*, actor, version: ModelVersion, target_stage: str, justification: str) -> ApprovalRequest:
    """Ask the committees the policy names to approve moving `version` to `target_stage`."""
    version = (
        ModelVersion.objects.select_for_update(of=("self",)).select_related("model", "model__team").get(pk=version.pk)
    )
    permissions.require(actor, Action.SUBMIT, version)
    if target_stage not in (Stage.STAGING, Stage.PRODUCTION):
        raise InvalidInput("Approval is for staging or production.", fields={"target_stage": ["staging or production"]})
    if not (justification or "").strip():
        raise InvalidInput("Say why this version should move.", fields={"justification": ["Required."]})
    if version.stage == target_stage:
        raise Conflict(f"v{version.version} is already in {target_stage}.", code="already_there")
    plan = gate.route(version, target_stage)
    _refuse_if_problems(plan.problems, f"v{version.version} cannot be submitted for {target_stage}")
    if not plan.needs_approval:
        raise Conflict(
            f"Moving v{version.version} to {target_stage} needs no approval under the "
            f"{version.model.get_risk_tier_display().lower()}-risk policy: change its stage directly.",
            code="no_approval_needed",
        )
    _refuse_if_problems(
        gate.precondition_problems(version, target_stage, plan.policy),
        f"v{version.version} is not ready for {target_stage}",
    )
    conflicted = conflicted_user_ids(version, submitter=actor)
    for committee in plan.committees:
        tally = _tally(committee, eligible=len(_eligible_members(committee, conflicted)), votes=[])
        if tally.outcome == Outcome.REJECTED:
            raise Conflict(
                f"{committee.name} cannot decide on this request: {tally.reason}. Ask an administrator to add "
                "independent members.",
                code="quorum_impossible",
            )
    facts = gate.governed_facts(version)
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                version=version,
                target_stage=target_stage,
                justification=justification.strip(),
                submitted_by=actor,
                policy_snapshot={
                    "risk_tier": version.model.risk_tier,
                    "committees": [c.slug for c in plan.committees],
                    "require_metadata": plan.policy.require_metadata,
                    "require_assessment": plan.policy.require_assessment,
                    "require_files": plan.policy.require_files,
                },
                facts=facts,
                facts_digest=gate.facts_digest(facts),
            )
    except IntegrityError as exc:
        raise Conflict(
            f"v{version.version} already has an open request for {target_stage}.", code="request_already_open"
        ) from exc
    request.committees.set(plan.committees)
    for committee in plan.committees:
        # Reviewers see what is routed to them, restricted models included.
        assign_perm(Action.VIEW.value, committee.group, version.model)
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_REQUESTED,
        target=request,
        changes={
            "version": version.version,
            "target_stage": target_stage,
            "committees": [c.slug for c in plan.committees],
            "justification": request.justification,
            "facts_digest": request.facts_digest,
        },
    )
    members = (
        User.objects.filter(committee_memberships__committee__in=plan.committees).exclude(pk__in=conflicted).distinct()
    )
    _notify(members, f"Review requested: {version} → {target_stage}", request.get_absolute_url())
    return request


def _tally(committee: Committee, *, eligible: int, votes: list[Vote]):
    return evaluate(
        QuorumRule(committee.quorum_rule),
        eligible=eligible,
        approvals=sum(1 for v in votes if v.decision == VoteDecision.APPROVE),
        rejections=sum(1 for v in votes if v.decision == VoteDecision.REJECT),
        min_approvals=committee.min_approvals,
        fraction=committee.approval_fraction,
        veto=committee.veto_on_reject,
    )


def request_tallies(request: ApprovalRequest) -> list[tuple[Committee, Any]]:
    """Each required committee with its current tally for the request's current round."""
    conflicted = conflicted_user_ids(request)
    votes = list(request.votes.filter(round=request.round))
    result = []
    for committee in request.committees.all():
        committee_votes = [v for v in votes if v.committee_id == committee.pk]
        eligible = {u.pk for u in _eligible_members(committee, conflicted)} | {v.voter_id for v in committee_votes}
        result.append((committee, _tally(committee, eligible=len(eligible), votes=committee_votes)))
    return result


def request_awaiting_votes(request: ApprovalRequest) -> list[tuple[Committee, list]]:
    """Each required committee with the members who may still vote on the request's current round (eligible
    under separation of duties, not yet voted): whom reviewers and the submitter are waiting for."""
    conflicted = conflicted_user_ids(request)
    voted = set(request.votes.filter(round=request.round).values_list("committee_id", "voter_id"))
    return [
        (committee, [u for u in _eligible_members(committee, conflicted) if (committee.pk, u.pk) not in voted])
        for committee in request.committees.all()
    ]


def _decide(request: ApprovalRequest, *, status: str, reason: str, actor) -> None:
    now = timezone.now()
    before = request.status
    request.status = status
    request.decided_at = now
    request.decision_reason = reason
    if status == ApprovalStatus.APPROVED:
        request.valid_until = gate.approval_validity()
        request.artifact_digests = gate.current_digests(request.version)
    request.save()
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_DECIDED,
        target=request,
        changes={
            "status": {"before": before, "after": status},
            "reason": reason,
            "round": request.round,
            "artifact_digests": request.artifact_digests if status == ApprovalStatus.APPROVED else None,
            "valid_until": request.valid_until if status == ApprovalStatus.APPROVED else None,
        },
    )
    notifications_mark_done(request=request)
    verb = {
        ApprovalStatus.APPROVED: "approved",
        ApprovalStatus.REJECTED: "rejected",
        ApprovalStatus.CHANGES_REQUESTED: "returned for changes",
    }[status]
    _notify(
        [request.submitted_by, request.version.model.owner],
        f"{request.version} → {request.target_stage} was {verb}",
        request.get_absolute_url(),
    )


@transaction.atomic
def vote_cast(
    *,
    actor,
    request: ApprovalRequest,
    committee: Committee,
    decision: str,
    comment: str = "",
    accept_flagged: bool = False,
) -> Vote:
    """Record a committee member's vote and decide the request once every committee reached quorum, one
    rejected it, or changes were requested. The request row is locked, so simultaneous votes cannot produce
    two decisions."""
    request = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("version__model__team", "version__created_by", "submitted_by")
        .get(pk=request.pk)
    )
    permissions.require(actor, Action.VIEW, request)
    refusal = permissions.vote_refusal(
        actor,
        request=request,
        committee=committee,
        conflicted_ids=conflicted_user_ids(request),
        member_ids=set(committee.memberships.values_list("user_id", flat=True)),
        required_ids=set(request.committees.values_list("pk", flat=True)),
    )
    if refusal:
        raise PermissionDenied(refusal)
    if decision not in VoteDecision.values:
        raise InvalidInput("Vote approve, reject or request_changes.", fields={"decision": ["Unknown decision."]})
    if decision in (VoteDecision.REJECT, VoteDecision.REQUEST_CHANGES) and not (comment or "").strip():
        raise InvalidInput("Explain a rejection or a change request.", fields={"comment": ["Required."]})
    flagged = gate.flagged_artifacts(request.version)
    if decision == VoteDecision.APPROVE and flagged and not accept_flagged:
        names = ", ".join(a.filename for a in flagged)
        raise InvalidInput(
            f"Files flagged for review ({names}) must be explicitly accepted to approve.",
            fields={"accept_flagged": ["Tick to accept the flagged files."]},
        )
    try:
        with transaction.atomic():
            vote = Vote.objects.create(
                request=request,
                committee=committee,
                voter=actor,
                round=request.round,
                decision=decision,
                comment=(comment or "").strip(),
                accepted_flagged=bool(flagged and accept_flagged and decision == VoteDecision.APPROVE),
            )
    except IntegrityError as exc:
        raise Conflict("You already voted on this round; votes cannot be edited.", code="already_voted") from exc
    audit_record(
        actor=actor,
        action=AuditAction.VOTE_CAST,
        target=vote,
        target_label=f"{actor.get_username()} on request #{request.pk} ({committee.name})",
        changes={"decision": decision, "comment": vote.comment, "round": request.round, "committee": committee.slug},
    )
    if vote.accepted_flagged:
        request.accepted_flagged = {**request.accepted_flagged, **{a.filename: a.sha256 for a in flagged}}
        request.save(update_fields=["accepted_flagged"])
    if decision == VoteDecision.REQUEST_CHANGES:
        _decide(request, status=ApprovalStatus.CHANGES_REQUESTED, reason=vote.comment, actor=actor)
        return vote
    tallies = request_tallies(request)
    rejected = [(c, t) for c, t in tallies if t.outcome == Outcome.REJECTED]
    if rejected:
        reason = "; ".join(f"{c.name}: {t.reason}" for c, t in rejected)
        _decide(request, status=ApprovalStatus.REJECTED, reason=reason, actor=actor)
    elif all(t.outcome == Outcome.APPROVED for _, t in tallies):
        problems = gate.request_problems(request)
        if problems:
            _decide(
                request,
                status=ApprovalStatus.CHANGES_REQUESTED,
                reason="Quorum reached, but not ready: " + " ".join(p.message for p in problems),
                actor=actor,
            )
        else:
            _decide(
                request, status=ApprovalStatus.APPROVED, reason="All required committees reached quorum.", actor=actor
            )
    return vote


def _locked_request(request: ApprovalRequest) -> ApprovalRequest:
    """The request row locked for this transaction (so two people acting on it serialise), with its version."""
    return ApprovalRequest.objects.select_for_update(of=("self",)).select_related("version__model").get(pk=request.pk)


@transaction.atomic
def approval_request_resubmit(*, actor, request: ApprovalRequest, justification: str = "") -> ApprovalRequest:
    """Send a request returned for changes back to its committees as a new round (old votes stay)."""
    request = _locked_request(request)
    permissions.require(actor, Action.SUBMIT, request)
    if not request.is_returned:
        raise Conflict("Only a request returned for changes can be resubmitted.", code="not_returned")
    plan = gate.route(request.version, request.target_stage)
    _refuse_if_problems(
        plan.problems + gate.precondition_problems(request.version, request.target_stage, plan.policy),
        "The request is still not ready",
    )
    before = request.round
    before_digest = request.facts_digest
    request.round += 1
    request.status = ApprovalStatus.OPEN
    request.decided_at = None
    request.decision_reason = ""
    request.accepted_flagged = {}
    # The new round judges the version as it is now.
    request.facts = gate.governed_facts(request.version)
    request.facts_digest = gate.facts_digest(request.facts)
    if justification.strip():
        request.justification = justification.strip()
    request.save()
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_RESUBMITTED,
        target=request,
        changes={
            "round": {"before": before, "after": request.round},
            "justification": request.justification,
            "facts_digest": {"before": before_digest, "after": request.facts_digest},
        },
    )
    members = (
        User.objects.filter(committee_memberships__committee__in=request.committees.all())
        .exclude(pk__in=conflicted_user_ids(request))
        .distinct()
    )
    _notify(
        members,
        f"Review requested again (round {request.round}): {request.version} → {request.target_stage}",
        request.get_absolute_url(),
    )
    return request


@transaction.atomic
def approval_request_withdraw(*, actor, request: ApprovalRequest, reason: str = "") -> ApprovalRequest:
    request = _locked_request(request)
    permissions.require(actor, Action.SUBMIT, request)
    if not request.is_withdrawable:
        raise Conflict(
            f"A {request.get_status_display().lower()} request cannot be withdrawn.", code="not_withdrawable"
        )
    before = request.status
    request.status = ApprovalStatus.WITHDRAWN
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL_WITHDRAWN,
        target=request,
        changes={"status": {"before": before, "after": ApprovalStatus.WITHDRAWN}, "reason": reason.strip()},
    )
    notifications_mark_done(request=request)
    return request


def approvals_expire() -> int:
    """Periodic: approvals not used for a promotion within APPROVAL_VALID_DAYS expire."""
    expired = 0
    now = timezone.now()
    for request_id in ApprovalRequest.objects.filter(status=ApprovalStatus.APPROVED, valid_until__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            request = (
                ApprovalRequest.objects.select_for_update(of=("self",))
                .select_related("version__model__owner", "submitted_by")
                .get(pk=request_id)
            )
            if request.status != ApprovalStatus.APPROVED:
                continue
            request.status = ApprovalStatus.EXPIRED
            request.save(update_fields=["status"])
            audit_record(
                actor=None,
                action=AuditAction.APPROVAL_EXPIRED,
                target=request,
                changes={"status": {"before": ApprovalStatus.APPROVED, "after": ApprovalStatus.EXPIRED}},
            )
            notifications_mark_done(request=request)
            _notify(
                [request.submitted_by, request.version.model.owner],
                f"The approval of {request.version} → {request.target_stage} expired unused: submit it again",
                request.get_absolute_url(),
            )
            expired += 1
    return expired


# --- The gate ------------------------------------------------------------------------------------------------


def _gate_decision(*, actor, version: ModelVersion, stage: str) -> dict | None:
    """Authorise moving `version` to `stage`, or raise with what is missing. Returns the decision to cite."""
    plan = gate.route(version, stage)
    if plan.problems:
        raise PermissionDenied(" ".join(p.message for p in plan.problems))
    missing_files = gate.files_problems(version, plan.policy)
    if missing_files:
        problem = missing_files[0]
        raise Conflict(
            f"v{version.version} cannot move to {stage}: {problem.message} ({problem.link})",
            code=problem.code,
            fields={"preconditions": [problem.message]},
        )
    blocking = [
        a
        for a in version.artifacts.all()
        if a.status != ArtifactStatus.VALID and not (a.status == ArtifactStatus.NEEDS_REVIEW and plan.needs_approval)
    ]
    if blocking and version.stage == Stage.DEVELOPMENT:
        listed = "; ".join(f"{a.filename} is {a.get_status_display().lower()}" for a in blocking)
        raise Conflict(
            f"v{version.version} cannot leave development until all its files are valid: {listed}.",
            code="artifacts_not_valid",
        )
    if not plan.needs_approval:
        return None
    approval = gate.valid_approval(version, stage)
    committees = " and ".join(c.name for c in plan.committees)
    stale = gate.stale_approval(version, stage) if approval is None else None
    if stale is not None:
        fields = ", ".join(row["label"].lower() for row in gate.facts_changes(stale, version))
        raise PermissionDenied(
            f"v{version.version}'s governed metadata changed since request #{stale.pk} was submitted ({fields}): "
            "the approval does not cover it. Submit it for approval again."
        )
    if approval is None:
        raise PermissionDenied(
            f"v{version.version} needs an approval from {committees} to move to {stage}; none is valid for its "
            "current files. Submit it for approval."
        )
    for artifact in gate.flagged_artifacts(version):
        if approval.accepted_flagged.get(artifact.filename) != artifact.sha256:
            raise PermissionDenied(f"{artifact.filename} is flagged for review and was not accepted by the committee.")
    return {
        "approval_request": approval.pk,
        "committees": [c.slug for c in plan.committees],
        "decided_at": approval.decided_at,
    }


@transaction.atomic
def version_transition(
    *,
    actor,
    version: ModelVersion,
    stage: str,
    justification: str = "",
    archive_existing_versions: bool | None = None,
    through_staging: bool = False,
) -> ModelVersion:
    """Move a version through its lifecycle: the lifecycle rules, then the policy and approval gate. A
    promotion to production marks the approval used. `archive_existing_versions` (MLflow's option) archives
    the other versions in the target stage, staging or production, in the same transaction; left as None, a
    promotion to production archives the version it replaces and a move to staging archives none. With
    `through_staging`, a promotion of a version that cannot go straight to production (in development or
    archived) first moves it to staging, through the same gate, in the same transaction: *Promote to
    production* is one step for an approved version wherever it stands."""
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    permissions.require(actor, Action.CHANGE, version)
    if through_staging and stage == Stage.PRODUCTION and version.stage in (Stage.DEVELOPMENT, Stage.ARCHIVED):
        version = version_transition(actor=actor, version=version, stage=Stage.STAGING, justification=justification)
    refusal = registry_services.transition_refusal(version.stage, stage)
    if refusal:
        raise Conflict(refusal, code="illegal_transition")
    decision = None
    if stage in (Stage.STAGING, Stage.PRODUCTION) and not (
        version.stage == Stage.PRODUCTION and stage == Stage.STAGING
    ):
        decision = _gate_decision(actor=actor, version=version, stage=stage)
    if archive_existing_versions is None:
        archive_existing_versions = stage == Stage.PRODUCTION
    replaced = []
    if archive_existing_versions and stage in (Stage.STAGING, Stage.PRODUCTION):
        replaced = list(version.model.versions.filter(stage=stage).exclude(pk=version.pk).order_by("version"))
    moved = registry_services.version_stage_apply(
        actor=actor, version=version, stage=stage, gate_decision=decision, reason=justification
    )
    if decision and decision.get("approval_request"):
        ApprovalRequest.objects.filter(pk=decision["approval_request"], status=ApprovalStatus.APPROVED).update(
            status=ApprovalStatus.PROMOTED, promoted_at=timezone.now()
        )
    for old in replaced:
        registry_services.version_stage_apply(
            actor=actor, version=old, stage=Stage.ARCHIVED, reason=f"replaced in {stage} by v{version.version}"
        )
    return moved


@transaction.atomic
def alias_set(*, actor, model: RegisteredModel, name: str, version: ModelVersion):
    """Point an alias at a version; the `production` alias passes the same gate as the production stage."""
    decision = None
    if name == registry_services.PRODUCTION_ALIAS:
        permissions.require(actor, Action.CHANGE, version)
        decision = _gate_decision(actor=actor, version=version, stage=Stage.PRODUCTION)
        if decision is None:  # a policy that needs no committee for production still authorises the move
            decision = {"policy": f"{model.risk_tier} → production needs no approval"}
    return registry_services.alias_apply(actor=actor, model=model, name=name, version=version, gate_decision=decision)


@transaction.atomic
def model_rollback(*, actor, model: RegisteredModel, justification: str = "") -> ModelVersion:
    """Put the previous production version back in production and the current one back to staging. Needs
    no new approval as long as the previous version's production approval has not expired."""
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    permissions.require(actor, Action.CHANGE, model)
    current = model.versions.filter(stage=Stage.PRODUCTION).order_by("-stage_changed_at").first()
    if current is None:
        raise Conflict(f"'{model.name}' has no version in production to roll back.", code="nothing_to_roll_back")
    previous = selectors.rollback_target(user=actor, model=model, current=current)
    if previous is None:
        raise Conflict("No earlier production version to return to.", code="nothing_to_roll_back")
    target = previous.version
    reason = f"rollback from v{current.version}" + (f": {justification}" if justification else "")
    if target.stage == Stage.ARCHIVED:
        registry_services.version_stage_apply(actor=actor, version=target, stage=Stage.STAGING, reason=reason)
    decision = _gate_decision(actor=actor, version=target, stage=Stage.PRODUCTION)
    registry_services.version_stage_apply(
        actor=actor,
        version=target,
        stage=Stage.PRODUCTION,
        gate_decision=decision or {"policy": "no approval needed"},
        reason=reason,
    )
    registry_services.version_stage_apply(actor=actor, version=current, stage=Stage.STAGING, reason=reason)
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_ROLLED_BACK,
        target=model,
        changes={
            "production_version": {"before": current.version, "after": target.version},
            "justification": justification,
        },
    )
    return target


@transaction.atomic
def version_break_glass(*, actor, version: ModelVersion, stage: str, justification: str) -> ModelVersion:
    """An administrator forces a stage change past the gate. Requires a written justification; flagged in
    the audit trail (action `version.break_glass`) and on the governance dashboard."""
    if not permissions.is_administrator(actor):
        raise PermissionDenied("Only administrators can use break-glass.")
    permissions.require_scope(actor, "admin", "use break-glass")
    text = (justification or "").strip()
    if len(text) < settings.BREAK_GLASS_MIN_JUSTIFICATION:
        raise InvalidInput(
            f"Break-glass needs a written justification of at least {settings.BREAK_GLASS_MIN_JUSTIFICATION} "
            "characters.",
            fields={"justification": ["Explain why the approval process is bypassed."]},
        )
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    if stage not in Stage.values or stage == version.stage:
        raise InvalidInput("Choose another stage.", fields={"stage": ["Invalid target."]})
    before = version.stage
    decision = {"break_glass": True, "by": actor.get_username(), "justification": text}
    moved = registry_services.version_stage_apply(
        actor=actor, version=version, stage=stage, gate_decision=decision, reason=text, force_lifecycle=True
    )
    audit_record(
        actor=actor,
        action=AuditAction.VERSION_BREAK_GLASS,
        target=moved,
        changes={"stage": {"before": before, "after": stage}, "justification": text, "flagged": True},
    )
    return moved


# --- Risk assessments: templates ----------------------------------------------------------------------------


def _definition_or_error(raw: Any) -> dict[str, Any]:
    try:
        return questionnaire.validate_definition(raw)
    except questionnaire.DefinitionError as exc:
        raise InvalidInput(
            f"The template definition has {len(exc.problems)} problem(s).",
            code="invalid_definition",
            fields={"definition": exc.problems},
        ) from exc


def _definition_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What an edit changed, in terms a reviewer of the audit trail can follow."""
    old = {q.id: q.data for q in questionnaire.iter_questions(before)}
    new = {q.id: q.data for q in questionnaire.iter_questions(after)}
    changes: dict[str, Any] = {}
    if added := [qid for qid in new if qid not in old]:
        changes["questions_added"] = added
    if removed := [qid for qid in old if qid not in new]:
        changes["questions_removed"] = removed
    if changed := [qid for qid in new if qid in old and new[qid] != old[qid]]:
        changes["questions_changed"] = changed

    def outline(definition):
        return [{k: v for k, v in s.items() if k != "questions"} for s in definition.get("sections", [])]

    reordered = list(old) != list(new) and not (added or removed)
    if outline(before) != outline(after) or reordered:
        changes["sections_changed"] = True
    if before.get("scoring") != after.get("scoring"):
        changes["scoring_changed"] = True
    return changes


@transaction.atomic
def template_create(
    *, actor, key: str, title: str, framework: str, description: str = "", definition: Any
) -> AssessmentTemplate:
    """Create a questionnaire template (version 1). Risk officers and administrators only."""
    permissions.require_manage_templates(actor)
    key, title = (key or "").strip(), (title or "").strip()
    errors: dict[str, list[str]] = {}
    if not frameworks.KEY_PATTERN.match(key):
        errors["key"] = ["2-64 lower-case letters, digits and dashes, e.g. model-risk-policy."]
    elif AssessmentTemplate.objects.filter(key=key).exists():
        errors["key"] = ["A template with this key exists: edit it to make a new version."]
    if not title:
        errors["title"] = ["Required."]
    if framework not in frameworks.FRAMEWORK_VALUES:
        errors["framework"] = [f"One of {', '.join(frameworks.FRAMEWORK_VALUES)}."]
    if errors:
        raise InvalidInput("Some fields are not valid.", fields=errors)
    normalised = _definition_or_error(definition)
    template = AssessmentTemplate.objects.create(
        key=key,
        version=1,
        title=title,
        framework=framework,
        description=(description or "").strip(),
        definition=normalised,
        classifies=normalised["scoring"]["classifies"],
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.ASSESSMENT_TEMPLATE_CREATED,
        target=template,
        changes={
            "key": key,
            "version": 1,
            "title": title,
            "framework": framework,
            "questions": len(list(questionnaire.iter_questions(normalised))),
        },
    )
    return template


@transaction.atomic
def template_update(
    *, actor, template: AssessmentTemplate, title: str, description: str = "", definition: Any
) -> AssessmentTemplate:
    """Edit a template. A version that an assessment uses, or that is no longer the latest, is never changed:
    the edit becomes the next version instead, and every existing assessment keeps the version it was
    answered against. Returns the version that now holds the edit."""
    permissions.require_manage_templates(actor)
    versions = list(AssessmentTemplate.objects.select_for_update().filter(key=template.key).order_by("-version"))
    latest = versions[0]
    current = next(v for v in versions if v.pk == template.pk)
    title = (title or "").strip()
    if not title:
        raise InvalidInput("A template needs a title.", fields={"title": ["Required."]})
    normalised = _definition_or_error(definition)
    changes = diff(
        {"title": current.title, "description": current.description},
        {"title": title, "description": (description or "").strip()},
    )
    changes.update(_definition_changes(current.definition, normalised))
    if not changes:
        return current
    if current.pk == latest.pk and not current.assessments.exists():
        current.title, current.description, current.definition = title, (description or "").strip(), normalised
        current.classifies = normalised["scoring"]["classifies"]
        current.source = ""  # no longer the seed file's content (see governance.frameworks)
        current.save()
        audit_record(actor=actor, action=AuditAction.ASSESSMENT_TEMPLATE_UPDATED, target=current, changes=changes)
        return current
    successor = AssessmentTemplate.objects.create(
        key=current.key,
        version=latest.version + 1,
        title=title,
        framework=current.framework,
        description=(description or "").strip(),
        definition=normalised,
        classifies=normalised["scoring"]["classifies"],
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.ASSESSMENT_TEMPLATE_VERSIONED,
        target=successor,
        changes={"version": {"before": current.version, "after": successor.version}, **changes},
    )
    return successor


@transaction.atomic
def frameworks_load(*, actor=None, directory: Path | None = None) -> list[tuple[str, str, AssessmentTemplate]]:
    """Load the seed templates of governance/frameworks/ (idempotent; see governance.frameworks for how a
    changed file becomes a new version). One audit event per template created or changed."""
    if actor is not None:
        permissions.require_manage_templates(actor)
    try:
        files = frameworks.template_files(directory)
    except questionnaire.DefinitionError as exc:
        raise InvalidInput(
            "A framework file is not valid.", code="invalid_definition", fields={"definition": exc.problems}
        ) from exc
    results = []
    for file in files:
        outcome, template = frameworks.load_template(
            AssessmentTemplate,
            file,
            is_used=lambda t: t.assessments.exists(),
            created_by_id=actor.pk if actor is not None else None,
        )
        if outcome != "unchanged":
            audit_record(
                actor=actor,
                action=AuditAction(f"assessment_template.{outcome}"),
                target=template,
                changes={"source": file.source, "digest": file.digest, "version": template.version},
            )
        results.append((file.key, outcome, template))
    return results


# --- Risk assessments: the assessment lifecycle ----------------------------------------------------------------


def _locked_assessment(assessment: Assessment) -> Assessment:
    return (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("template", "model", "model__owner")
        .get(pk=assessment.pk)
    )


def _evidence_question_ids(assessment: Assessment) -> set[str]:
    return set(assessment.evidence.exclude(question_id="").values_list("question_id", flat=True))


def _rescore(assessment: Assessment) -> scoring.Result:
    result = scoring.score(assessment.template.definition, assessment.answers)
    assessment.score, assessment.max_score = result.score, result.max_score
    assessment.tier = result.tier or ""
    assessment.explanation = result.explanation()
    return result


def _require_editable(assessment: Assessment) -> None:
    if not assessment.is_editable:
        raise Conflict(
            f"This assessment is {assessment.get_status_display().lower()}: it can no longer be changed. "
            "Start a new assessment to re-assess the model.",
            code="assessment_not_editable",
        )


def _add_contributor(assessment: Assessment, actor) -> None:
    if actor is not None and actor.pk not in assessment.contributors:
        assessment.contributors = [*assessment.contributors, actor.pk]


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus `months` calendar months, clamped to the end of a shorter month (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _model_risk_tier_refresh(*, actor, model: RegisteredModel, reason: str) -> None:
    """The model's tier is the tier of its latest approved, unexpired classifying assessment, or unassessed.
    `model_risk_tier_set` records the change (and nothing when the tier stays the same)."""
    current = selectors.model_current_assessment(model)
    tier = current.tier if current is not None and current.tier else RiskTier.UNASSESSED
    registry_services.model_risk_tier_set(actor=actor, model=model, tier=tier, reason=reason)


@transaction.atomic
def assessment_create(
    *, actor, model: RegisteredModel, template: AssessmentTemplate, model_version: ModelVersion | None = None
) -> Assessment:
    """Start a draft assessment of `model` (optionally of one of its versions) against the latest version of
    a template. The model's owners and risk officers may; the actor becomes the assessor."""
    permissions.require_create_assessment(actor, model)
    latest = selectors.template_latest(key=template.key)
    if latest is None or latest.pk != template.pk:
        raise Conflict(
            f"{template} has been replaced by version {latest.version}: assess against the latest version.",
            code="template_outdated",
            fields={"template": [f"Use version {latest.version}."]},
        )
    if model_version is not None and model_version.model_id != model.pk:
        raise InvalidInput("That version belongs to another model.", fields={"model_version": ["Wrong model."]})
    open_one = (
        Assessment.objects.filter(
            model=model, template__key=template.key, status__in=selectors.OPEN_ASSESSMENT_STATUSES
        )
        .order_by("-created_at")
        .first()
    )
    if open_one is not None:
        raise Conflict(
            f"{model.name} already has an open {template.title} assessment (#{open_one.pk}): continue that one.",
            code="assessment_open",
        )
    assessment = Assessment(model=model, model_version=model_version, template=template, assessor=actor)
    _rescore(assessment)
    assessment.save()
    audit_record(
        actor=actor,
        action=AuditAction.ASSESSMENT_CREATED,
        target=assessment,
        changes={
            "template": f"{template.key} v{template.version}",
            "model_version": model_version.version if model_version else None,
            "status": {"before": None, "after": assessment.status},
        },
    )
    return assessment


@transaction.atomic
def assessment_answer(*, actor, assessment: Assessment, answers: Mapping[str, Any]) -> Assessment:
    """Record answers (merged into the existing ones; None clears one) and recompute score and tier.

    Answers to questions that the new answers hide are dropped, so what is stored is what was shown.
    Allowed while the assessment is a draft or returned, for its assessor and whoever may change the model.
    """
    assessment = _locked_assessment(assessment)
    permissions.require_answer_assessment(actor, assessment)
    _require_editable(assessment)
    if not isinstance(answers, Mapping):
        raise InvalidInput("Answers are an object of question id to answer.", fields={"answers": ["Not an object."]})
    definition = assessment.template.definition
    clean, errors = questionnaire.clean_answers(definition, answers)
    if errors:
        raise InvalidInput(
            f"{len(errors)} answer(s) are not valid.", fields={qid: [message] for qid, message in errors.items()}
        )
    merged = dict(assessment.answers)
    for qid, value in clean.items():
        if value is None:
            merged.pop(qid, None)
        else:
            merged[qid] = value
    merged = questionnaire.visible_answers(definition, merged)
    changes = diff(assessment.answers, merged)
    if not changes:
        return assessment
    before_tier = assessment.tier
    assessment.answers = merged
    _add_contributor(assessment, actor)
    _rescore(assessment)
    assessment.updated_at = timezone.now()
    assessment.save()
    recorded: dict[str, Any] = {"answers": changes}
    if assessment.tier != before_tier:
        recorded["tier"] = {"before": before_tier or None, "after": assessment.tier or None}
    audit_record(actor=actor, action=AuditAction.ASSESSMENT_ANSWERED, target=assessment, changes=recorded)
    return assessment


@transaction.atomic
def assessment_submit(*, actor, assessment: Assessment) -> Assessment:
    """Send a complete assessment to the risk officers. Refuses, naming each question, while a required
    question that is shown has no answer (or an evidence question has no evidence)."""
    assessment = _locked_assessment(assessment)
    permissions.require_answer_assessment(actor, assessment)
    _require_editable(assessment)
    missing = questionnaire.missing_answers(
        assessment.template.definition, assessment.answers, _evidence_question_ids(assessment)
    )
    if missing:
        raise InvalidInput(
            f"{len(missing)} required question(s) still need an answer.",
            code="assessment_incomplete",
            fields={qid: [message] for qid, message in missing.items()},
        )
    before = assessment.status
    _rescore(assessment)
    assessment.status = AssessmentStatus.SUBMITTED
    assessment.submitted_at = assessment.updated_at = timezone.now()
    assessment.submitted_by = actor
    assessment.save()
    audit_record(
        actor=actor,
        action=AuditAction.ASSESSMENT_SUBMITTED,
        target=assessment,
        changes={
            "status": {"before": before, "after": assessment.status},
            "tier": assessment.tier or None,
            "score": assessment.score,
        },
    )
    return assessment


def _require_submitted(assessment: Assessment, doing: str) -> None:
    if assessment.status != AssessmentStatus.SUBMITTED:
        raise Conflict(
            f"Only a submitted assessment can be {doing}; this one is {assessment.get_status_display().lower()}.",
            code="assessment_not_submitted",
        )


@transaction.atomic
def assessment_approve(*, actor, assessment: Assessment, comment: str = "") -> Assessment:
    """A risk officer who neither assessed nor answered it signs the assessment off. It becomes valid for the
    months configured for its tier, supersedes the model's previous approved assessment of the same
    template, and (for a classifying template) sets the model's risk tier."""
    assessment = _locked_assessment(assessment)
    permissions.require_approve_assessment(actor, assessment)
    _require_submitted(assessment, "approved")
    _rescore(assessment)
    now = timezone.now()
    superseded = list(
        Assessment.objects.select_for_update(of=("self",))
        .filter(model_id=assessment.model_id, template__key=assessment.template.key, status=AssessmentStatus.APPROVED)
        .exclude(pk=assessment.pk)
        .values_list("pk", flat=True)
    )
    Assessment.objects.filter(pk__in=superseded).update(status=AssessmentStatus.SUPERSEDED, updated_at=now)
    assessment.status = AssessmentStatus.APPROVED
    assessment.reviewer, assessment.reviewed_at, assessment.review_comment = actor, now, (comment or "").strip()
    assessment.valid_until = add_months(timezone.localdate(now), settings.ASSESSMENT_VALID_MONTHS[assessment.tier])
    assessment.expired_at = assessment.due_soon_notified_at = None
    assessment.updated_at = now
    assessment.save()
    audit_record(
        actor=actor,
        action=AuditAction.ASSESSMENT_APPROVED,
        target=assessment,
        changes={
            "status": {"before": AssessmentStatus.SUBMITTED, "after": AssessmentStatus.APPROVED},
            "tier": assessment.tier or None,
            "score": assessment.score,
            "valid_until": assessment.valid_until,
            "comment": assessment.review_comment,
            "superseded": superseded,
        },
    )
    if assessment.template.classifies:
        _model_risk_tier_refresh(actor=actor, model=assessment.model, reason=f"assessment #{assessment.pk} approved")
    return assessment


@transaction.atomic
def assessment_return(*, actor, assessment: Assessment, comment: str) -> Assessment:
    """A risk officer sends a submitted assessment back to its assessor, saying what needs to change."""
    assessment = _locked_assessment(assessment)
    permissions.require_approve_assessment(actor, assessment)
    _require_submitted(assessment, "returned")
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput("Say what needs to change.", fields={"comment": ["Required when returning an assessment."]})
    assessment.status = AssessmentStatus.RETURNED
    assessment.reviewer, assessment.reviewed_at, assessment.review_comment = actor, timezone.now(), comment
    assessment.updated_at = assessment.reviewed_at
    assessment.save()
    audit_record(
        actor=actor,
        action=AuditAction.ASSESSMENT_RETURNED,
        target=assessment,
        changes={"status": {"before": AssessmentStatus.SUBMITTED, "after": assessment.status}, "comment": comment},
    )
    return assessment


@transaction.atomic
def assessment_expire(*, assessment_id: int, today: dt.date | None = None) -> Assessment | None:
    """Mark an approved assessment past its `valid_until` as expired, put the model's tier back to what its
    remaining assessments say (usually unassessed), and notify the owner and the risk officers after commit.
    A conditional UPDATE claims the row, so a redelivered task does nothing twice."""
    today = today or timezone.localdate()
    now = timezone.now()
    claimed = Assessment.objects.filter(
        pk=assessment_id, status=AssessmentStatus.APPROVED, valid_until__lt=today
    ).update(status=AssessmentStatus.EXPIRED, expired_at=now, updated_at=now)
    if not claimed:
        return None
    assessment = Assessment.objects.select_related("template", "model").get(pk=assessment_id)
    audit_record(
        actor=None,
        action=AuditAction.ASSESSMENT_EXPIRED,
        target=assessment,
        changes={
            "status": {"before": AssessmentStatus.APPROVED, "after": AssessmentStatus.EXPIRED},
            "valid_until": assessment.valid_until,
        },
    )
    if assessment.template.classifies:
        _model_risk_tier_refresh(
            actor=None,
            model=assessment.model,
            reason=f"assessment #{assessment.pk} expired (valid until {assessment.valid_until.isoformat()})",
        )
    transaction.on_commit(partial(notifications.assessment_expired, assessment.pk))
    return assessment


@transaction.atomic
def assessment_review_reminder(*, assessment_id: int, today: dt.date | None = None) -> Assessment | None:
    """Once per approval, when `valid_until` is within ASSESSMENT_DUE_SOON_DAYS: record it and tell the owner
    and the risk officers that a re-review is due soon. Claimed by a conditional UPDATE like expiry."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=settings.ASSESSMENT_DUE_SOON_DAYS)
    claimed = Assessment.objects.filter(
        pk=assessment_id,
        status=AssessmentStatus.APPROVED,
        valid_until__gte=today,
        valid_until__lte=horizon,
        due_soon_notified_at__isnull=True,
    ).update(due_soon_notified_at=timezone.now())
    if not claimed:
        return None
    assessment = Assessment.objects.select_related("template", "model").get(pk=assessment_id)
    audit_record(
        actor=None,
        action=AuditAction.ASSESSMENT_REVIEW_DUE_SOON,
        target=assessment,
        changes={"valid_until": assessment.valid_until, "days_left": (assessment.valid_until - today).days},
    )
    transaction.on_commit(partial(notifications.assessment_due_soon, assessment.pk))
    return assessment


# --- Risk assessments: evidence -------------------------------------------------------------------------------


def _evidence_question(assessment: Assessment, question_id: str) -> str:
    if not question_id:
        return ""
    question = questionnaire.questions_by_id(assessment.template.definition).get(question_id)
    if question is None or not (question["evidence"] or question.type == QuestionType.EVIDENCE):
        raise InvalidInput(
            "That question does not take evidence.", fields={"question_id": [f"'{question_id}' takes no evidence."]}
        )
    return question_id


@transaction.atomic
def assessment_evidence_add(
    *, actor, assessment: Assessment, file=None, url: str = "", title: str = "", question_id: str = ""
) -> AssessmentEvidence:
    """Attach a file (stored by digest in the artifact storage) or a link to an assessment, optionally for
    one question. Allowed to whoever may answer it, while it can still be changed."""
    assessment = _locked_assessment(assessment)
    permissions.require_answer_assessment(actor, assessment)
    _require_editable(assessment)
    question_id = _evidence_question(assessment, (question_id or "").strip())
    url = (url or "").strip()
    if (file is None) == (not url):
        raise InvalidInput("Attach either a file or a link.", fields={"file": ["Give a file or a link, not both."]})
    evidence = AssessmentEvidence(assessment=assessment, question_id=question_id, added_by=actor)
    if file is not None:
        stored = evidence_storage.store_file(file)
        evidence.kind = EvidenceKind.FILE
        evidence.storage_name, evidence.sha256, evidence.size = stored.storage_name, stored.sha256, stored.size
        evidence.filename = stored.filename
        evidence.title = (title or "").strip()[:200] or stored.filename
    else:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise InvalidInput("Links must be http(s) addresses.", fields={"url": ["Enter an http(s) URL."]}) from exc
        if len(url) > 2000:
            raise InvalidInput("That link is too long.", fields={"url": ["At most 2,000 characters."]})
        evidence.kind, evidence.url = EvidenceKind.LINK, url
        evidence.title = (title or "").strip()[:200] or url[:200]
    evidence.save()
    _add_contributor(assessment, actor)
    assessment.updated_at = timezone.now()
    assessment.save(update_fields=["contributors", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.ASSESSMENT_EVIDENCE_ADDED,
        target=evidence,
        changes={
            "assessment": assessment.pk,
            "question": question_id or None,
            "kind": evidence.kind,
            "title": evidence.title,
            "url": evidence.url or None,
            "sha256": evidence.sha256 or None,
            "size": evidence.size,
        },
    )
    return evidence


@transaction.atomic
def assessment_evidence_remove(*, actor, evidence: AssessmentEvidence) -> None:
    """Detach evidence while the assessment can still be changed. The blob stays: it is content-addressed
    and may back other evidence, and the audit trail keeps its digest."""
    assessment = _locked_assessment(evidence.assessment)
    permissions.require_answer_assessment(actor, assessment)
    _require_editable(assessment)
    audit_record(
        actor=actor,
        action=AuditAction.ASSESSMENT_EVIDENCE_REMOVED,
        target=evidence,
        changes={"assessment": assessment.pk, "title": evidence.title, "sha256": evidence.sha256 or None},
    )
    evidence.delete()


# --- Risk register --------------------------------------------------------------------------------------------

RISK_FIELDS = (
    "title",
    "description",
    "category",
    "likelihood",
    "impact",
    "residual_likelihood",
    "residual_impact",
    "mitigation",
    "owner",
    "due_date",
    "status",
    "assessment",
    "question_ids",
)
RISK_AUDIT_FIELDS = (*RISK_FIELDS, "inherent_rating", "residual_rating")


def _one_to_five(value: Any, field: str, errors: dict[str, list[str]], *, optional: bool = False) -> int | None:
    if value in (None, "") and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        errors[field] = ["A whole number from 1 to 5."]
        return None
    number = int(value)
    if not 1 <= number <= 5:
        errors[field] = ["A whole number from 1 to 5."]
        return None
    return number


def _risk_apply(risk: Risk, data: Mapping[str, Any]) -> None:
    """Set and check a risk's fields; raise InvalidInput naming every field at fault."""
    unknown = set(data) - set(RISK_FIELDS)
    if unknown:
        raise InvalidInput("These fields cannot be set.", fields={f: ["Unknown field."] for f in sorted(unknown)})
    errors: dict[str, list[str]] = {}
    values = {field: getattr(risk, field) for field in RISK_FIELDS if field not in ("owner", "assessment")}
    values["owner"] = risk.owner if risk.owner_id else None
    values["assessment"] = risk.assessment if risk.assessment_id else None
    values.update(data)
    title = (values["title"] or "").strip()
    if not title or len(title) > 200:
        errors["title"] = ["Required, at most 200 characters."]
    if values["category"] not in RiskCategory.values:
        errors["category"] = [f"One of {', '.join(RiskCategory.values)}."]
    if values["status"] not in RiskStatus.values:
        errors["status"] = [f"One of {', '.join(RiskStatus.values)}."]
    likelihood = _one_to_five(values["likelihood"], "likelihood", errors)
    impact = _one_to_five(values["impact"], "impact", errors)
    residual_likelihood = _one_to_five(values["residual_likelihood"], "residual_likelihood", errors, optional=True)
    residual_impact = _one_to_five(values["residual_impact"], "residual_impact", errors, optional=True)
    if (residual_likelihood is None) != (residual_impact is None) and not errors.keys() & {
        "residual_likelihood",
        "residual_impact",
    }:
        errors["residual_impact"] = ["Give both residual likelihood and impact, or neither."]
    owner = values["owner"]
    if owner is None or not getattr(owner, "is_active", False):
        errors["owner"] = ["Choose an active user."]
    elif not permissions.can(owner, Action.VIEW, risk.model):
        errors["owner"] = [f"{owner.get_username()} cannot see this model."]
    due_date = values["due_date"]
    if due_date not in (None, "") and not isinstance(due_date, dt.date):
        errors["due_date"] = ["A date."]
    assessment = values["assessment"]
    question_ids = list(values["question_ids"] or [])
    if assessment is not None and assessment.model_id != risk.model_id:
        errors["assessment"] = ["That assessment is of another model."]
    elif question_ids:
        known = set(questionnaire.questions_by_id(assessment.template.definition)) if assessment else set()
        unknown_questions = [q for q in question_ids if not isinstance(q, str) or q not in known]
        if unknown_questions:
            errors["question_ids"] = [
                "Link questions of the risk's assessment: " + ", ".join(map(str, unknown_questions)) + " unknown."
            ]
    if errors:
        raise InvalidInput("Some fields are not valid.", fields=errors)
    risk.title, risk.description = title, (values["description"] or "").strip()
    risk.category, risk.status, risk.mitigation = (
        values["category"],
        values["status"],
        (values["mitigation"] or "").strip(),
    )
    risk.likelihood, risk.impact, risk.inherent_rating = likelihood, impact, likelihood * impact
    risk.residual_likelihood, risk.residual_impact = residual_likelihood, residual_impact
    risk.residual_rating = residual_likelihood * residual_impact if residual_likelihood else None
    risk.owner, risk.due_date, risk.assessment = owner, due_date or None, assessment
    risk.question_ids = list(dict.fromkeys(question_ids))


@transaction.atomic
def risk_create(*, actor, model: RegisteredModel, **fields: Any) -> Risk:
    """Add a risk to a model's register. The model's owners and risk officers may."""
    permissions.require_manage_risks(actor, model)
    risk = Risk(model=model, created_by=actor, category=RiskCategory.OTHER, status=RiskStatus.OPEN, question_ids=[])
    risk.title = risk.description = risk.mitigation = ""
    _risk_apply(risk, fields)
    risk.save()
    audit_record(
        actor=actor, action=AuditAction.RISK_CREATED, target=risk, changes=diff({}, snapshot(risk, RISK_AUDIT_FIELDS))
    )
    return risk


@transaction.atomic
def risk_update(*, actor, risk: Risk, data: Mapping[str, Any]) -> Risk:
    """Change a risk of the register (ratings, mitigation, owner, due date, status...)."""
    risk = Risk.objects.select_for_update(of=("self",)).select_related("model", "owner").get(pk=risk.pk)
    permissions.require_manage_risks(actor, risk.model)
    before = snapshot(risk, RISK_AUDIT_FIELDS)
    _risk_apply(risk, data)
    changes = diff(before, snapshot(risk, RISK_AUDIT_FIELDS))
    if not changes:
        return risk
    risk.updated_at = timezone.now()
    risk.save()
    audit_record(actor=actor, action=AuditAction.RISK_UPDATED, target=risk, changes=changes)
    return risk


# --- The audit trail: exports and sign-ins ----------------------------------------------------------------


@dataclass(frozen=True)
class AuditExport:
    """A recorded export: the events to stream (up to `last_seq`, the head when it was asked for)."""

    events: QuerySet
    fmt: str
    first_seq: int | None
    last_seq: int | None


def audit_export(*, actor, filters: Mapping[str, Any], fmt: str) -> AuditExport:
    """Record `audit.exported` (who exported which filter, in which format, up to which event) and return
    the matching events, ascending, frozen at the head as it was: the export never includes its own event.
    Auditors and administrators only."""
    if fmt not in exports.FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}: use csv or jsonl.", fields={"output": ["csv or jsonl"]})
    queryset = selectors.audit_events(user=actor)
    filterset = AuditEventFilter(filters, queryset=queryset)
    if not filterset.is_valid():
        raise InvalidInput(
            "Some filters are not valid.", fields={k: [str(e) for e in v] for k, v in filterset.errors.items()}
        )
    applied = {key: str(value) for key, value in filterset.form.cleaned_data.items() if value not in (None, "")}
    with transaction.atomic():
        head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        events = filterset.qs.filter(seq__lte=head)
        bounds = events.order_by().aggregate(first=Min("seq"), last=Max("seq"))
        audit_record(
            actor=actor,
            action=AuditAction.AUDIT_EXPORTED,
            target_type="audit_trail",
            target_label="audit trail export",
            changes={"format": fmt, "filters": applied, "head_seq": head, **bounds},
        )
    return AuditExport(events=events, fmt=fmt, first_seq=bounds["first"], last_seq=bounds["last"])


@transaction.atomic
def audit_verification_request(*, actor) -> None:
    """An auditor's *Verify now*: recompute the chain and its checkpoints in the background (in-process under
    `make run`). Recorded in the trail; at most one request per AUDIT_VERIFY_NOW_SECONDS, so the button
    cannot be used to load the database."""
    if not permissions.can_read_audit_trail(actor):
        raise PermissionDenied("Verifying the audit trail is open to auditors and administrators.")
    since = timezone.now() - dt.timedelta(seconds=settings.AUDIT_VERIFY_NOW_SECONDS)
    if AuditEvent.objects.filter(action=AuditAction.AUDIT_VERIFICATION_REQUESTED, timestamp__gte=since).exists():
        raise Conflict(
            f"A verification was requested less than {settings.AUDIT_VERIFY_NOW_SECONDS} seconds ago; "
            "its result appears on this page.",
            code="verification_rate_limited",
        )
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_VERIFICATION_REQUESTED,
        target_type="audit_trail",
        target_label="audit trail verification",
        changes={"head_seq": head},
    )
    from governance.tasks import audit_verify

    transaction.on_commit(audit_verify.delay)


@dataclass(frozen=True)
class RecordsExport:
    """A recorded export of the inventory, the risk register or approval records: the bytes to stream."""

    kind: str
    fmt: str
    lines: Iterator[bytes]

    @property
    def content_type(self) -> str:
        return exports.RECORD_FORMATS[self.fmt][0]

    @property
    def filename(self) -> str:
        return f"arbiter-{self.kind}-{timezone.now():%Y%m%d-%H%M%S}.{exports.RECORD_FORMATS[self.fmt][1]}"


def _risk_register(*, user) -> QuerySet:
    return selectors.risk_list(user=user, statuses=None)


EXPORT_KINDS = {
    "inventory": (selectors.model_inventory, exports.inventory_records),
    "risks": (_risk_register, exports.risk_records),
    "approvals": (selectors.approval_records, exports.approval_records),
}


def records_export(*, actor, kind: str, fmt: str) -> RecordsExport:
    """Record `<kind>.exported` (who exported what, in which format) and return the export, restricted to the
    models the actor may see: the model inventory, the risk register (every status) or approval requests
    with their votes. Any signed-in user (a token needs `read`); spreadsheet cells are formula-neutralised."""
    if kind not in EXPORT_KINDS:
        raise NotFound(f"Nothing called {kind!r} can be exported: use {', '.join(EXPORT_KINDS)}.")
    if fmt not in exports.RECORD_FORMATS:
        raise InvalidInput(f"Unknown export format {fmt!r}: use csv or json.", fields={"output": ["csv or json"]})
    permissions.require_scope(actor, TokenScope.READ, "export records")
    select, shape = EXPORT_KINDS[kind]
    queryset = select(user=actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction(f"{kind}.exported"),
            target_type="export",
            target_label=f"{kind} export",
            changes={"format": fmt},
        )
    return RecordsExport(kind=kind, fmt=fmt, lines=exports.record_lines(kind, shape(queryset), fmt))


def auth_login_record(*, user, request=None) -> None:
    """Record a successful sign-in (called from Django's `user_logged_in` signal)."""
    with transaction.atomic():
        audit_record(actor=user, action=AuditAction.LOGIN_SUCCEEDED, target=user, target_type="user")


def auth_logout_record(*, user, request=None) -> None:
    """Record a sign-out (`user_logged_out`); nothing when no one was signed in."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    with transaction.atomic():
        audit_record(actor=user, action=AuditAction.LOGOUT, target=user, target_type="user")


def auth_login_failed_record(*, username: str) -> None:
    """Record a failed sign-in by the system actor, naming the attempted username (never the password)."""
    username = str(username or "")[:150]
    with transaction.atomic():
        audit_record(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            target_type="user",
            target_id=username,
            target_label=username,
            changes={"username": username},
        )
