"""Governance reads, restricted to what the user may see."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import Http404

from governance.models import ApprovalPolicy, ApprovalRequest, AuditEvent, Committee, Notification
from registry import permissions
from registry.choices import Stage
from registry.models import RegisteredModel
from registry.permissions import Action


def audit_events(*, user) -> QuerySet:
    """The whole trail, newest first: auditors and administrators only."""
    if not permissions.can_read_audit_trail(user):
        raise PermissionDenied("The audit trail is open to auditors and administrators.")
    return AuditEvent.objects.order_by("-seq")


def model_history(*, user, model) -> QuerySet:
    """The events of one model and everything that belongs to it, for anyone who may view the model."""
    permissions.require(user, permissions.Action.VIEW, model)
    return AuditEvent.objects.filter(model_id=model.pk).order_by("-seq")


# --- Approvals ----------------------------------------------------------------------------------------------


def _requests():
    return ApprovalRequest.objects.select_related("version__model", "submitted_by").prefetch_related("committees")


def requests_to_review(*, user) -> QuerySet:
    """Open requests routed to a committee the user sits on (whether or not they may vote on each)."""
    return (
        permissions.restrict(_requests(), user, Action.VIEW)
        .filter(status="open", committees__memberships__user=user)
        .distinct()
        .order_by("-submitted_at")
    )


def requests_awaiting_vote_count(*, user) -> int:
    """How many open requests routed to the user's committees they have not voted on (navigation badge)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return (
        ApprovalRequest.objects.filter(status="open", committees__memberships__user=user)
        .exclude(votes__voter=user, votes__round=F("round"))
        .exclude(submitted_by=user)
        .values("pk")
        .distinct()
        .count()
    )


def requests_submitted(*, user) -> QuerySet:
    return permissions.restrict(_requests(), user, Action.VIEW).filter(submitted_by=user).order_by("-submitted_at")


def request_get(*, user, request_id) -> ApprovalRequest:
    found = permissions.restrict(_requests(), user, Action.VIEW).filter(pk=request_id).first()
    if found is None:
        raise Http404("No such approval request, or you do not have access to it.")
    return found


def version_requests(*, user, version) -> QuerySet:
    permissions.require(user, Action.VIEW, version)
    return _requests().filter(version=version).order_by("-submitted_at")


def committees() -> QuerySet:
    return Committee.objects.prefetch_related("memberships__user").order_by("name")


def policies() -> QuerySet:
    return ApprovalPolicy.objects.prefetch_related("committees").order_by("target_stage", "risk_tier")


def unread_notifications_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications(*, user) -> QuerySet:
    return Notification.objects.filter(user=user).order_by("-created_at")


def break_glass_events(*, user) -> QuerySet:
    """Break-glass uses, for the dashboard: the whole trail for auditors and administrators, else the
    user's visible models only."""
    events = AuditEvent.objects.filter(action="version.break_glass").order_by("-seq")
    if permissions.can_read_audit_trail(user):
        return events
    visible = permissions.restrict(RegisteredModel.objects.all(), user, Action.VIEW).values("pk")
    return events.filter(model_id__in=visible)


def production_history(*, user, model) -> list[dict]:
    """What was in production when, from the audit trail: every move into or out of production."""
    permissions.require(user, Action.VIEW, model)
    rows = []
    for event in AuditEvent.objects.filter(model_id=model.pk, action="version.stage_changed").order_by("seq"):
        stage = event.changes.get("stage", {})
        if Stage.PRODUCTION in (stage.get("before"), stage.get("after")):
            rows.append(
                {
                    "when": event.timestamp,
                    "version": event.target_label,
                    "entered": stage.get("after") == Stage.PRODUCTION,
                    "by": event.actor_label,
                    "authorised_by": event.changes.get("authorised_by"),
                    "reason": event.changes.get("reason", ""),
                    "seq": event.seq,
                }
            )
    return rows


def models_in_production(*, user) -> QuerySet:
    return (
        permissions.restrict(RegisteredModel.objects.all(), user, Action.VIEW)
        .filter(production_version__isnull=False)
        .order_by("name")
    )
