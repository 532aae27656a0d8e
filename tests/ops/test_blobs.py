"""Storage usage per model, team and stage, and `manage.py blobs gc` for files no artifact references."""

from __future__ import annotations

import io
import os
import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from governance.models import AuditEvent
from registry import services
from tests.artifact_files import safetensors_bytes
from tests.factories import make_model, make_version

DAY = 24 * 3600


def _upload(owner, version, data: bytes, name: str):
    return services.artifact_upload(
        actor=owner, version=version, uploaded_file=SimpleUploadedFile(name, data), filename=name
    )


def _orphan(storage_dir, key: str, data: bytes, age_seconds: float):
    path = storage_dir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def test_usage_counts_a_shared_blob_once_per_group_and_every_reference(
    owner, team_alpha, artifact_storage, eager_tasks, django_capture_on_commit_callbacks
):
    data = safetensors_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        _upload(owner, make_version(owner, make_model(owner, name="a", team=team_alpha)), data, "w.safetensors")
        _upload(owner, make_version(owner, make_model(owner, name="b")), data, "w.safetensors")
    usage = services.storage_usage()
    size = len(data)
    assert usage["total"]["all"] == {"stored": size, "referenced": 2 * size}
    assert usage["model"]["a"] == usage["model"]["b"] == {"stored": size, "referenced": size}
    assert usage["team"] == {
        "Alpha": {"stored": size, "referenced": size},
        "(no team)": {"stored": size, "referenced": size},
    }
    assert usage["stage"]["development"] == {"stored": size, "referenced": 2 * size}


def test_gc_deletes_only_unreferenced_files_past_the_grace_period_and_audits_each(
    owner, artifact_storage, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        kept = _upload(owner, make_version(owner, make_model(owner, name="m")), safetensors_bytes(), "w.safetensors")
    kept.refresh_from_db()
    old_blob = _orphan(artifact_storage, "blobs/sha256/ab/" + "ab" * 32, b"left behind", 3 * DAY)
    old_upload = _orphan(artifact_storage, "uploads/0123456789abcdef", b"abandoned upload", 3 * DAY)
    fresh = _orphan(artifact_storage, "uploads/fedcba9876543210", b"still registering", 60)
    os.utime(artifact_storage / kept.storage_key, (time.time() - 3 * DAY,) * 2)

    out = io.StringIO()
    call_command("blobs", "gc", "--dry-run", stdout=out)
    assert out.getvalue().splitlines() == [
        f"would delete blobs/sha256/ab/{'ab' * 32} (11 bytes)",
        "would delete uploads/0123456789abcdef (16 bytes)",
        "would free 27 bytes in 2 files",
    ]
    assert old_blob.exists() and old_upload.exists()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("blobs", "gc", stdout=io.StringIO())
    assert not old_blob.exists() and not old_upload.exists()
    assert fresh.exists() and (artifact_storage / kept.storage_key).exists()
    events = AuditEvent.objects.filter(action="blob.deleted").order_by("seq")
    assert [(e.target_label, e.target_id, e.actor_type, e.changes["size"]) for e in events] == [
        (f"blobs/sha256/ab/{'ab' * 32}", "ab" * 32, "system", 11),
        ("uploads/0123456789abcdef", "0123456789abcdef", "system", 16),
    ]
