"""Shared fixtures: personas (who is acting), API clients, and the guards for real services.

Personas follow one story: `owner` and `teammate` belong to team "alpha" and own its models; `outsider` is
a Model Owner on team "beta"; `reviewer`, `risk_officer`, `auditor`, `viewer` hold those roles only;
`administrator` holds the Administrator role. Tests that need PostgreSQL or Redis ask for the
`postgres` / `redis_url` fixtures, which skip with a reason when the service is missing, except in CI
(`CI=true`), where a missing service fails the run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
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


@pytest.fixture(scope="session", autouse=True)
def _audit_chain_valid_at_session_end(django_db_setup, django_db_blocker):
    """After the whole run, the chain the run left in the test database still verifies.

    Each test's own events are checked by `_audit_chain_stays_valid` before they are rolled back (or flushed,
    for transactional tests); this checks what outlives single tests: events written outside any test's
    transaction and whatever transactional tests left behind, once the last test has finished.
    """
    yield
    with django_db_blocker.unblock():
        result = audit_verify()
    assert result.ok, f"audit chain broken after the test session: {result}"


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


# Markers by cost, taken from the fixtures a test uses, so `pytest -m "not slow and not browser"` selects the
# quick tests without anyone remembering to mark them. A test that is slow for another reason (over ~2 s)
# carries `@pytest.mark.slow` itself.
FIXTURE_MARKERS = {
    "postgres": ("postgres",),
    "redis_url": ("redis",),
    "private_redis": ("redis", "slow"),
    "celery_worker": ("postgres", "redis", "slow"),
    "live_server": ("slow",),
    "chromium": ("browser", "slow"),
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        present = {mark.name for mark in item.iter_markers()}
        for fixture, markers in FIXTURE_MARKERS.items():
            if fixture in used:
                for name in markers:
                    if name not in present:
                        item.add_marker(name)
                        present.add(name)


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


# --- Artifacts: storage, a real Celery worker, a private Redis ------------------------------------------------


@pytest.fixture
def artifact_storage(settings, tmp_path):
    """Artifact blobs in a fresh directory for this test (local filesystem storage)."""
    location = tmp_path / "media"
    location.mkdir()
    backend = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}}
    settings.STORAGES = {**settings.STORAGES, "artifacts": backend, "default": backend}
    return location


def _reset_broker(app, url: str, queue: str) -> None:
    # One private queue for everything (validation included), unless the test routes validation on its own.
    app.conf.update(broker_url=url, task_always_eager=False, task_default_queue=queue, validation_queue=queue)
    # The connection and producer pools remember the broker they were made for: drop them (kombu keys its
    # global pools by broker URL, so the next publish gets pools for the new URL).
    app._pool = None
    app.amqp._producer_pool = None
    for cached in ("default_queue", "queues", "router"):  # routing derived from task_default_queue
        app.amqp.__dict__.pop(cached, None)


@contextlib.contextmanager
def thread_worker(broker_url: str):
    """A real Celery worker in a thread of this process, consuming a queue private to the caller."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    keys = ("broker_url", "task_always_eager", "task_default_queue", "validation_queue")
    previous = {key: app.conf[key] for key in keys}
    _reset_broker(app, broker_url, f"test-{uuid.uuid4().hex[:12]}")
    try:
        with start_worker(
            app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30
        ):
            yield app
    finally:
        _reset_broker(app, previous["broker_url"], previous["task_default_queue"])
        app.conf.update(task_always_eager=previous["task_always_eager"], validation_queue=previous["validation_queue"])


@pytest.fixture
def celery_worker(redis_url, transactional_db, postgres, artifact_storage):
    """A real Celery worker (in a thread) consuming from Redis, on a queue private to this test. Needs
    PostgreSQL: SQLite's in-memory test database cannot serve the worker's concurrent connection."""
    with thread_worker(redis_url) as app:
        yield app


@pytest.fixture
def eager_tasks():
    """Tasks run in-process, as under `make run`. With REDIS_URL set (as in CI) they would otherwise wait in
    Redis for a worker that this test does not start."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.05, what: str = "condition"):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a free port, so a test can stop and start the broker."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.process = None

    def start(self) -> None:
        import subprocess
        import time

        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if _reachable(self.url):
                return
            time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path):
    import shutil

    if shutil.which("redis-server") is None:
        missing_service("needs the redis-server binary to run a private broker")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()
