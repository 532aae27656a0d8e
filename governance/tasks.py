"""Governance's periodic work, as thin Celery tasks."""

from celery import shared_task

from governance import services


@shared_task
def expire_approvals() -> int:
    return services.approvals_expire()
