"""The S3 storage path, over the real boto3/S3 protocol against moto's standalone server on 127.0.0.1."""

import urllib.request

import boto3
import pytest
from django.core.files.storage import storages

from registry import services
from registry.choices import ArtifactStatus
from tests.artifact_files import safetensors_bytes, sha256_of
from tests.conftest import bearer, free_port
from tests.factories import make_model, make_version

BUCKET = "arbiter-artifacts"
BASE = "/api/v1/models/m/versions/1/artifacts/"


@pytest.fixture
def s3(settings, monkeypatch):
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    backend = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "location": "registry",
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "file_overwrite": False,
            "querystring_expire": 300,
        },
    }
    settings.STORAGES = {**settings.STORAGES, "artifacts": backend}
    assert storages["artifacts"].__class__.__name__ == "S3Storage"
    yield client
    server.stop()


def keys(client) -> list[str]:
    return sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_s3_upload_validate_dedupe_and_presigned_download(s3, api, owner):
    make_version(owner, make_model(owner, name="m"))
    _, secret = services.token_create(actor=owner, user=owner, name="p", scopes=["write"])
    api.credentials(**bearer(secret))
    data = safetensors_bytes()

    first = api.generic("PUT", BASE + "a.safetensors", data).json()
    assert [k.split("/")[1] for k in keys(s3)] == ["uploads"]
    artifact = services.artifact_validate(artifact_id=first["id"])
    assert artifact.status == ArtifactStatus.VALID and artifact.sha256 == sha256_of(data)
    blob = f"registry/blobs/sha256/{artifact.sha256[:2]}/{artifact.sha256}"
    assert keys(s3) == [blob], "the upload moved to its content address"

    second = api.generic("PUT", BASE + "b.safetensors", data).json()
    services.artifact_validate(artifact_id=second["id"])
    assert keys(s3) == [blob], "identical bytes are stored once"

    download = api.get(f"{BASE}{first['id']}/download")
    assert download.status_code == 302
    assert download["Digest"].startswith("sha-256=")
    with urllib.request.urlopen(download["Location"]) as response:  # noqa: S310  (moto on loopback)
        assert response.read() == data
        assert "attachment" in response.headers["Content-Disposition"]


def test_s3_scrub_detects_a_changed_object(s3, api, owner):
    make_version(owner, make_model(owner, name="m"))
    _, secret = services.token_create(actor=owner, user=owner, name="p", scopes=["write"])
    api.credentials(**bearer(secret))
    artifact = services.artifact_validate(
        artifact_id=api.generic("PUT", BASE + "a.safetensors", safetensors_bytes()).json()["id"]
    )
    s3.put_object(Bucket=BUCKET, Key=f"registry/{artifact.storage_key}", Body=b"tampered")
    assert services.artifact_verify(artifact=artifact).status == ArtifactStatus.CORRUPTED
