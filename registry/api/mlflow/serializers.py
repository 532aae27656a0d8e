"""MLflow's JSON shapes for registered models and model versions (timestamps in epoch milliseconds, version
numbers as strings, tags as key/value lists), plus a few Arbiter fields the client ignores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from registry.choices import ArtifactStatus, ImportStatus, Stage
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


FAILED_FILES = (ArtifactStatus.REJECTED, ArtifactStatus.ERROR, ArtifactStatus.CORRUPTED)


def registration_status(version: ModelVersion, artifacts: list) -> tuple[str, str]:
    """MLflow's status and status message: PENDING_REGISTRATION while the source's files are imported or any
    file is validated, FAILED_REGISTRATION (with the reason) if the import failed or a file was refused,
    READY otherwise."""
    if version.import_status in (ImportStatus.PENDING, ImportStatus.IMPORTING):
        return "PENDING_REGISTRATION", f"Arbiter is importing the files under {version.source}."
    if any(artifact.in_progress for artifact in artifacts):
        return "PENDING_REGISTRATION", "Arbiter is still validating this version's files."
    if version.import_status == ImportStatus.FAILED:
        return "FAILED_REGISTRATION", f"Importing the files under {version.source} failed: {version.import_message}"
    failed = [artifact for artifact in artifacts if artifact.status in FAILED_FILES]
    if failed:
        reasons = "; ".join(
            f"{a.filename} is {a.get_status_display().lower()}"
            + (f" ({a.findings[0]['message']})" if a.findings and a.findings[0].get("message") else "")
            for a in failed
        )
        return "FAILED_REGISTRATION", f"Arbiter refused files of this version: {reasons}."
    return "READY", ""


def model_version(version: ModelVersion) -> dict[str, Any]:
    """Reads `listed_files` and `listed_aliases`, as `version_search`'s prefetches leave them."""
    artifacts = version.listed_files
    status, message = registration_status(version, artifacts)
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
        "status": status,
        "tags": tag_list(version.tags),
        "aliases": sorted(alias.name for alias in version.listed_aliases),
        # Arbiter's own fields (MLflow clients ignore unknown fields).
        "arbiter_stage": version.stage,
        "artifacts": [
            {"filename": a.filename, "sha256": a.sha256 or None, "size": a.size, "status": a.status} for a in artifacts
        ],
    }
    if message:
        body["status_message"] = message
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
