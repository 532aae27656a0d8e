"""API token authentication: `Authorization: Bearer <token>`.

Tokens are looked up by the SHA-256 of the presented secret; the secret itself is never stored. The
authenticated user carries the token (`user.api_token`) so the permission module can narrow by scope.
Failed tokens spend their address's anonymous throttle budget, so guessing them is slow.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from governance.audit import client_ip, set_token_prefix
from registry.api.throttling import throttle_failed_authentication
from registry.models import ApiToken

TOKEN_PREFIX = "arb_"
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def authenticate_token(secret: str, *, ip: str = "") -> ApiToken:
    """The active token for `secret`, with its user; raises AuthenticationFailed with the reason otherwise."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200 or not secret.isascii():
        raise exceptions.AuthenticationFailed("Malformed API token.", code="token_malformed")
    found = list(  # token_hash is unique: at most one row, no ordering needed
        ApiToken.objects.select_related("user", "user__service_account")
        .filter(token_hash=hash_secret(secret))
        .order_by()[:1]
    )
    token = found[0] if found else None
    if token is None:
        raise exceptions.AuthenticationFailed("Unknown API token.", code="token_invalid")
    if token.revoked_at is not None:
        raise exceptions.AuthenticationFailed("This API token has been revoked.", code="token_revoked")
    if token.is_expired:
        raise exceptions.AuthenticationFailed(
            f"This API token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC.", code="token_expired"
        )
    if not token.user.is_active:
        raise exceptions.AuthenticationFailed("The account that owns this API token is disabled.", code="user_inactive")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION or token.last_used_ip != ip:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip or None)
    token.user.api_token = token
    set_token_prefix(token.prefix)
    return token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        try:
            return self._authenticate(request, header)
        except exceptions.AuthenticationFailed:
            throttle_failed_authentication(request)
            raise

    def _authenticate(self, request, header: list[bytes]) -> tuple:
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: expected 'Bearer <token>'.", code="token_malformed"
            )
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed API token.", code="token_malformed") from exc
        token = authenticate_token(secret, ip=client_ip(request))
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="arbiter"'
