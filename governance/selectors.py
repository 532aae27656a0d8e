"""Governance reads, restricted to what the user may see."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from governance.models import AuditEvent
from registry import permissions


def audit_events(*, user) -> QuerySet:
    """The whole trail, newest first: auditors and administrators only."""
    if not permissions.can_read_audit_trail(user):
        raise PermissionDenied("The audit trail is open to auditors and administrators.")
    return AuditEvent.objects.order_by("-seq")


def model_history(*, user, model) -> QuerySet:
    """The events of one model and everything that belongs to it, for anyone who may view the model."""
    permissions.require(user, permissions.Action.VIEW, model)
    return AuditEvent.objects.filter(model_id=model.pk).order_by("-seq")
