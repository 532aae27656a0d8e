"""Single sign-on fixtures: a real OpenID provider (`oidc-provider` from npm, tests/oidc/provider.mjs) on
127.0.0.1, Arbiter configured for it, and a helper that signs in through the provider's login form."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import requests

from governance.sso import provider
from tests.conftest import IN_CI, missing_service
from tests.governance.conftest import committees, model, reviewers, staged  # noqa: F401 (fixtures)

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc"
CLIENT_ID, CLIENT_SECRET = "arbiter", "arbiter-test-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _node_modules() -> None:
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    if IN_CI:
        pytest.fail(f"oidc-provider is not installed: run `npm ci` in {PROVIDER_DIR} (.ci/run does)")
    if shutil.which("npm") is None:
        missing_service("needs npm to install oidc-provider (tests/oidc/package.json)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True, capture_output=True)


class OidcProvider:
    """The running provider: its issuer, and the accounts it knows (rewritten between sign-ins)."""

    def __init__(self, issuer: str, users_file: Path):
        self.issuer = issuer
        self.users_file = users_file

    def set_users(self, users: dict[str, dict]) -> None:
        self.users_file.write_text(json.dumps(users))


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    if shutil.which("node") is None:
        missing_service("needs Node.js (node) to run the OpenID provider")
    _node_modules()
    port = _free_port()
    users_file = tmp_path_factory.mktemp("oidc") / "users.json"
    users_file.write_text("{}")
    log = users_file.with_name("provider.log")
    with log.open("w") as out:
        process = subprocess.Popen(
            ["node", "provider.mjs"],
            cwd=PROVIDER_DIR,
            env={**os.environ, "PORT": str(port), "OIDC_USERS_FILE": str(users_file)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    issuer = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None:
                pytest.fail(f"the OpenID provider exited: {log.read_text()}")
            time.sleep(0.1)
        else:
            pytest.fail(f"the OpenID provider did not answer at {issuer}: {log.read_text()}")
        yield OidcProvider(issuer, users_file)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sso(settings, oidc_provider):
    """Arbiter configured for the test provider, as the README's five settings would."""
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_PROVIDER_NAME = "Test IdP"
    provider._discovery_cache.clear()
    oidc_provider.set_users({})
    return oidc_provider


def provider_sign_in(client, login: str, *, password: str = "any"):
    """Sign in through the provider with Django's test client for Arbiter and `requests` for the provider:
    start at Arbiter, fill the provider's login form, and bring the code back to Arbiter's callback."""
    start = client.get("/sso/oidc/authenticate/")
    assert start.status_code == 302, start
    browser = requests.Session()
    url = start["Location"]
    for _ in range(10):
        if url.startswith("http://testserver/"):
            callback = urlparse(url)
            return client.get(f"{callback.path}?{callback.query}")
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200 and 'name="login"' in response.text:
            action = re.search(r'action="([^"]+)"', response.text).group(1)
            response = browser.post(
                urljoin(url, action),
                data={"prompt": "login", "login": login, "password": password},
                allow_redirects=False,
                timeout=10,
            )
        assert response.status_code in (302, 303), response.text[:500]
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("the provider did not send the browser back to Arbiter")
