"""Governance's periodic work, as thin Celery tasks."""

from __future__ import annotations

from celery import shared_task

from governance import checkpoints, selectors, services


@shared_task
def expire_approvals() -> int:
    return services.approvals_expire()


@shared_task
def assessments_review() -> dict[str, int]:
    """Periodic (CELERY_BEAT_SCHEDULE): expire assessments past `valid_until`, remind of re-reviews due soon."""
    expired = [services.assessment_expire(assessment_id=pk) for pk in selectors.assessments_to_expire()]
    reminded = [services.assessment_review_reminder(assessment_id=pk) for pk in selectors.assessments_due_soon()]
    return {
        "expired": sum(1 for a in expired if a is not None),
        "reminded": sum(1 for a in reminded if a is not None),
    }


@shared_task
def audit_checkpoint() -> int | None:
    """Periodic: write the chain head to `audit-checkpoints/` (nothing when no event was added since)."""
    checkpoint = checkpoints.checkpoint_write()
    return checkpoint.seq if checkpoint else None


@shared_task
def audit_verify() -> bool:
    """Periodic: recompute the chain, compare it with every checkpoint, and store the outcome."""
    return checkpoints.verification_run().ok
