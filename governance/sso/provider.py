"""OpenID Connect sign-in with mozilla-django-oidc: its views run the authorisation-code flow (state, nonce,
PKCE) and its backend exchanges the code; this module adds what Arbiter needs on top.

- The provider's endpoints come from its discovery document (`OIDC_ISSUER/.well-known/openid-configuration`),
  fetched once an hour per process, and its `issuer` must be OIDC_ISSUER exactly.
- ID tokens are checked for signature (the key is looked up by `kid` in the provider's JWKS, fetched at each
  sign-in, so rotated keys are picked up), issuer, audience, expiry and issue time, then nonce.
- The account comes from `sso.services.sso_sign_in` (issuer + subject, the group mapping), never from the
  e-mail address; its refusals are shown on a page that says why.
- Signing out also ends the provider's session when it offers an `end_session_endpoint`.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from governance.sso import services

log = logging.getLogger(__name__)

DISCOVERY_TTL_SECONDS = 3600
# mozilla-django-oidc's endpoint settings, answered from the discovery document instead.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
_discovery_cache: dict[str, tuple[float, dict]] = {}


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


def discovery() -> dict:
    """The provider's discovery document (cached for an hour); raises ImproperlyConfigured if it is unusable."""
    issuer = settings.OIDC_ISSUER
    cached = _discovery_cache.get(issuer)
    if cached is not None and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
        return cached[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ImproperlyConfigured(f"OIDC discovery failed at {url}: {exc}") from exc
    if document.get("issuer", "").rstrip("/") != issuer:
        raise ImproperlyConfigured(f"{url} names issuer {document.get('issuer')!r}, not OIDC_ISSUER {issuer!r}.")
    missing = [key for key in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(key)]
    if missing:
        raise ImproperlyConfigured(f"{url} lacks {', '.join(missing)}.")
    _discovery_cache[issuer] = (time.monotonic(), document)
    return document


def oidc_setting(attr: str, *default):
    """mozilla-django-oidc's settings, with the provider's endpoints read from its discovery document."""
    if attr in DISCOVERED:
        return discovery().get(DISCOVERED[attr], *default)
    return import_from_settings(attr, *default)


class OidcBackend(OIDCAuthenticationBackend):
    """Verifies the ID token fully and hands its claims to `sso_sign_in`. Idle unless OIDC is configured."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Django builds every backend for each authenticate() call (password sign-ins too) and to load the user
        # of every session: read the provider's settings only when a provider sign-in actually arrives.
        self.UserModel = get_user_model()

    def configure(self) -> None:
        """Read the client's settings and the provider's endpoints (discovery)."""
        super().__init__()

    def authenticate(self, request, **kwargs):
        if not enabled() or request is None or "code" not in request.GET:
            return None
        self.configure()
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload, key):
        """The signature with the provider's key, and the issuer, audience, expiry and issue time."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"ID token signed with {header.get('alg')!r}, expected {self.OIDC_RP_SIGN_ALGO}.")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
                leeway=30,
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc

    def retrieve_matching_jwk(self, token):
        try:
            return super().retrieve_matching_jwk(token)
        except (KeyError, jwt.PyJWKError) as exc:
            raise SuspiciousOperation(f"ID token refused: no usable key in the provider's JWKS ({exc}).") from exc

    def get_or_create_user(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint's (the ID token wins on `iss` and `sub`)."""
        claims = dict(payload)
        if self.get_settings("OIDC_OP_USER_ENDPOINT", None):
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload["sub"]:
                raise SuspiciousOperation("The userinfo endpoint answered for another subject.")
            claims = {**userinfo, **payload}
        return services.sso_sign_in(claims=claims)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


class AuthenticateView(OIDCAuthenticationRequestView):
    """`/sso/oidc/authenticate/`: off to the provider's sign-in page (404 when no provider is configured)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ImproperlyConfigured as exc:
            log.error("OIDC sign-in unavailable: %s", exc)
            return _unreachable(request)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """`/sso/oidc/callback/`: the provider's answer. A refusal (ours, or an ID token that fails a check) is a
    page saying why, with a way back to the sign-in page."""

    get_settings = staticmethod(oidc_setting)

    @property
    def failure_url(self):
        return reverse("login")

    def get(self, request):
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except services.SignInRefused as refusal:
            return _refused(request, refusal.message, status=403)
        except (ImproperlyConfigured, requests.RequestException) as exc:
            log.error("OIDC sign-in failed talking to the provider: %s", exc)
            return _unreachable(request)
        except SuspiciousOperation as exc:
            log.warning("OIDC sign-in refused: %s", exc)
            return _refused(
                request,
                "The answer from the identity provider could not be verified, or was already used. Start again.",
                status=400,
            )

    def login_failure(self):
        if self.request.GET.get("error"):
            description = self.request.GET.get("error_description") or self.request.GET["error"]
            return _refused(self.request, f"{settings.OIDC_PROVIDER_NAME} did not sign you in: {description}", 403)
        return super().login_failure()


def _refused(request, message: str, status: int):
    context = {"message": message, "provider": settings.OIDC_PROVIDER_NAME}
    return render(request, "sso/refused.html", context, status=status)


def _unreachable(request):
    message = f"Arbiter could not complete the sign-in with {settings.OIDC_PROVIDER_NAME}. Try again in a minute."
    return _refused(request, message, status=503)


def provider_logout_url(request, id_token: str | None) -> str | None:
    """Where to send the browser to end the provider's session too, or None if the provider offers no
    `end_session_endpoint` (or this was not a provider sign-in)."""
    if not enabled() or not id_token:
        return None
    try:
        endpoint = discovery().get("end_session_endpoint")
    except ImproperlyConfigured:
        log.warning("OIDC discovery failed at sign-out: the provider's session is left as it is")
        return None
    if not endpoint:
        return None
    query = {
        "id_token_hint": id_token,
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
    }
    return f"{endpoint}?{urlencode(query)}"
