"""Health (`/health/live`, `/health/ready`, `manage.py health_check`) and metrics (`/metrics`)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from config import health
from config.celery import app
from registry import services
from registry.choices import ArtifactStatus
from tests.artifact_files import safetensors_bytes
from tests.conftest import _reset_broker, bearer
from tests.factories import make_model, make_version


@pytest.fixture
def redis_parts(settings, private_redis):
    """Cache and broker on a Redis of this test's own, which the test may stop."""
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": private_redis.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    previous = (app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager)
    _reset_broker(app, private_redis.url, "health-test")
    yield private_redis
    _reset_broker(app, previous[0], previous[1])
    app.conf.task_always_eager = previous[2]


def test_live_answers_without_signing_in(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"Process()": "OK"}


def test_ready_checks_every_part_and_reports_a_redis_outage(
    postgres,
    redis_parts,
    outage_state,
    artifact_storage,
    client,
    api,
    owner,  # noqa: F811
):
    response = client.get("/health/ready", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    checks = response.json()
    assert set(checks.values()) == {"OK"}
    assert {name.split("(")[0] for name in checks} == {
        "Database",
        "Migrated",
        "Cache",
        "Storage",
        "Broker",
        "ThrottleCounters",
    }
    assert list(artifact_storage.rglob("*.txt")) == [], "the storage probe deletes what it wrote"

    redis_parts.stop()
    _, secret = services.token_create(actor=owner, user=owner, name="cd", scopes=["read"])
    api.credentials(**bearer(secret))
    assert api.get("/api/v1/models/").status_code == 200  # the throttle falls back

    response = client.get("/health/ready", HTTP_ACCEPT="application/json")
    assert response.status_code == 500
    failing = {name.split("(")[0]: status for name, status in response.json().items() if status != "OK"}
    assert set(failing) == {"Cache", "Broker", "ThrottleCounters"}
    assert "rate limits are per process" in failing["ThrottleCounters"]

    metrics = client.get("/health/ready?format=openmetrics").content.decode()
    assert 'django_health_check_status{check="Database",alias="default"} 1' in metrics
    assert 'django_health_check_status{check="Broker"} 0' in metrics


@pytest.mark.django_db(transaction=True)
def test_ready_refuses_until_every_migration_is_applied(postgres, client, monkeypatch):
    monkeypatch.setattr(health, "_MIGRATED", set())  # forget that an earlier test found the database migrated
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE id = (SELECT max(id) FROM django_migrations) RETURNING app, name"
        )
        app_label, name = cursor.fetchone()
    try:
        response = client.get("/health/ready", HTTP_ACCEPT="application/json")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, now())", [app_label, name]
            )
    assert response.status_code == 500
    expected = "Unavailable: 1 migration(s) not applied: run `manage.py migrate`"
    assert response.json()["Migrated(alias='default')"] == expected


def test_health_check_command_exits_zero_when_ready(postgres, artifact_storage):
    with pytest.raises(SystemExit) as exited:
        call_command("health_check", "health-ready", "--no-http")
    assert exited.value.code == 0


# --- /metrics --------------------------------------------------------------------------------------------------


def _samples(text: str) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_are_404_unless_from_an_allowed_network_or_an_administrators_admin_token(
    settings, client, administrator, owner
):
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics").status_code == 404
    client.force_login(administrator)
    assert client.get("/metrics").status_code == 404, "a session is not enough"
    client.logout()

    model = make_model(owner, name="m")
    tokens = {
        "admin": services.token_create(actor=administrator, user=administrator, name="prom", scopes=["admin"])[1],
        "read": services.token_create(actor=administrator, user=administrator, name="r", scopes=["read"])[1],
        "restricted": services.token_create(
            actor=administrator, user=administrator, name="m", scopes=["admin"], model=model
        )[1],
        "owner": services.token_create(actor=owner, user=owner, name="o", scopes=["admin"])[1],
    }
    answers = {name: client.get("/metrics", **bearer(secret)).status_code for name, secret in tokens.items()}
    assert answers == {"admin": 200, "read": 404, "restricted": 404, "owner": 404}
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer arb_wrong").status_code == 404

    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "127.0.0.0/8"]
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 404


def test_metrics_report_the_registry_and_the_processes(
    settings, client, owner, artifact_storage, eager_tasks, django_capture_on_commit_callbacks
):
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    version = make_version(owner, make_model(owner, name="m"))
    before = _samples(client.get("/metrics").content.decode())
    task = ("arbiter_tasks_total", (("outcome", "success"), ("task", "registry.tasks.validate_artifact")))
    with django_capture_on_commit_callbacks(execute=True):  # validated in-process (eager tasks in tests)
        services.artifact_upload(
            actor=owner, version=version, uploaded_file=_file(safetensors_bytes()), filename="m.safetensors"
        )
    client.force_login(owner)
    assert client.get("/api/v1/models/").status_code == 200

    samples = _samples(client.get("/metrics").content.decode())

    assert samples[("arbiter_artifacts", (("status", ArtifactStatus.VALID),))] == 1
    assert samples[("arbiter_artifacts", (("status", ArtifactStatus.PENDING),))] == 0
    assert samples[("arbiter_validation_oldest_waiting_seconds", ())] == 0
    assert samples[("arbiter_audit_head_seq", ())] > 0
    assert samples[("arbiter_approval_requests_open", (("age", "under_1d"),))] == 0
    assert samples[("arbiter_webhook_deliveries_failing", (("state", "failed"),))] == 0
    assert samples[task] == before.get(task, 0) + 1
    requests = (
        "django_http_requests_total_by_view_transport_method_total",
        (("method", "GET"), ("transport", "http"), ("view", "api:model-list")),
    )
    assert samples[requests] >= 1
    assert any(name == "django_db_execute_total" for name, _ in samples) == (connection.vendor == "postgresql")


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("m.safetensors", data)
