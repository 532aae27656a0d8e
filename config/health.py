"""Health endpoints (django-health-check): `GET /health/live` says the process answers; `GET /health/ready` says
whether this instance can serve: the database reachable and fully migrated, the cache, the artifact storage
(write, read, delete), the Celery broker, and whether API rate limits are counted in the shared cache.

Both answer JSON (`{"<check>": "OK" | "<problem>"}`, 500 when a check fails), plain text with `Accept: text/plain`
and OpenMetrics with `?format=openmetrics`. `manage.py health_check health-ready` runs the same checks over
HTTP (or in-process with `--no-http`) and exits non-zero when one fails: a container health check.
"""

from __future__ import annotations

import dataclasses

from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from health_check.base import HealthCheck
from health_check.checks import Cache, Database, Storage
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView

from config.cache import shared_cache_outage

_MIGRATED: set[str] = set()  # database aliases found fully migrated by this process


@dataclasses.dataclass
class Migrated(HealthCheck):
    """Every migration this code ships has been applied (an instance started before `migrate` is not ready)."""

    alias: str = DEFAULT_DB_ALIAS

    def run(self):
        if self.alias in _MIGRATED:  # applied migrations are not taken back while this code runs
            return
        connection = connections[self.alias]
        try:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception as exc:  # noqa: BLE001  (any database error: not ready)
            raise ServiceUnavailable("cannot read the applied migrations") from exc
        finally:
            connection.close()  # this runs in a worker thread: leave no connection behind
        if pending:
            raise ServiceUnavailable(f"{len(pending)} migration(s) not applied: run `manage.py migrate`")
        _MIGRATED.add(self.alias)


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (nothing to reach when tasks run in-process)."""

    def run(self):
        from config.celery import app

        if app.conf.task_always_eager:
            return
        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=3)
        except Exception as exc:  # noqa: BLE001  (kombu raises its transport's errors)
            raise ServiceUnavailable("the Celery broker cannot be reached") from exc


@dataclasses.dataclass
class ThrottleCounters(HealthCheck):
    """API rate limits are counted in the shared cache, not per process (registry.api.throttling)."""

    def run(self):
        since = shared_cache_outage.since
        if since is not None:
            raise ServiceWarning(f"shared cache unreachable since {since.isoformat()}: rate limits are per process")


class _JsonHealthView(HealthCheckView):
    """django-health-check's view without its HTML page (which carries inline styles our CSP refuses): browsers
    get the JSON too."""

    def render_to_response(self, context, **response_kwargs):
        return self.render_to_response_json(response_kwargs.get("status", 200))


@dataclasses.dataclass
class Process(HealthCheck):
    """This process serves requests."""

    def run(self):
        return


live = login_not_required(_JsonHealthView.as_view(checks=(Process,)))
ready = login_not_required(
    _JsonHealthView.as_view(
        checks=(
            Database,
            Migrated,
            Cache,
            (Storage, {"alias": "artifacts"}),
            Broker,
            ThrottleCounters,
        )
    )
)
