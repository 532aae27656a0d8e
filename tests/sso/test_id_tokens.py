"""ID token checks, with tokens signed by keys the test controls and a provider (discovery and JWKS) served
from this process: the signature with a key from the provider's JWKS (rotated keys picked up at once),
the issuer, the audience, the expiry and the nonce. Anything else is refused."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import SuspiciousOperation

from governance.sso import provider

CLIENT_ID = "arbiter"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private_key, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class FakeProvider:
    """Discovery and JWKS over real HTTP on 127.0.0.1; `keys` is what the JWKS endpoint publishes."""

    def __init__(self):
        self.keys: list[dict] = []
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = state.discovery() if self.path.endswith("openid-configuration") else {"keys": state.keys}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/auth",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
        }


@pytest.fixture
def idp(settings):
    fake = FakeProvider()
    settings.OIDC_ISSUER = fake.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    provider._discovery_cache.clear()
    key = _key()
    fake.keys = [_jwk(key, "k1")]
    fake.key = key
    yield fake
    fake.server.shutdown()


def _token(idp, key=None, kid="k1", **claims):
    now = int(time.time())
    payload = {"iss": idp.issuer, "aud": CLIENT_ID, "sub": "alice-0001", "iat": now, "exp": now + 300, "nonce": "n1"}
    payload.update(claims)
    return jwt.encode(payload, key or idp.key, algorithm="RS256", headers={"kid": kid})


def _verify(token, nonce="n1"):
    backend = provider.OidcBackend()
    backend.configure()
    return backend.verify_token(token, nonce=nonce)


def test_a_good_token_is_accepted(idp):
    assert _verify(_token(idp))["sub"] == "alice-0001"


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "https://evil.example.org"}, "Invalid issuer"),
        ({"aud": "another-client"}, "Audience doesn't match"),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 600}, "Signature has expired"),
        ({"exp": None}, "exp"),
    ],
    ids=["wrong issuer", "wrong audience", "expired", "no expiry"],
)
def test_a_token_failing_a_claim_check_is_refused(idp, claims, why):
    token = _token(idp, **{k: v for k, v in claims.items() if v is not None})
    if claims.get("exp", 0) is None:
        now = int(time.time())
        token = jwt.encode(
            {"iss": idp.issuer, "aud": CLIENT_ID, "sub": "x", "iat": now, "nonce": "n1"},
            idp.key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )
    with pytest.raises(SuspiciousOperation, match=why):
        _verify(token)


def test_a_replayed_nonce_is_refused(idp):
    """A token minted for an earlier sign-in carries that sign-in's nonce, not the one this session expects."""
    with pytest.raises(SuspiciousOperation, match="Nonce"):
        _verify(_token(idp, nonce="n-from-an-earlier-sign-in"), nonce="n1")


def test_a_key_not_in_the_jwks_is_refused(idp):
    stranger = _key()
    with pytest.raises(SuspiciousOperation, match="Could not find a valid JWKS"):
        _verify(_token(idp, key=stranger, kid="k-unknown"))
    with pytest.raises(SuspiciousOperation, match="Signature verification failed"):
        _verify(_token(idp, key=stranger, kid="k1"))


def test_rotated_keys_are_picked_up_without_a_restart(idp):
    assert _verify(_token(idp))
    new_key = _key()
    idp.keys = [_jwk(new_key, "k2")]
    assert _verify(_token(idp, key=new_key, kid="k2"))["sub"] == "alice-0001"
    with pytest.raises(SuspiciousOperation):  # the retired key no longer signs
        _verify(_token(idp))


def test_an_unsigned_or_symmetric_token_is_refused(idp):
    unsigned = jwt.encode({"iss": idp.issuer, "aud": CLIENT_ID, "sub": "x"}, None, algorithm="none")
    with pytest.raises(SuspiciousOperation):
        _verify(unsigned)
    forged = jwt.encode(
        {"iss": idp.issuer, "aud": CLIENT_ID, "sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "k1"}
    )
    with pytest.raises(SuspiciousOperation):
        _verify(forged)


def test_discovery_must_name_the_configured_issuer(idp, settings):
    settings.OIDC_ISSUER = idp.issuer + "/other"
    provider._discovery_cache.clear()
    with pytest.raises(provider.ImproperlyConfigured):
        provider.discovery()
