"""When a part fails: Redis, PostgreSQL or the artifact storage going away degrades the API instead of
answering 500 (issue 20, "When a part fails")."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from prometheus_client import REGISTRY

from registry import services
from registry.api import throttling
from registry.models import Artifact, RegisteredModel
from tests.artifact_files import safetensors_bytes
from tests.conftest import bearer, free_port
from tests.factories import make_model, make_version


def _fallbacks() -> float:
    return REGISTRY.get_sample_value("arbiter_throttle_fallback_total") or 0


def test_redis_down_the_api_keeps_answering_with_per_process_limits(
    settings, private_redis, outage_state, api, owner, caplog
):
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": private_redis.url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "4/minute"},
    }
    model = make_model(owner, name="churn")
    make_version(owner, model)
    _, secret = services.token_create(actor=owner, user=owner, name="cd", scopes=["read"])
    api.credentials(**bearer(secret))
    assert api.get("/api/v1/models/churn/").status_code == 200  # counted in Redis
    private_redis.stop()
    before = _fallbacks()

    with caplog.at_level(logging.WARNING, logger="config.cache"):
        answers = [api.get(path) for path in ("/api/v1/models/", "/api/v1/models/churn/", "/api/v1/models/churn/")]
        hot_path = api.get("/api/v1/models/churn/production")  # the CD hot path: no production version yet
        refused = api.get("/api/v1/models/churn/")

    assert [r.status_code for r in answers] == [200, 200, 200]
    assert hot_path.status_code == 404 and hot_path.json()["error"]["code"]
    # The per-process budget counts from zero (Redis's count is out of reach) and still refuses the fifth.
    assert refused.status_code == 429
    assert _fallbacks() - before == 5
    logged = [r.getMessage() for r in caplog.records if r.name == "config.cache"]
    assert len(logged) == 1 and logged[0].startswith("shared cache unreachable"), logged
    assert outage_state.since is not None

    private_redis.start()
    throttling._FALLBACK_CACHE.clear()
    assert api.get("/api/v1/models/churn/").status_code == 200
    assert outage_state.since is None, "the next request found Redis back"
    assert _fallbacks() - before == 5


@pytest.mark.django_db(transaction=True)
def test_database_lost_mid_request_answers_503_and_nothing_is_written(postgres, api, owner):
    _, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["write"])
    api.credentials(**bearer(secret))
    with connection.cursor() as cursor:  # the server ends this connection as the model's row is inserted
        cursor.execute(
            "CREATE FUNCTION ops_test_die() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NEW; END $$;"
            "CREATE TRIGGER ops_test_die AFTER INSERT ON registry_registeredmodel "
            "FOR EACH ROW EXECUTE FUNCTION ops_test_die()"
        )
    try:
        response = api.post("/api/v1/models/", {"name": "doomed", "title": "Doomed"}, format="json")
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER ops_test_die ON registry_registeredmodel; DROP FUNCTION ops_test_die()")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert not RegisteredModel.objects.filter(name="doomed").exists()
    assert api.post("/api/v1/models/", {"name": "doomed", "title": "Doomed"}, format="json").status_code == 201


def test_artifact_storage_unreachable_refuses_uploads_with_503(settings, monkeypatch, api, owner):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    unreachable = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "arbiter",
            "endpoint_url": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "region_name": "us-east-1",
            "file_overwrite": False,
        },
    }
    settings.STORAGES = {**settings.STORAGES, "artifacts": unreachable}
    make_version(owner, make_model(owner, name="m"))
    _, secret = services.token_create(actor=owner, user=owner, name="p", scopes=["write"])
    api.credentials(**bearer(secret))

    response = api.generic("PUT", "/api/v1/models/m/versions/1/artifacts/a.safetensors", safetensors_bytes())

    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "30"
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert not Artifact.objects.exists()
