"""Governance writes: committees, policies, approval requests, votes, and the lifecycle gate.

`version_transition` and `alias_set` are the one door through which every stage change and every move of
the production alias passes, from the browser, the v1 API, the MLflow-compatible API, the admin and the
management commands. Nothing reaches production without an approved, unexpired decision bound to the
version's file digests, except through `version_break_glass`, which an administrator must justify in
writing and which is flagged in the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from guardian.shortcuts import assign_perm

from governance import gate
from governance.audit import audit_record, diff, snapshot
from governance.models import ApprovalPolicy, ApprovalRequest, Committee, CommitteeMembership, Notification, Vote
from governance.quorum import Outcome, QuorumRule, evaluate
from registry import permissions
from registry import services as registry_services
from registry.choices import ArtifactStatus, Stage
from registry.exceptions import Conflict, InvalidInput
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
        body = f"{message}\n\nOpen it in Arbiter: {link}\n"
        batch = [(f"[Arbiter] {message[:120]}", body, settings.DEFAULT_FROM_EMAIL, [email]) for email in emails]
        transaction.on_commit(lambda: _send(batch))


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
        action="committee.created",
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
        audit_record(actor=actor, action="committee.updated", target=committee, changes=changes)
    return committee


@transaction.atomic
def committee_member_set(*, actor, committee: Committee, user, role: str = "member") -> CommitteeMembership:
    """Add a member, or change their role (`chair` or `member`)."""
    permissions.require_committee_management(actor)
    if role not in ("chair", "member"):
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
            action="committee.member_set",
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
        actor=actor, action="committee.member_removed", target=committee, changes={"member": user.get_username()}
    )


POLICY_FIELDS = ("allowed", "require_metadata", "require_assessment", "note")


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
        audit_record(actor=actor, action="policy.updated", target=policy, target_label=str(policy), changes=changes)
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
                },
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
        action="approval.requested",
        target=request,
        changes={
            "version": version.version,
            "target_stage": target_stage,
            "committees": [c.slug for c in plan.committees],
            "justification": request.justification,
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
        approvals=sum(1 for v in votes if v.decision == "approve"),
        rejections=sum(1 for v in votes if v.decision == "reject"),
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


def _decide(request: ApprovalRequest, *, status: str, reason: str, actor) -> None:
    now = timezone.now()
    before = request.status
    request.status = status
    request.decided_at = now
    request.decision_reason = reason
    if status == "approved":
        request.valid_until = gate.approval_validity()
        request.artifact_digests = gate.current_digests(request.version)
    request.save()
    audit_record(
        actor=actor,
        action="approval.decided",
        target=request,
        changes={
            "status": {"before": before, "after": status},
            "reason": reason,
            "round": request.round,
            "artifact_digests": request.artifact_digests if status == "approved" else None,
            "valid_until": request.valid_until if status == "approved" else None,
        },
    )
    verb = {"approved": "approved", "rejected": "rejected", "changes_requested": "returned for changes"}[status]
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
    if decision not in ("approve", "reject", "request_changes"):
        raise InvalidInput("Vote approve, reject or request_changes.", fields={"decision": ["Unknown decision."]})
    if decision in ("reject", "request_changes") and not (comment or "").strip():
        raise InvalidInput("Explain a rejection or a change request.", fields={"comment": ["Required."]})
    flagged = gate.flagged_artifacts(request.version)
    if decision == "approve" and flagged and not accept_flagged:
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
                accepted_flagged=bool(flagged and accept_flagged and decision == "approve"),
            )
    except IntegrityError as exc:
        raise Conflict("You already voted on this round; votes cannot be edited.", code="already_voted") from exc
    audit_record(
        actor=actor,
        action="vote.cast",
        target=vote,
        target_label=f"{actor.get_username()} on request #{request.pk} ({committee.name})",
        changes={"decision": decision, "comment": vote.comment, "round": request.round, "committee": committee.slug},
    )
    if vote.accepted_flagged:
        request.accepted_flagged = {**request.accepted_flagged, **{a.filename: a.sha256 for a in flagged}}
        request.save(update_fields=["accepted_flagged"])
    if decision == "request_changes":
        _decide(request, status="changes_requested", reason=vote.comment, actor=actor)
        return vote
    tallies = request_tallies(request)
    rejected = [(c, t) for c, t in tallies if t.outcome == Outcome.REJECTED]
    if rejected:
        reason = "; ".join(f"{c.name}: {t.reason}" for c, t in rejected)
        _decide(request, status="rejected", reason=reason, actor=actor)
    elif all(t.outcome == Outcome.APPROVED for _, t in tallies):
        problems = gate.precondition_problems(
            request.version,
            request.target_stage,
            gate.policy_for(request.version.model.risk_tier, request.target_stage),
        )
        if problems:
            _decide(
                request,
                status="changes_requested",
                reason="Quorum reached, but not ready: " + " ".join(p.message for p in problems),
                actor=actor,
            )
        else:
            _decide(request, status="approved", reason="All required committees reached quorum.", actor=actor)
    return vote


@transaction.atomic
def approval_request_resubmit(*, actor, request: ApprovalRequest, justification: str = "") -> ApprovalRequest:
    """Send a request returned for changes back to its committees as a new round (old votes stay)."""
    request = (
        ApprovalRequest.objects.select_for_update(of=("self",)).select_related("version__model").get(pk=request.pk)
    )
    permissions.require(actor, Action.SUBMIT, request)
    if request.status != "changes_requested":
        raise Conflict("Only a request returned for changes can be resubmitted.", code="not_returned")
    plan = gate.route(request.version, request.target_stage)
    _refuse_if_problems(
        plan.problems + gate.precondition_problems(request.version, request.target_stage, plan.policy),
        "The request is still not ready",
    )
    before = request.round
    request.round += 1
    request.status = "open"
    request.decided_at = None
    request.decision_reason = ""
    request.accepted_flagged = {}
    if justification.strip():
        request.justification = justification.strip()
    request.save()
    audit_record(
        actor=actor,
        action="approval.resubmitted",
        target=request,
        changes={"round": {"before": before, "after": request.round}, "justification": request.justification},
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
    request = (
        ApprovalRequest.objects.select_for_update(of=("self",)).select_related("version__model").get(pk=request.pk)
    )
    permissions.require(actor, Action.SUBMIT, request)
    if request.status not in ("open", "changes_requested", "approved"):
        raise Conflict(
            f"A {request.get_status_display().lower()} request cannot be withdrawn.", code="not_withdrawable"
        )
    before = request.status
    request.status = "withdrawn"
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    audit_record(
        actor=actor,
        action="approval.withdrawn",
        target=request,
        changes={"status": {"before": before, "after": "withdrawn"}, "reason": reason.strip()},
    )
    return request


def approvals_expire() -> int:
    """Periodic: approvals not used for a promotion within APPROVAL_VALID_DAYS expire."""
    expired = 0
    now = timezone.now()
    for request_id in ApprovalRequest.objects.filter(status="approved", valid_until__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            request = (
                ApprovalRequest.objects.select_for_update(of=("self",))
                .select_related("version__model")
                .get(pk=request_id)
            )
            if request.status != "approved":
                continue
            request.status = "expired"
            request.save(update_fields=["status"])
            audit_record(
                actor=None,
                action="approval.expired",
                target=request,
                changes={"status": {"before": "approved", "after": "expired"}},
            )
            expired += 1
    return expired


# --- The gate ------------------------------------------------------------------------------------------------


def _gate_decision(*, actor, version: ModelVersion, stage: str) -> dict | None:
    """Authorise moving `version` to `stage`, or raise with what is missing. Returns the decision to cite."""
    plan = gate.route(version, stage)
    if plan.problems:
        raise PermissionDenied(" ".join(p.message for p in plan.problems))
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
    *, actor, version: ModelVersion, stage: str, justification: str = "", archive_existing: bool = True
) -> ModelVersion:
    """Move a version through its lifecycle: the lifecycle rules, then the policy and approval gate. A
    promotion to production archives the version it replaces (unless `archive_existing` is False) and marks
    the approval used."""
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    permissions.require(actor, Action.CHANGE, version)
    refusal = registry_services.transition_refusal(version.stage, stage)
    if refusal:
        raise Conflict(refusal, code="illegal_transition")
    decision = None
    if stage in (Stage.STAGING, Stage.PRODUCTION) and not (
        version.stage == Stage.PRODUCTION and stage == Stage.STAGING
    ):
        decision = _gate_decision(actor=actor, version=version, stage=stage)
    if stage == Stage.PRODUCTION:
        replaced = list(
            version.model.versions.filter(stage=Stage.PRODUCTION).exclude(pk=version.pk).order_by("version")
        )
    moved = registry_services.version_stage_apply(
        actor=actor, version=version, stage=stage, gate_decision=decision, reason=justification
    )
    if decision and decision.get("approval_request"):
        ApprovalRequest.objects.filter(pk=decision["approval_request"], status="approved").update(
            status="promoted", promoted_at=timezone.now()
        )
    if stage == Stage.PRODUCTION and archive_existing:
        for old in replaced:
            registry_services.version_stage_apply(
                actor=actor, version=old, stage=Stage.ARCHIVED, reason=f"replaced in production by v{version.version}"
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
    previous = (
        ApprovalRequest.objects.filter(version__model=model, target_stage=Stage.PRODUCTION, status="promoted")
        .exclude(version=current)
        .select_related("version")
        .order_by("-promoted_at")
        .first()
    )
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
        action="model.rolled_back",
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
        action="version.break_glass",
        target=moved,
        changes={"stage": {"before": before, "after": stage}, "justification": text, "flagged": True},
    )
    return moved
