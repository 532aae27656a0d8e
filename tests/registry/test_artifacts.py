"""Artifacts through the API and the services: upload, validation verdicts, downloads, bad input."""

import base64
import hashlib
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from governance.models import AuditEvent
from registry import services
from registry.choices import ArtifactStatus, Stage
from registry.exceptions import Conflict
from registry.models import Artifact
from tests.artifact_files import safetensors_bytes, sha256_of
from tests.conftest import bearer
from tests.factories import make_model, make_version

pytestmark = pytest.mark.usefixtures("artifact_storage")


@pytest.fixture
def version(owner):
    return make_version(owner, make_model(owner, name="credit-scoring"))


@pytest.fixture
def token(owner):
    return services.token_create(actor=owner, user=owner, name="pipeline", scopes=["write"])[1]


@pytest.fixture
def client(api, token):
    api.credentials(**bearer(token))
    return api


BASE = "/api/v1/models/credit-scoring/versions/1/artifacts/"


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def validate(artifact_id: int) -> Artifact:
    """What the worker does (the real-worker path is covered in test_artifact_worker.py)."""
    return services.artifact_validate(artifact_id=artifact_id)


def test_multipart_upload_is_accepted_pending_then_validated_to_its_content_address(client, version, artifact_storage):
    data = safetensors_bytes()
    response = client.post(
        BASE, {"file": SimpleUploadedFile("model.safetensors", data), "kind": "weights"}, format="multipart"
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["sha256"] is None and body["size"] == len(data)
    assert body["url"].endswith(f"/artifacts/{body['id']}/") and body["download_url"].endswith("/download")

    artifact = validate(body["id"])
    assert artifact.status == ArtifactStatus.VALID
    assert artifact.sha256 == sha256_of(data)
    assert artifact.storage_key == f"blobs/sha256/{artifact.sha256[:2]}/{artifact.sha256}"
    assert stored_files(artifact_storage) == [artifact.storage_key]
    polled = client.get(body["url"]).json()
    assert polled["status"] == "valid" and polled["sha256"] == sha256_of(data)
    actions = list(AuditEvent.objects.filter(target_type="artifact").order_by("seq").values_list("action", flat=True))
    assert actions == ["artifact.uploaded", "artifact.validated"]


def test_raw_put_streams_the_body_with_declared_checksum(client, version):
    data = safetensors_bytes()
    response = client.generic(
        "PUT",
        BASE + "model.safetensors?kind=weights",
        data,
        content_type="application/octet-stream",
        HTTP_X_CHECKSUM_SHA256=sha256_of(data),
    )
    assert response.status_code == 202, response.content
    assert response.json()["filename"] == "model.safetensors" and response.json()["kind"] == "weights"
    assert validate(response.json()["id"]).status == ArtifactStatus.VALID


def test_wrong_declared_checksum_is_rejected_with_both_digests(client, version):
    data = safetensors_bytes()
    wrong = "0" * 64
    response = client.generic("PUT", BASE + "model.safetensors", data, HTTP_X_CHECKSUM_SHA256=wrong)
    artifact = validate(response.json()["id"])
    assert artifact.status == ArtifactStatus.REJECTED
    finding = next(f for f in artifact.findings if f["code"] == "checksum.mismatch")
    assert wrong in finding["message"] and sha256_of(data) in finding["message"]


def test_empty_file_is_rejected(client, version):
    response = client.generic("PUT", BASE + "empty.bin", b"", CONTENT_LENGTH="0")
    assert response.status_code == 202
    artifact = validate(response.json()["id"])
    assert artifact.status == ArtifactStatus.REJECTED
    assert any(f["severity"] == "error" for f in artifact.findings)


def test_identical_files_are_stored_once(client, owner, version, artifact_storage):
    data = safetensors_bytes()
    first = client.generic("PUT", BASE + "a.safetensors", data).json()["id"]
    second = client.generic("PUT", BASE + "b.safetensors", data).json()["id"]
    validate(first), validate(second)
    assert Artifact.objects.get(pk=first).storage_key == Artifact.objects.get(pk=second).storage_key
    assert len(stored_files(artifact_storage)) == 1


def test_duplicate_validation_delivery_is_harmless(client, version):
    artifact_id = client.generic("PUT", BASE + "m.safetensors", safetensors_bytes()).json()["id"]
    assert validate(artifact_id).status == ArtifactStatus.VALID
    assert validate(artifact_id) is None, "a second delivery finds it decided and does nothing"
    assert AuditEvent.objects.filter(action="artifact.validated").count() == 1


def test_validation_attempts_are_bounded(client, version, settings):
    artifact_id = client.generic("PUT", BASE + "m.safetensors", safetensors_bytes()).json()["id"]
    Artifact.objects.filter(pk=artifact_id).update(
        status=ArtifactStatus.VALIDATING, attempts=settings.ARTIFACT_MAX_ATTEMPTS
    )
    assert validate(artifact_id) is None
    artifact = Artifact.objects.get(pk=artifact_id)
    assert artifact.status == ArtifactStatus.ERROR
    assert artifact.findings[0]["code"] == "validation.attempts_exhausted"


@pytest.mark.parametrize(
    "filename", ["../../etc/passwd", "dir/model.bin", "model\x00.bin", "evil\nname.bin", ".hidden", "C:evil.bin"]
)
def test_hostile_filenames_are_refused_and_nothing_is_stored(client, owner, version, artifact_storage, filename):
    response = client.post(
        BASE, {"file": SimpleUploadedFile("x.bin", b"data"), "filename": filename}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert "filename" in response.json()["error"]["fields"]
    assert stored_files(artifact_storage) == []
    assert not Artifact.objects.exists()


def test_upload_above_the_size_limit_gets_413_and_leaves_nothing(client, version, settings, artifact_storage, tmp_path):
    settings.ARTIFACT_MAX_BYTES = 1000
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    before = set(os.listdir(tmp_path))
    multipart = client.post(BASE, {"file": SimpleUploadedFile("big.bin", b"x" * 5000)}, format="multipart")
    assert multipart.status_code == 413 and multipart.json()["error"]["code"] == "too_large"
    raw = client.generic("PUT", BASE + "big.bin", b"x" * 5000)
    assert raw.status_code == 413
    assert stored_files(artifact_storage) == [] and not Artifact.objects.exists()
    assert set(os.listdir(tmp_path)) == before, "no temporary file left behind"


def test_client_disconnecting_mid_upload_leaves_nothing(
    live_server, owner, version, artifact_storage, tmp_path, settings
):
    """A real socket sends the headers and part of the body, then hangs up."""
    import socket
    import time
    from urllib.parse import urlparse

    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    _, secret = services.token_create(actor=owner, user=owner, name="t", scopes=["write"])
    address = urlparse(live_server.url)
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(
            (
                f"PUT {BASE}cut.safetensors HTTP/1.1\r\nHost: {address.netloc}\r\n"
                f"Authorization: Bearer {secret}\r\nContent-Length: 10000000\r\n\r\n"
            ).encode()
            + b"x" * 65536
        )
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(10)
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert b"400" in reply.split(b"\r\n", 1)[0]
    assert b"upload_incomplete" in reply or b"ended after" in reply
    time.sleep(0.2)
    assert stored_files(artifact_storage) == [] and not Artifact.objects.exists()
    assert os.listdir(spool) == [], "the temporary file is gone"


def test_put_without_content_length_is_refused(client, version):
    response = client.generic("PUT", BASE + "x.bin", b"abc", CONTENT_LENGTH="")
    assert response.status_code == 400 and response.json()["error"]["code"] == "length_required"


def test_frozen_version_files_never_change(client, owner, version):
    artifact_id = client.generic("PUT", BASE + "m.safetensors", safetensors_bytes()).json()["id"]
    validate(artifact_id)
    services.version_stage_apply(actor=owner, version=version, stage=Stage.STAGING)
    response = client.generic("PUT", BASE + "other.safetensors", safetensors_bytes())
    assert response.status_code == 409 and response.json()["error"]["code"] == "version_frozen"
    assert client.delete(f"{BASE}{artifact_id}/").status_code == 409


def test_duplicate_filename_is_a_conflict(client, version):
    client.generic("PUT", BASE + "m.safetensors", safetensors_bytes())
    again = client.generic("PUT", BASE + "m.safetensors", safetensors_bytes())
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_filename"


def test_download_streams_with_digest_headers_and_is_recorded(client, version):
    data = safetensors_bytes()
    artifact_id = client.generic("PUT", BASE + "model v1 ✓.safetensors", data).json()["id"]
    validate(artifact_id)
    response = client.get(f"{BASE}{artifact_id}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    encoded = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert response["Digest"] == f"sha-256={encoded}"
    assert response["Repr-Digest"] == f"sha-256=:{encoded}:"
    assert response["ETag"] == f'"{sha256_of(data)}"'
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''model%20v1%20%E2%9C%93")
    assert AuditEvent.objects.filter(action="artifact.downloaded").count() == 1


def test_pending_files_are_not_downloadable(client, version):
    artifact_id = client.generic("PUT", BASE + "m.safetensors", safetensors_bytes()).json()["id"]
    response = client.get(f"{BASE}{artifact_id}/download")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_validated"


def test_rejected_files_need_an_administrator_override(client, api, version, administrator):
    artifact_id = client.generic("PUT", BASE + "m.bin", b"data", HTTP_X_CHECKSUM_SHA256="1" * 64).json()["id"]
    assert validate(artifact_id).status == ArtifactStatus.REJECTED
    assert client.get(f"{BASE}{artifact_id}/download").status_code == 403
    api.credentials()
    api.force_login(administrator)
    refused = api.get(f"{BASE}{artifact_id}/download")
    assert refused.status_code == 403 and "override" in refused.json()["error"]["message"]
    allowed = api.get(f"{BASE}{artifact_id}/download?override=1")
    assert allowed.status_code == 200 and b"".join(allowed.streaming_content) == b"data"
    event = AuditEvent.objects.filter(action="artifact.downloaded").get()
    assert event.changes["override"] is True and event.actor_label == "administrator"


def test_scrubbing_marks_changed_blobs_corrupted_and_downloads_abort(client, version, artifact_storage):
    data = safetensors_bytes()
    artifact_id = client.generic("PUT", BASE + "m.safetensors", data).json()["id"]
    artifact = validate(artifact_id)
    blob = artifact_storage / artifact.storage_key
    download = client.get(f"{BASE}{artifact_id}/download")
    blob.write_bytes(data[:-1] + b"\x01")  # the bytes change on disk after validation
    with pytest.raises(IOError, match="no longer match"):
        b"".join(download.streaming_content)
    assert Artifact.objects.get(pk=artifact_id).status == ArtifactStatus.CORRUPTED
    assert AuditEvent.objects.filter(action="artifact.corrupted").count() == 1


def test_artifacts_verify_command_reports_corruption(client, version, artifact_storage):
    from django.core.management import CommandError, call_command

    artifact = validate(client.generic("PUT", BASE + "m.safetensors", safetensors_bytes()).json()["id"])
    call_command("artifacts", "verify", stdout=io.StringIO())
    assert Artifact.objects.get(pk=artifact.pk).status == ArtifactStatus.VALID
    (artifact_storage / artifact.storage_key).unlink()
    with pytest.raises(CommandError, match="1 artifact"):
        call_command("artifacts", "verify", stdout=io.StringIO())
    assert Artifact.objects.get(pk=artifact.pk).status == ArtifactStatus.CORRUPTED


def test_version_cannot_leave_development_until_files_are_valid(owner, client, version):
    from governance.services import version_transition

    artifact_id = client.generic("PUT", BASE + "m.safetensors", safetensors_bytes()).json()["id"]
    with pytest.raises(Conflict, match="m.safetensors is pending"):
        version_transition(actor=owner, version=version, stage=Stage.STAGING)
    validate(artifact_id)
    version_transition(actor=owner, version=version, stage=Stage.STAGING)


def test_read_token_cannot_upload(api, owner, version):
    _, secret = services.token_create(actor=owner, user=owner, name="ro", scopes=["read"])
    api.credentials(**bearer(secret))
    response = api.generic("PUT", BASE + "m.safetensors", safetensors_bytes())
    assert response.status_code == 403 and "write" in response.json()["error"]["message"]
    assert api.get(BASE).status_code == 200
