"""Arbiter's own Prometheus counters, next to django-prometheus's request, database and cache metrics.

Counters are incremented where things happen (any process: web, worker). The gauges that describe the state of
the registry are read from the database and the broker when `/metrics` is scraped (governance/metrics.py).
Under gunicorn or a prefork Celery worker, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory per host so the
counters of every child process are added up (docs/operations.md).
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter
from prometheus_client.multiprocess import MultiProcessCollector

THROTTLE_FALLBACKS = Counter(
    "arbiter_throttle_fallback",
    "API requests whose rate limit was counted in process memory because the shared cache was unreachable.",
)
TASKS = Counter(
    "arbiter_tasks", "Celery tasks run, by task name and outcome (success, failure, retry).", ["task", "outcome"]
)


def process_registry() -> CollectorRegistry:
    """The registry to export: every process's counters in multiprocess mode, else this process's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry
