"""Governance writes. `version_transition` is the one door through which every stage change passes, from
the browser, the v1 API, the MLflow-compatible API, the admin and management commands."""

from __future__ import annotations

from django.db import transaction

from registry import permissions
from registry import services as registry_services
from registry.choices import Stage
from registry.models import ModelVersion
from registry.permissions import Action


@transaction.atomic
def version_transition(*, actor, version: ModelVersion, stage: str, justification: str = "") -> ModelVersion:
    """Move a version through its lifecycle after checking who asks and whether the move is allowed."""
    permissions.require(actor, Action.CHANGE, version)
    gate_decision = None
    if stage == Stage.PRODUCTION:
        # Foundation: production is reachable by anyone who may change the model. The approval workflow
        # replaces this with the committee gate.
        gate_decision = {"gate": "ungated"}
    return registry_services.version_stage_apply(
        actor=actor, version=version, stage=stage, gate_decision=gate_decision, reason=justification
    )
