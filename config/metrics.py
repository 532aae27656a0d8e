"""Arbiter's own Prometheus metrics, next to django-prometheus's request, database and cache metrics.

Counters are incremented where things happen; the gauges that describe the state of the registry (artifacts by
status, queue depth, audit chain, approvals, assessments, webhooks) are read from the database and the broker
when `/metrics` is scraped (`RegistryCollector`), so every web process reports the same values. Under gunicorn,
set `PROMETHEUS_MULTIPROC_DIR` so counters from every worker process are added up (docs/operations.md).
"""

from __future__ import annotations

from prometheus_client import Counter

THROTTLE_FALLBACKS = Counter(
    "arbiter_throttle_fallback",
    "API requests whose rate limit was counted in process memory because the shared cache was unreachable.",
)
