"""The Celery application. Tasks live in each app's `tasks.py`; the beat schedule is in settings, and so are the
queues: `route_task` sends the long artifact tasks to the validation queue, everything else to the default one."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("arbiter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.loader.import_module("config.logs")  # carries the request id into tasks (task headers)

# Tasks that can run for minutes on one file (hashing and scanning a 50 GB checkpoint).
VALIDATION_TASKS = frozenset(
    {"registry.tasks.validate_artifact", "registry.tasks.scrub_artifacts", "registry.tasks.import_version_files"}
)


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router (CELERY_TASK_ROUTES): the validation queue for `VALIDATION_TASKS`; None (the default queue,
    CELERY_QUEUE) for notifications, webhooks, exports and the periodic sweeps."""
    if name in VALIDATION_TASKS:
        return {"queue": app.conf.validation_queue}
    return None


@signals.task_postrun.connect
def _count_task(sender=None, state=None, **kwargs):
    """Tasks by outcome, for /metrics (config.metrics.TASKS)."""
    from config.metrics import TASKS

    TASKS.labels(task=getattr(sender, "name", "unknown"), outcome=(state or "unknown").lower()).inc()


@signals.worker_init.connect
def _serve_worker_metrics(**kwargs):
    """With WORKER_METRICS_PORT set, a worker serves its task counters on that port for Prometheus."""
    from django.conf import settings

    if settings.WORKER_METRICS_PORT:
        from prometheus_client import start_http_server

        from config.metrics import process_registry

        start_http_server(settings.WORKER_METRICS_PORT, registry=process_registry())
