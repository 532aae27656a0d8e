"""Celery tasks for artifacts: thin wrappers that fetch by id and call a service.

`validate_artifact` and `import_version_files` are safe to deliver twice (the services claim the artifact or the
version with a conditional update) and survive a worker dying mid-run (acks_late + reject_on_worker_lost: the
message is redelivered).
Storage errors are retried with exponential backoff; the attempt counter in the database stops a file
that keeps crashing workers from looping forever.
"""

from __future__ import annotations

from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.conf import settings

from registry import services
from registry.choices import ArtifactStatus
from registry.models import Artifact

# Tasks that read and write the artifact storage: acknowledged after they finish (a worker that dies mid-way
# leaves the task to be redelivered), retried with backoff while the storage is unreachable.
STORAGE_TASK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OSError, BotoCoreError, ClientError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**STORAGE_TASK)
def validate_artifact(artifact_id: int) -> str | None:
    artifact = services.artifact_validate(artifact_id=artifact_id)
    return artifact.status if artifact else None


@shared_task
def requeue_stale_artifacts() -> int:
    return len(services.artifacts_requeue_stale())


@shared_task
def scrub_artifacts() -> int:
    """Re-hash every decided artifact's blob; returns how many were found corrupted."""
    corrupted = 0
    decided = [ArtifactStatus.VALID, ArtifactStatus.NEEDS_REVIEW, ArtifactStatus.REJECTED]
    for artifact in Artifact.objects.filter(status__in=decided).select_related("version__model").iterator():
        if services.artifact_verify(artifact=artifact).status == ArtifactStatus.CORRUPTED:
            corrupted += 1
    return corrupted


@shared_task(**STORAGE_TASK)
def import_version_files(version_id: int) -> str | None:
    """Import the files under a version's allowed source (safe to deliver twice, like `validate_artifact`)."""
    version = services.version_import(version_id=version_id)
    return version.import_status if version else None


@shared_task
def blobs_gc() -> int:
    """Periodic when BLOBS_GC_EVERY_HOURS is set: delete stored files no artifact references, past the grace
    period (BLOBS_GC_GRACE_HOURS). Returns the bytes freed."""
    grace = timedelta(hours=settings.BLOBS_GC_GRACE_HOURS)
    freed = [services.blob_collect(actor=None, key=key) for key, _ in services.blobs_unreferenced(older_than=grace)]
    return sum(size for size in freed if size)
