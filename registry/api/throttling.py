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
`REDIS_URL` is set, so every worker process shares them. A throttled request answers 429 in the API's error
shape with `Retry-After`. Client addresses come from REMOTE_ADDR only (`governance.audit.client_ip`).
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from rest_framework import exceptions, permissions, throttling
from rest_framework.settings import api_settings

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


def _client_key(request) -> str | None:
    """The budget an authenticated request spends: its token's, else its user's. None when anonymous."""
    if isinstance(request.auth, ApiToken):
        return f"token-{request.auth.pk}"
    user = request.user
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}"
    return None


class ClientThrottle(_RatesFromSettings, throttling.SimpleRateThrottle):
    scope = "user"

    def get_cache_key(self, request, view) -> str | None:
        key = _client_key(request)
        return None if key is None else self.cache_format % {"scope": self.scope, "ident": key}


class AnonymousThrottle(_RatesFromSettings, throttling.SimpleRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view) -> str | None:
        if _client_key(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ScopedThrottle(_RatesFromSettings, throttling.ScopedRateThrottle):
    def get_cache_key(self, request, view) -> str:
        key = _client_key(request) or self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": key}


# For upload views (with `throttle_scope = "uploads"`): requests without credentials still spend their
# address's budget.
UPLOAD_THROTTLES = [AnonymousThrottle, ScopedThrottle]


class _FailedAuthenticationThrottle(_RatesFromSettings, throttling.SimpleRateThrottle):
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
