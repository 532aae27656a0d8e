"""MLflow's JSON shapes for registered models and model versions (timestamps in epoch milliseconds, version
numbers as strings, tags as key/value lists), plus a few Arbiter fields the client ignores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from registry.choices import Stage
from registry.models import ModelVersion, RegisteredModel

STAGE_TO_MLFLOW = {
    Stage.DEVELOPMENT: "None",
    Stage.STAGING: "Staging",
    Stage.PRODUCTION: "Production",
    Stage.ARCHIVED: "Archived",
}
MLFLOW_TO_STAGE = {label.lower(): stage for stage, label in STAGE_TO_MLFLOW.items()}


def epoch_ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment else None


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in tags.items()]


def model_version(version: ModelVersion) -> dict[str, Any]:
    """Reads `listed_files` and `listed_aliases`, as `version_search`'s prefetches leave them."""
    artifacts = version.listed_files
    pending = any(artifact.in_progress for artifact in artifacts)
    body = {
        "name": version.model.name,
        "version": str(version.version),
        "creation_timestamp": epoch_ms(version.created_at),
        "last_updated_timestamp": epoch_ms(version.updated_at),
        "user_id": version.created_by.get_username() if version.created_by else "",
        "current_stage": STAGE_TO_MLFLOW[version.stage],
        "description": version.description,
        "source": version.source,
        "run_id": version.run_id,
        "run_link": version.run_link,
        "status": "PENDING_REGISTRATION" if pending else "READY",
        "tags": tag_list(version.tags),
        "aliases": sorted(alias.name for alias in version.listed_aliases),
        # Arbiter's own fields (MLflow clients ignore unknown fields).
        "arbiter_stage": version.stage,
        "artifacts": [
            {"filename": a.filename, "sha256": a.sha256 or None, "size": a.size, "status": a.status} for a in artifacts
        ],
    }
    if pending:
        body["status_message"] = "Arbiter is still validating this version's files."
    return body


def registered_model(model: RegisteredModel) -> dict[str, Any]:
    """Reads `listed_aliases` and `latest_per_stage` (newest version per stage), as `model_search`'s prefetches
    leave them."""
    latest = sorted(getattr(model, "latest_per_stage", []), key=lambda v: v.version)
    return {
        "name": model.name,
        "creation_timestamp": epoch_ms(model.created_at),
        "last_updated_timestamp": epoch_ms(model.updated_at),
        "user_id": model.owner.get_username(),
        "description": model.description,
        "latest_versions": [model_version(version) for version in latest],
        "tags": tag_list(model.tags),
        "aliases": [{"alias": alias.name, "version": str(alias.version.version)} for alias in model.listed_aliases],
        "risk_tier": model.risk_tier,
        "visibility": model.visibility,
        "production_version": str(model.production_version) if model.production_version else None,
    }
