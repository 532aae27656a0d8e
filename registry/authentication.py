"""API token authentication: `Authorization: Bearer <token>`.

Tokens are looked up by the SHA-256 of the presented secret; the secret itself is never stored. The
authenticated user carries the token (`user.api_token`) so the permission module can narrow by scope.
Failed tokens spend their address's anonymous throttle budget, so guessing them is slow.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Field
from django.db.models.expressions import RawSQL
from django.utils import timezone
from rest_framework import authentication, exceptions

from governance.audit import client_ip, set_token_prefix
from registry import permissions
from registry.api.throttling import throttle_failed_authentication
from registry.models import ApiToken, ServiceAccount
from registry.rawsql import Loaded

TOKEN_PREFIX = "arb_"
LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class _TokenQuery:
    """The token with this hash, its user, the user's service account (if any) and, where the database can
    (PostgreSQL), the user's roles and permissions, in one query compiled once (`permissions.Precompiled`): it
    runs on every API request, where compiling the equivalent queryset cost more than running it."""

    def __init__(self):
        self.token = Loaded(ApiToken)
        self.user = Loaded(get_user_model(), "user__")
        self.account = Loaded(ServiceAccount, "user__service_account__")
        q = connection.ops.quote_name
        grants = permissions.grants_json_sql(f"{q(ApiToken._meta.db_table)}.{q('user_id')}")
        # Left as the driver decodes it, without the ORM's conversion (remember_grants reads a list or JSON text).
        self.grants = {"grants": RawSQL(grants, (), output_field=Field())} if grants else {}
        self.lookups = [*self.token.lookups, *self.user.lookups, *self.account.lookups, *self.grants]
        self.read = permissions.Precompiled(
            lambda token_hash: (
                ApiToken.objects.filter(token_hash=token_hash)
                .order_by()
                .annotate(**self.grants)
                .values_list(*self.lookups)
            ),
            action=None,
            values=(str,),
        )

    def __call__(self, token_hash: str) -> ApiToken | None:
        rows = self.read.rows(None, token_hash)
        if not rows:
            return None
        row = dict(zip(self.lookups, rows[0], strict=True))
        token = self.token.instance(row)
        token.user = user = self.user.instance(row)
        account = self.account.instance(row)
        if account is not None:
            user.service_account = account
        user._arbiter_service_account = account is not None  # permissions.is_service_account reads it
        if self.grants:
            permissions.remember_grants(user, row["grants"])
        return token


_token_query: _TokenQuery | None = None


def _find_token(token_hash: str) -> ApiToken | None:
    global _token_query
    if _token_query is None:
        _token_query = _TokenQuery()
    return _token_query(token_hash)


def authenticate_token(secret: str, *, ip: str = "") -> ApiToken:
    """The active token for `secret`, with its user; raises AuthenticationFailed with the reason otherwise."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200 or not secret.isascii():
        raise exceptions.AuthenticationFailed("Malformed API token.", code="token_malformed")
    token = _find_token(hash_secret(secret))  # token_hash is unique
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
