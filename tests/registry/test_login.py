"""Sign-in rate limiting with django-axes: a username is locked out from an address after repeated failures,
with a clear page and a 429, on our sign-in page and the admin's; the API offers no password login at all."""

import base64

import pytest
from django.test import Client

from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _three_strikes(settings):
    settings.AXES_FAILURE_LIMIT = 3


def sign_in(client: Client, password: str, url: str = "/accounts/login/", **extra):
    return client.post(url, {"username": "owner", "password": password}, **extra)


def test_lockout_after_repeated_failures_with_a_clear_message(owner, client):
    for _ in range(2):
        failed = sign_in(client, "wrong")
        assert failed.status_code == 200 and b"Please enter a correct username and password" in failed.content
    locked = sign_in(client, "wrong")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Sign-in locked: too many failed attempts" in page
    assert "After 3 failed sign-in attempts for <strong>owner</strong>" in page
    assert "try again in 15 minutes" in page
    assert locked["Content-Security-Policy"], "the lockout page is a normal page, with its security headers"

    still = sign_in(client, PASSWORD)
    assert still.status_code == 429, "the right password does not lift the lock"
    assert "_auth_user_id" not in client.session


def test_each_failure_before_the_lockout_says_how_many_remain(owner, client):
    warnings = []
    for _ in range(2):
        page = sign_in(client, "wrong").content.decode()
        assert "Please enter a correct username and password" in page
        warnings.append(page.split("more failed attempt")[0].rsplit(">", 1)[-1] + "more failed attempt")
    assert warnings == ["2 more failed attempt", "1 more failed attempt"]
    assert (
        "1 more failed attempt from this address will lock &#x27;owner&#x27; out of signing in here for 15 minutes."
        in page
    )
    assert sign_in(client, "wrong").status_code == 429, "and the next one locks, as announced"


def test_lockout_is_per_username_and_address(owner, teammate, client):
    for _ in range(3):
        sign_in(client, "wrong")
    forged = sign_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert forged.status_code == 429, "a forged X-Forwarded-For is not a new address"
    teammate_login = client.post("/accounts/login/", {"username": "teammate", "password": PASSWORD})
    assert teammate_login.status_code == 302, "other accounts are not locked out from this address"
    elsewhere = Client(REMOTE_ADDR="192.0.2.44")
    assert sign_in(elsewhere, PASSWORD).status_code == 302


def test_admin_sign_in_is_locked_out_too(administrator, client):
    responses = [client.post("/admin/login/", {"username": "administrator", "password": "wrong"}) for _ in range(3)]
    assert [b"1 more failed attempt from this address" in r.content for r in responses[:2]] == [False, True]
    response = responses[-1]
    assert response.status_code == 429
    assert b"Sign-in locked" in response.content
    ok = client.post("/admin/login/", {"username": "administrator", "password": PASSWORD})
    assert ok.status_code == 429


def test_a_success_resets_the_failure_count(owner, client):
    for _ in range(2):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        assert sign_in(client, "wrong").status_code == 200


def test_the_api_accepts_no_passwords(owner, api, settings):
    """No API endpoint takes a username and password, so there is nothing to bypass the lockout with."""
    basic = base64.b64encode(f"owner:{PASSWORD}".encode()).decode()
    api.credentials(HTTP_AUTHORIZATION=f"Basic {basic}")
    response = api.get("/api/v1/models/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    authenticators = settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    assert authenticators == [
        "registry.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ], "sessions come only from the sign-in pages, which axes guards"
