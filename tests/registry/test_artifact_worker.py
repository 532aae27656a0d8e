"""The artifact pipeline with a real Celery worker consuming from Redis (never eager mode), including a
worker killed mid-validation and a broker that is down when the file is uploaded."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files import File
from django.core.management import call_command
from django.db import connection

from registry import services
from registry.choices import ArtifactStatus
from registry.models import Artifact
from tests.artifact_files import safetensors_bytes, write_safetensors
from tests.conftest import _reset_broker, bearer, thread_worker, wait_for
from tests.factories import make_model, make_version

BASE = "/api/v1/models/m/versions/1/artifacts/"


def status_of(artifact_id: int) -> str:
    return Artifact.objects.filter(pk=artifact_id).values_list("status", flat=True).get()


@pytest.fixture
def version(owner):
    return make_version(owner, make_model(owner, name="m"))


@pytest.fixture
def token(owner):
    return services.token_create(actor=owner, user=owner, name="pipeline", scopes=["write"])[1]


def test_upload_is_validated_by_a_real_worker_and_digest_matches_sha256sum(
    celery_worker, api, token, version, artifact_storage, tmp_path
):
    data = safetensors_bytes({"w": ("F32", [256, 256])}, fill=b"\x07")
    api.credentials(**bearer(token))
    response = api.generic("PUT", BASE + "model.safetensors?kind=weights", data)
    assert response.status_code == 202 and response.json()["status"] == "pending"
    artifact_id = response.json()["id"]
    wait_for(lambda: status_of(artifact_id) not in ("pending", "validating"), what="validation")
    body = api.get(response.json()["url"]).json()
    assert body["status"] == "valid"
    local = tmp_path / "model.safetensors"
    local.write_bytes(data)
    sha256sum = subprocess.run(["sha256sum", str(local)], capture_output=True, text=True, check=True)
    assert body["sha256"] == sha256sum.stdout.split()[0]


def test_rejected_file_ends_rejected_with_a_real_worker(celery_worker, api, token, version):
    api.credentials(**bearer(token))
    response = api.generic("PUT", BASE + "m.bin", b"payload", HTTP_X_CHECKSUM_SHA256="a" * 64)
    artifact_id = response.json()["id"]
    wait_for(lambda: status_of(artifact_id) not in ("pending", "validating"), what="validation")
    assert status_of(artifact_id) == ArtifactStatus.REJECTED


def _database_url() -> str:
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    return f"postgres://{user}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"


def _start_worker_process(*, broker: str, queue: str, media: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": broker,
        "CELERY_QUEUE": queue,
        "CELERY_VALIDATION_QUEUE": queue,
        "MEDIA_ROOT": str(media),
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    celery = Path(sys.executable).parent / "celery"
    command = [
        str(celery),
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        queue,
        "--loglevel=INFO",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
    ]
    return subprocess.Popen(
        command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2]
    )


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_validation_redelivers_and_the_artifact_ends_valid(
    postgres, private_redis, owner, version, artifact_storage, tmp_path
):
    from config.celery import app

    queue = "kill-test"
    previous = (app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager)
    _reset_broker(app, private_redis.url, queue)
    log = tmp_path / "worker.log"
    first = _start_worker_process(broker=private_redis.url, queue=queue, media=artifact_storage, log=log)
    second = None
    try:
        big = write_safetensors(tmp_path / "big.safetensors", 2 * 1024**3)
        with big.open("rb") as handle:
            artifact = services.artifact_upload(
                actor=owner,
                version=version,
                uploaded_file=File(handle, name="big.safetensors"),
                filename="big.safetensors",
                kind="weights",
            )
        big.unlink()
        wait_for(lambda: status_of(artifact.pk) == "validating", timeout=60, interval=0.01, what="validating")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert status_of(artifact.pk) == "validating", "the kill landed mid-validation"
        time.sleep(4)  # past the visibility timeout, so the next worker restores the unacknowledged task
        second = _start_worker_process(broker=private_redis.url, queue=queue, media=artifact_storage, log=log)
        wait_for(lambda: status_of(artifact.pk) not in ("pending", "validating"), timeout=120, what="redelivery")
        artifact.refresh_from_db()
        assert artifact.status == ArtifactStatus.VALID, log.read_text()[-3000:]
        assert artifact.attempts == 2
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        _reset_broker(app, previous[0], previous[1])
        app.conf.task_always_eager = previous[2]


@pytest.mark.django_db(transaction=True)
def test_broker_down_at_upload_then_requeued_and_validated(
    postgres, private_redis, api, token, version, artifact_storage
):
    from config.celery import app

    previous = (app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager)
    _reset_broker(app, private_redis.url, "down-test")
    try:
        private_redis.stop()
        api.credentials(**bearer(token))
        started = time.monotonic()
        response = api.generic("PUT", BASE + "m.safetensors", safetensors_bytes())
        assert response.status_code == 202 and response.json()["status"] == "pending"
        assert time.monotonic() - started < 15, "a dead broker must not hang the upload"
        artifact_id = response.json()["id"]
        time.sleep(0.5)
        assert status_of(artifact_id) == "pending"
    finally:
        _reset_broker(app, previous[0], previous[1])
        app.conf.task_always_eager = previous[2]
    private_redis.start()
    with thread_worker(private_redis.url):
        call_command("artifacts", "requeue", "--older-than", "0", stdout=io.StringIO())
        wait_for(lambda: status_of(artifact_id) not in ("pending", "validating"), what="validation after requeue")
    assert status_of(artifact_id) == ArtifactStatus.VALID
