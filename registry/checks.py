"""System checks on the deployment: what `manage.py check --deploy` says about settings that make Arbiter's
defences weaker than documented."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@checks.register(checks.Tags.security, checks.Tags.caches, deploy=True)
def shared_cache_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """API throttle counters live in the default cache: with a per-process cache, every worker process keeps
    its own counters and each budget (THROTTLE_USER, THROTTLE_ANON, THROTTLE_UPLOADS) is multiplied by the
    number of processes."""
    if settings.DEBUG or settings.CACHES["default"]["BACKEND"] not in PER_PROCESS_CACHES:
        return []
    return [
        checks.Error(
            "No shared cache: API throttle counters would be kept per process, so every throttle budget is "
            "multiplied by the number of worker processes.",
            hint="Set CACHE_URL (or REDIS_URL) to a Redis every Arbiter process shares.",
            id="arbiter.E010",
        )
    ]
