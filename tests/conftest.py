"""Shared fixtures: personas (who is acting), API clients, and the guards for real services.

Personas follow one story: `owner` and `teammate` belong to team "alpha" and own its models; `outsider` is
a Model Owner on team "beta"; `reviewer`, `risk_officer`, `auditor`, `viewer` hold those roles only;
`administrator` holds the Administrator role. Tests that need PostgreSQL or Redis ask for the
`postgres` / `redis_url` fixtures, which skip with a reason when the service is missing, except in CI
(`CI=true`), where a missing service fails the run.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from governance.audit import audit_verify
from registry import services
from registry.permissions import Role
from tests.factories import make_user

IN_CI = os.environ.get("CI", "").lower() == "true"


def missing_service(reason: str) -> None:
    """Skip the test, or fail it in CI where every service must be present."""
    if IN_CI:
        pytest.fail(f"CI requires this service: {reason}")
    pytest.skip(reason)


# --- Services ---------------------------------------------------------------------------------------


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        missing_service("needs PostgreSQL (run `make test` with PostgreSQL on 127.0.0.1:5432 or DATABASE_URL)")
    return connection


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    if not _reachable(url):
        missing_service(f"needs Redis at {url}")
    return url


# --- Database hygiene -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _audit_chain_stays_valid(request):
    """After every test that touched the database, the audit chain must still verify.

    Transactional tests end with Django's flush, a TRUNCATE that the audit table's trigger refuses; the
    trigger is set aside for that flush only and restored before the next test.
    """
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    uses_db = marker is not None or bool(names & {"db", "transactional_db", "live_server", "postgres"})
    if not uses_db:
        yield
        return
    transactional = bool(names & {"transactional_db", "live_server"}) or bool(
        marker and marker.kwargs.get("transaction")
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    _set_truncate_trigger(enabled=True)
    yield
    if not request.node.get_closest_marker("tampers_audit"):
        result = audit_verify()
        assert result.ok, f"audit chain broken by this test: {result}"
    if transactional:
        _set_truncate_trigger(enabled=False)


def _set_truncate_trigger(*, enabled: bool) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        verb = "ENABLE" if enabled else "DISABLE"
        cursor.execute(f"ALTER TABLE governance_auditevent {verb} TRIGGER audit_no_truncate")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Personas are made by the dozen; production's slow hasher would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Each test starts with an empty local-memory cache, so API throttle counters never leak between tests
    (and a REDIS_URL in the environment is never flushed). Throttling tests opt into Redis explicitly."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
    cache.clear()


def pytest_configure(config):
    config.addinivalue_line("markers", "tampers_audit: the test breaks the audit chain on purpose")


# --- Personas ---------------------------------------------------------------------------------------


@pytest.fixture
def administrator(db):
    return make_user("administrator", roles=[Role.ADMINISTRATOR], is_staff=True)


@pytest.fixture
def team_alpha(db, administrator):
    return services.team_create(actor=administrator, name="Alpha")


@pytest.fixture
def team_beta(db, administrator):
    return services.team_create(actor=administrator, name="Beta")


@pytest.fixture
def owner(team_alpha):
    return make_user("owner", roles=[Role.MODEL_OWNER], teams=[team_alpha])


@pytest.fixture
def teammate(team_alpha):
    return make_user("teammate", roles=[Role.MODEL_OWNER], teams=[team_alpha])


@pytest.fixture
def outsider(team_beta):
    return make_user("outsider", roles=[Role.MODEL_OWNER], teams=[team_beta])


@pytest.fixture
def reviewer(db):
    return make_user("reviewer", roles=[Role.REVIEWER])


@pytest.fixture
def risk_officer(db):
    return make_user("risk", roles=[Role.RISK_OFFICER])


@pytest.fixture
def auditor(db):
    return make_user("auditor", roles=[Role.AUDITOR])


@pytest.fixture
def viewer(db):
    return make_user("viewer", roles=[Role.VIEWER])


# --- Clients ----------------------------------------------------------------------------------------


@pytest.fixture
def api():
    """A DRF client; `api.force_login(user)` or `api.credentials(HTTP_AUTHORIZATION=...)` to act as someone."""
    return APIClient(enforce_csrf_checks=True)


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
