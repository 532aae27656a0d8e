"""JSON logs (LOG_FORMAT=json) and the request id carried into Celery tasks and their audit events."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings as django_settings
from pythonjsonlogger.json import JsonFormatter

from config.logs import RequestContextFilter
from governance.models import AuditEvent
from registry import services
from registry.models import Artifact
from tests.artifact_files import safetensors_bytes
from tests.conftest import bearer, wait_for
from tests.factories import make_model, make_version

ROOT = Path(__file__).resolve().parents[2]


def test_log_format_json_writes_one_object_per_line():
    code = "import logging; logging.getLogger('arbiter.probe').warning('hello %s', 'world')"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**os.environ, "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert {k: line[k] for k in ("level", "logger", "message")} == {
        "level": "WARNING",
        "logger": "arbiter.probe",
        "message": "hello world",
    }
    assert line["time"].endswith("+00:00") and {"request_id", "user", "token_prefix"} <= set(line)


def test_a_request_log_line_names_its_request_user_and_token(api, owner):
    config = django_settings.LOGGING["formatters"]["json"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(config["fmt"], rename_fields=config["rename_fields"], timestamp=config["timestamp"])
    )
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    token, secret = services.token_create(actor=owner, user=owner, name="cd", scopes=["read"])
    api.credentials(**bearer(secret))
    try:
        response = api.get("/api/v1/models/nothing-here/", HTTP_X_REQUEST_ID="req-4711")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 404
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "Not Found: /api/v1/models/nothing-here/"
    assert (line["request_id"], line["user"], line["token_prefix"]) == ("req-4711", "owner", token.prefix)


def test_the_request_id_travels_into_the_task_and_its_audit_event(celery_worker, api, owner):
    make_version(owner, make_model(owner, name="m"))
    _, secret = services.token_create(actor=owner, user=owner, name="ci", scopes=["write"])
    api.credentials(**bearer(secret))
    response = api.generic(
        "PUT", "/api/v1/models/m/versions/1/artifacts/m.safetensors", safetensors_bytes(), HTTP_X_REQUEST_ID="req-42"
    )
    assert response.status_code == 202
    artifact_id = response.json()["id"]
    status = Artifact.objects.filter(pk=artifact_id).values_list("status", flat=True)
    wait_for(lambda: status.get() not in ("pending", "validating"), what="validation by the worker")
    validated = AuditEvent.objects.get(action="artifact.validated", target_id=str(artifact_id))
    assert validated.request_id == "req-42"
