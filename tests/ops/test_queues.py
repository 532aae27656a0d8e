"""Queues: a long validation never delays a webhook, because each runs on its own queue and worker pool."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.files import File

from config.celery import app, route_task
from governance import webhooks
from governance.choices import WebhookEvent
from registry import services
from registry.models import Artifact
from tests.artifact_files import write_safetensors
from tests.conftest import _reset_broker, wait_for
from tests.factories import make_model, make_version
from tests.registry.test_artifact_worker import _database_url
from tests.webhook_receiver import Receiver


def test_long_artifact_tasks_go_to_the_validation_queue_and_the_rest_to_the_default_queue(settings):
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "default"
    assert route_task("registry.tasks.validate_artifact", (), {}, {}) == {"queue": app.conf.validation_queue}
    assert route_task("registry.tasks.scrub_artifacts", (), {}, {}) == {"queue": app.conf.validation_queue}
    for name in ("governance.tasks.deliver_webhook", "governance.tasks.assessments_review"):
        assert route_task(name, (), {}, {}) is None


def _worker(*, broker: str, default: str, validation: str, consumes: str, media: Path, log: Path):
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": broker,
        "CELERY_QUEUE": default,
        "CELERY_VALIDATION_QUEUE": validation,
        "MEDIA_ROOT": str(media),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    }
    command = [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "--pool=solo", "-Q", consumes]
    command += ["--loglevel=INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    return subprocess.Popen(
        command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2]
    )


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_delivered_while_the_validation_worker_is_busy_with_a_long_scan(
    postgres, private_redis, owner, artifact_storage, settings, tmp_path
):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    default, validation = f"default-{uuid.uuid4().hex[:8]}", f"validation-{uuid.uuid4().hex[:8]}"
    previous = (app.conf.broker_url, app.conf.task_default_queue, app.conf.task_always_eager)
    previous_validation = app.conf.validation_queue
    _reset_broker(app, private_redis.url, default)
    app.conf.validation_queue = validation
    receiver = Receiver().start()
    log = tmp_path / "workers.log"
    queues = {"default": default, "validation": validation, "media": artifact_storage, "log": log}
    workers = [
        _worker(broker=private_redis.url, consumes=validation, **queues),
        _worker(broker=private_redis.url, consumes=default, **queues),
    ]
    try:
        model = make_model(owner, name="m")
        version = make_version(owner, model)
        webhooks.webhook_subscription_create(
            actor=owner, name="cd", url=receiver.url, event_types=[WebhookEvent.VERSION_CREATED], model=model
        )
        big = write_safetensors(tmp_path / "big.safetensors", 1024**3)
        with big.open("rb") as handle:
            artifact = services.artifact_upload(
                actor=owner, version=version, uploaded_file=File(handle, name="big.safetensors"), filename="big"
            )
        big.unlink()
        status = Artifact.objects.filter(pk=artifact.pk).values_list("status", flat=True)
        wait_for(lambda: status.get() == "validating", timeout=60, interval=0.01, what="the long scan to start")

        make_version(owner, model)  # version.created: a webhook delivery on the default queue

        wait_for(lambda: receiver.requests, timeout=30, what="the webhook delivery", interval=0.01)
        assert status.get() == "validating", "the webhook arrived while the validation worker was still busy"
        wait_for(lambda: status.get() not in ("pending", "validating"), timeout=180, what="the long scan to end")
        assert status.get() == "valid", log.read_text()[-3000:]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait(timeout=10)
        receiver.stop()
        _reset_broker(app, previous[0], previous[1])
        app.conf.update(task_always_eager=previous[2], validation_queue=previous_validation)
