"""Governance writes. `version_transition` is the one door through which every stage change passes, from
the browser, the v1 API, the MLflow-compatible API, the admin and management commands."""

from __future__ import annotations

from django.db import transaction

from registry import permissions
from registry import services as registry_services
from registry.choices import ArtifactStatus, Stage
from registry.exceptions import Conflict
from registry.models import ModelVersion
from registry.permissions import Action


def _production_gate(*, actor, version: ModelVersion) -> dict:
    """The decision that authorises putting `version` into production, or an exception saying what is missing.

    Foundation: anyone who may change the model passes. The approval workflow replaces this with the
    committee gate; every production path (stage and alias, browser, APIs, admin) already comes through here.
    """
    permissions.require(actor, Action.CHANGE, version)
    return {"gate": "ungated"}


@transaction.atomic
def alias_set(*, actor, model, name: str, version: ModelVersion):
    """Point an alias at a version; the `production` alias passes the production gate first."""
    gate_decision = None
    if name == registry_services.PRODUCTION_ALIAS:
        gate_decision = _production_gate(actor=actor, version=version)
    return registry_services.alias_apply(
        actor=actor, model=model, name=name, version=version, gate_decision=gate_decision
    )


def _artifact_gate(version: ModelVersion) -> None:
    """A version leaves development only when every one of its files was validated as safe."""
    blocking = [a for a in version.artifacts.order_by("filename") if a.status != ArtifactStatus.VALID]
    if blocking:
        listed = "; ".join(f"{a.filename} is {a.get_status_display().lower()}" for a in blocking)
        raise Conflict(
            f"v{version.version} cannot leave development until all its files are valid: {listed}.",
            code="artifacts_not_valid",
        )


@transaction.atomic
def version_transition(*, actor, version: ModelVersion, stage: str, justification: str = "") -> ModelVersion:
    """Move a version through its lifecycle after checking who asks and whether the move is allowed."""
    permissions.require(actor, Action.CHANGE, version)
    if version.stage == Stage.DEVELOPMENT and stage in (Stage.STAGING, Stage.PRODUCTION):
        _artifact_gate(version)
    gate_decision = _production_gate(actor=actor, version=version) if stage == Stage.PRODUCTION else None
    return registry_services.version_stage_apply(
        actor=actor, version=version, stage=stage, gate_decision=gate_decision, reason=justification
    )
