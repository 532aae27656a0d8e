"""Governance's periodic work, as thin Celery tasks."""

from __future__ import annotations

from celery import shared_task

from governance import checkpoints, selectors, services, webhooks


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


@shared_task(bind=True, max_retries=None)
def deliver_webhook(self, delivery_pk: int) -> None:
    """One attempt of a webhook delivery; on failure, retried after `webhooks.backoff(attempt)` seconds until
    WEBHOOK_MAX_ATTEMPTS. Safe to deliver twice: the service claims each attempt with a conditional update."""
    wait = webhooks.delivery_attempt(delivery_pk=delivery_pk)
    if wait is not None:
        raise self.retry(countdown=wait)


@shared_task
def webhooks_requeue() -> int:
    """Periodic: enqueue pending deliveries whose task was lost (broker down, worker killed)."""
    return sum(webhooks.enqueue(pk) for pk in webhooks.deliveries_to_requeue())


@shared_task
def audit_checkpoint() -> int | None:
    """Periodic: write the chain head to `audit-checkpoints/` (nothing when no event was added since)."""
    checkpoint = checkpoints.checkpoint_write()
    return checkpoint.seq if checkpoint else None


@shared_task
def audit_verify() -> bool:
    """Periodic: recompute the chain, compare it with every checkpoint, and store the outcome."""
    return checkpoints.verification_run().ok
