"""HTTP Basic with an API token as the password: what `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`
send. The username must be the token owner's, so a credential pair reads the way it is meant; a mismatch is
refused like a bad token (and spends the address's anonymous throttle budget)."""

from __future__ import annotations

import base64
import binascii

from rest_framework import authentication, exceptions

from governance.audit import client_ip
from registry.api.throttling import throttle_failed_authentication
from registry.authentication import authenticate_token


class BasicTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        try:
            return self._authenticate(request, header)
        except exceptions.AuthenticationFailed:
            throttle_failed_authentication(request)
            raise

    def _authenticate(self, request, header: list[bytes]) -> tuple:
        try:
            if len(header) != 2:
                raise ValueError
            username, _, secret = base64.b64decode(header[1], validate=True).decode("utf-8").partition(":")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Malformed Basic credentials.", code="token_malformed") from None
        token = authenticate_token(secret, ip=client_ip(request))
        if username != token.user.get_username():
            raise exceptions.AuthenticationFailed(
                "The username does not match the owner of the API token given as the password.",
                code="token_user_mismatch",
            )
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Basic realm="arbiter"'
