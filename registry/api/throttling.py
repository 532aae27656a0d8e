"""API rate limits.

- `ClientThrottle` (rate `user`): per API token, or per signed-in user for session requests, so two
  pipelines of one service account do not starve each other.
- `AnonymousThrottle` (rate `anon`): per client address for requests without credentials. Failed bearer
  tokens count against the same budget (`throttle_failed_authentication`), so guessing tokens is slow.
- `ScopedThrottle`: the budget named by the view's `throttle_scope`, per token or user like `ClientThrottle`.
  Upload views set `throttle_classes = UPLOAD_THROTTLES` and `throttle_scope = "uploads"`: a tighter rate,
  spent instead of the general one (an upload is one request however large the file).

Rates are `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`, set from the environment (README's configuration
table) and read on every request. Counters live in Django's default cache: Redis when `CACHE_URL` or
`REDIS_URL` is set, so every worker process shares them. Each budget is a sliding-window counter
(`SlidingWindowThrottle`): two integers per client, one Redis round trip per request, where DRF's own throttle
keeps a list of every request's timestamp in the window and reads and rewrites it on each request (at a rate of
1,200 a minute, a 10 kB pickle twice per request). A throttled request answers 429 in the API's error
shape with `Retry-After`. Client addresses come from REMOTE_ADDR only (`governance.audit.client_ip`).

When the shared cache does not answer, every budget is counted in this process's memory instead (the same
rates, per process) until it is back: the outage is logged once, counted in `/metrics`
(`arbiter_throttle_fallback_total`) and shown by `/health/ready`; the API keeps answering.
"""

from __future__ import annotations

import math

from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions, permissions, throttling
from rest_framework.settings import api_settings

from config.cache import CACHE_ERRORS, shared_cache_outage
from config.metrics import THROTTLE_FALLBACKS
from governance.audit import client_ip
from registry.models import ApiToken


class _RatesFromSettings:
    """Read the rate when the throttle is made, not when DRF was imported, so settings changes apply."""

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"No API throttle rate set for scope '{self.scope}'.") from None

    def get_ident(self, request) -> str:
        return client_ip(request)


class SlidingWindowThrottle(throttling.SimpleRateThrottle):
    """DRF's SimpleRateThrottle with a sliding-window counter instead of a timestamp log.

    Requests are counted per fixed window of the rate's period; a request is allowed while the previous
    window's count, weighted by how much of it still overlaps the sliding window, plus the current window's
    count stays within the rate. Every request is counted, refused ones included, so a client that keeps
    hammering while throttled stays throttled. Counters expire after two periods.
    """

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window, into = divmod(self.now, self.duration)
        current, previous = f"{self.key}:{int(window)}", f"{self.key}:{int(window) - 1}"
        self.previous, self.current = _window_hit(self.cache, current, previous, 2 * self.duration)
        self.overlap = 1 - into / self.duration  # how much of the previous window the sliding window still covers
        return self.previous * self.overlap + self.current <= self.num_requests

    def wait(self) -> float:
        """Seconds until this client's next request would be allowed (for Retry-After)."""
        into = (1 - self.overlap) * self.duration
        room = self.num_requests - self.current - 1  # the next request counts too
        if room < 0 or self.previous == 0:
            return max(math.ceil(self.duration - into), 1)  # only the next window frees the budget
        # The previous window's weight shrinks linearly: when does previous * overlap + current + 1 <= rate?
        return max(math.ceil((1 - room / self.previous) * self.duration - into), 1)


# Counters used while the shared cache is unreachable: this process's memory.
_FALLBACK_CACHE = LocMemCache("arbiter-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


def _window_hit(cache, current: str, previous: str, timeout: int) -> tuple[int, int]:
    """Count a hit in `current`, read `previous`: one round trip on Redis (config.cache.RedisCache), or in this
    process's memory while Redis is unreachable."""
    hit = getattr(cache, "window_hit", None)
    if hit is None:
        return _local_window_hit(cache, current, previous, timeout)
    if shared_cache_outage.should_try():
        try:
            counts = hit(current, previous, timeout)
        except CACHE_ERRORS as exc:
            shared_cache_outage.failed(exc)
        else:
            shared_cache_outage.recovered()
            return counts
    THROTTLE_FALLBACKS.inc()
    return _local_window_hit(_FALLBACK_CACHE, current, previous, timeout)


def _local_window_hit(cache, current: str, previous: str, timeout: int) -> tuple[int, int]:
    if cache.add(current, 1, timeout):  # caches without window_hit (local memory in `make run`): add, else increment
        count = 1
    else:
        try:
            count = cache.incr(current)
        except ValueError:  # expired between the two calls
            cache.set(current, 1, timeout)
            count = 1
    return cache.get(previous, 0), count


def _client_key(request) -> str | None:
    """The budget an authenticated request spends: its token's, else its user's. None when anonymous."""
    if isinstance(request.auth, ApiToken):
        return f"token-{request.auth.pk}"
    user = request.user
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}"
    return None


class ClientThrottle(_RatesFromSettings, SlidingWindowThrottle):
    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        key = _client_key(request)
        return None if key is None else self.cache_format % {"scope": self.scope, "ident": key}


class AnonymousThrottle(_RatesFromSettings, SlidingWindowThrottle):
    scope = "anon"

    def get_cache_key(self, request, view) -> str | None:
        if _client_key(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ScopedThrottle(_RatesFromSettings, throttling.ScopedRateThrottle, SlidingWindowThrottle):
    # DRF's ScopedRateThrottle reads the view's scope, then calls super().allow_request(): by the method
    # resolution order that is SlidingWindowThrottle's, before SimpleRateThrottle's.

    def get_cache_key(self, request, view) -> str:
        key = _client_key(request) or self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": key}


# For upload views (with `throttle_scope = "uploads"`): requests without credentials still spend their
# address's budget.
UPLOAD_THROTTLES = [AnonymousThrottle, ScopedThrottle]


class _FailedAuthenticationThrottle(_RatesFromSettings, SlidingWindowThrottle):
    """The anonymous budget of an address, spent by a failed token. Never touches `request.user`, which
    is still being decided when authentication fails."""

    scope = "anon"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttle_failed_authentication(request) -> None:
    """Count a failed token against the address's anonymous budget; raise 429 once it is spent."""
    throttle = _FailedAuthenticationThrottle()
    if not throttle.allow_request(request, None):
        raise exceptions.Throttled(throttle.wait())


class ThrottledIsAuthenticated(permissions.IsAuthenticated):
    """DRF's IsAuthenticated, except that an anonymous request spends the anonymous budget before it is
    refused: DRF checks permissions before throttles, so otherwise anonymous floods would never count."""

    def has_permission(self, request, view) -> bool:
        if super().has_permission(request, view):
            return True
        view.check_throttles(request)
        return False
