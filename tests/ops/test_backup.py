"""Backup and restore on PostgreSQL: back up a registry with artifacts, audit events and checkpoints, restore it
into an empty scratch database and storage, and find the catalog, the files and the audit chain as before; a
damaged backup is refused with the reason."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from governance import checkpoints
from registry import services
from registry.models import Artifact
from tests.artifact_files import safetensors_bytes
from tests.factories import make_model, make_version

ROOT = Path(__file__).resolve().parents[2]


def _server_url(database: str) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"


@pytest.fixture
def scratch_database(postgres):
    """An empty database of this test's own, dropped afterwards (never the test database others use)."""
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _restore(backup: Path, database: str, media: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": _server_url(database),
        "MEDIA_ROOT": str(media),
        "STORAGE_URL": "",
        "AUDIT_HMAC_KEY": settings.AUDIT_HMAC_KEY,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "backup", "restore", "--from", str(backup), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _rows(conn, sql: str) -> list[tuple]:
    return [tuple(row) for row in conn.execute(sql).fetchall()]


CATALOG = {
    "models": "SELECT name, title FROM registry_registeredmodel ORDER BY name",
    "versions": "SELECT m.name, v.version, v.stage FROM registry_modelversion v "
    "JOIN registry_registeredmodel m ON m.id = v.model_id ORDER BY 1, 2",
    "artifacts": "SELECT filename, sha256, size, status, storage_key FROM registry_artifact ORDER BY filename",
    "audit": "SELECT seq, hash FROM governance_auditevent ORDER BY seq",
}


@pytest.fixture
def registry_backup(postgres, owner, artifact_storage, eager_tasks, tmp_path, django_capture_on_commit_callbacks):
    """A small registry (two models, an artifact, audit events, a checkpoint) and its backup."""
    model = make_model(owner, name="churn")
    version = make_version(owner, model)
    make_model(owner, name="fraud")
    with django_capture_on_commit_callbacks(execute=True):
        services.artifact_upload(
            actor=owner, version=version, uploaded_file=_upload(safetensors_bytes()), filename="w.safetensors"
        )
    assert checkpoints.checkpoint_write() is not None  # committed: the tests using this are transactional
    backup = tmp_path / "backup"
    call_command("backup", "create", "--to", str(backup))
    return backup


@pytest.mark.django_db(transaction=True)
def test_restore_into_an_empty_database_gives_back_catalog_files_and_a_verified_chain(
    registry_backup, scratch_database, artifact_storage, tmp_path
):
    media = tmp_path / "restored-media"
    result = _restore(registry_backup, scratch_database, media)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("OK: ") and "OK: " in result.stdout.split("audit ", 1)[1]

    with (
        psycopg.connect(_server_url(scratch_database)) as restored,
        psycopg.connect(_server_url(connection.settings_dict["NAME"])) as original,
    ):
        catalog = {key: _rows(restored, sql) for key, sql in CATALOG.items()}
        assert catalog == {key: _rows(original, sql) for key, sql in CATALOG.items()}
    assert len(catalog["models"]) == 2 and len(catalog["artifacts"]) == 1 and len(catalog["audit"]) > 3
    artifact = Artifact.objects.get()
    assert artifact.status == "valid"
    restored_bytes = (media / artifact.storage_key).read_bytes()
    assert restored_bytes == (artifact_storage / artifact.storage_key).read_bytes()
    assert hashlib.sha256(restored_bytes).hexdigest() == artifact.sha256
    assert sorted(p.name for p in (media / checkpoints.PREFIX).iterdir()) == sorted(
        p.name for p in (artifact_storage / checkpoints.PREFIX).iterdir()
    )
    verify = subprocess.run(
        [sys.executable, "manage.py", "audit", "verify"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": _server_url(scratch_database), "MEDIA_ROOT": str(media)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0 and verify.stdout.startswith("OK"), verify.stdout + verify.stderr


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.django_db(transaction=True)
def test_a_damaged_backup_or_a_non_empty_target_is_refused_with_the_reason(registry_backup, scratch_database, tmp_path):
    blob = next(p for p in (registry_backup / "storage" / "blobs").rglob("*") if p.is_file())
    _flip_byte(blob, 100)
    result = _restore(registry_backup, scratch_database, tmp_path / "m1")
    assert result.returncode != 0
    assert f"storage/blobs/sha256/{blob.parent.name}/{blob.name} does not match its SHA-256" in result.stderr
    _flip_byte(blob, 100)  # repaired

    _flip_byte(registry_backup / "database.dump", 2000)
    result = _restore(registry_backup, scratch_database, tmp_path / "m2")
    assert result.returncode != 0
    assert "database.dump does not match its SHA-256 in the manifest: the backup is damaged" in result.stderr
    with psycopg.connect(_server_url(scratch_database)) as untouched:
        assert _rows(untouched, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
    _flip_byte(registry_backup / "database.dump", 2000)

    with pytest.raises(CommandError, match="the target is not empty"):  # this deployment holds the registry
        call_command("backup", "restore", "--from", str(registry_backup))


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("w.safetensors", data)
