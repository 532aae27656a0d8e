"""Backup and restore of a whole Arbiter: the PostgreSQL database, every file of the artifact storage (the
content-addressed blobs, pending uploads, assessment evidence and the audit checkpoints), and a manifest with
the SHA-256 of every part (`manage.py backup`, docs/operations.md).

A backup directory holds `database.dump` (pg_dump's custom format: one consistent snapshot), `storage/<key>` for
each stored file, and `manifest.json`. A restore checks the manifest before touching anything, refuses a target
that is not empty (unless forced), runs pg_restore, copies the files back, re-hashes the restored blobs (all, or
a sample) and ends with the audit verification against the restored checkpoints.

Backups and restores record no audit event: they copy the trail, they do not change it (a restore's own event
would make the restored chain differ from the one that was backed up).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages
from django.db import connection, transaction
from django.utils import timezone

from governance import checkpoints
from governance.models import AuditEvent
from registry import blobstore

FORMAT = 1
DUMP = "database.dump"
MANIFEST = "manifest.json"
FILES = "storage"
CHUNK = 4 * 1024 * 1024
SKIPPED_PREFIXES = ("health_check_storage_test/",)  # the health check's probe files, deleted as they are written


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why (the first problem found)."""


@dataclass(frozen=True)
class RestoreReport:
    files: int
    rehashed: int
    audit: str


def _storage():
    return storages["artifacts"]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _checkpoint_after(key: str, head: int) -> bool:
    """A checkpoint (`audit-checkpoints/<seq>.json`) of an event newer than the dumped chain's head."""
    folder, _, name = key.rpartition("/")
    return folder == checkpoints.PREFIX and name.removesuffix(".json").isdigit() and int(name[:-5]) > head


def _pg_environment() -> dict[str, str]:
    if connection.vendor != "postgresql":
        raise BackupError("backups need PostgreSQL (DATABASE_URL=postgres://...): pg_dump and pg_restore do the work")
    db = connection.settings_dict
    values = {"PGDATABASE": db["NAME"], "PGUSER": db["USER"], "PGPASSWORD": db["PASSWORD"], "PGHOST": db["HOST"]}
    values["PGPORT"] = str(db["PORT"] or "")
    return {**os.environ, **{key: str(value) for key, value in values.items() if value}}


def _run(command: list[str]) -> None:
    result = subprocess.run(command, env=_pg_environment(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")


def backup_create(*, target: Path, progress: Callable[[str], None] = lambda line: None) -> dict:
    """Write a backup into `target` (a new or empty directory) and return its manifest."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: back up into a new directory")
    (target / FILES).mkdir(parents=True, exist_ok=True)
    progress("dumping the database (pg_dump, custom format)")
    with transaction.atomic(), connection.cursor() as cursor:
        # One snapshot for the dump and for what is read here: the audit head the dump holds, so checkpoints
        # written after it are left out (they would name events the restored chain does not have).
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        _run(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}", "--file", str(target / DUMP)])
    store, files = _storage(), []
    for key in blobstore.walk():
        if key.startswith(SKIPPED_PREFIXES) or _checkpoint_after(key, head):
            continue
        destination = target / FILES / key
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with store.open(key, "rb") as source, destination.open("wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        files.append({"key": key, "sha256": digest.hexdigest(), "size": size})
        if len(files) % 100 == 0:
            progress(f"copied {len(files)} files")
    manifest = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "audit_head_seq": head,
        "database": {"file": DUMP, "sha256": _sha256_file(target / DUMP), "size": (target / DUMP).stat().st_size},
        "files": files,
        "checkpoints": [f["key"] for f in files if f["key"].startswith(f"{checkpoints.PREFIX}/")],
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    progress(f"backup complete: database, {len(files)} files, audit head #{head}")
    return manifest


def _choose(files: list[dict], sample: int | None) -> list[dict]:
    """All files, or `sample` of them chosen at random."""
    return files if sample is None else random.sample(files, min(sample, len(files)))


def _read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{source / MANIFEST} cannot be read: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def _check_part(path: Path, expected: dict, what: str, *, rehash: bool) -> None:
    if not path.is_file():
        raise BackupError(f"{what} is missing from the backup")
    if path.stat().st_size != expected["size"]:
        raise BackupError(f"{what} has {path.stat().st_size} bytes, the manifest says {expected['size']}")
    if rehash and _sha256_file(path) != expected["sha256"]:
        raise BackupError(f"{what} does not match its SHA-256 in the manifest: the backup is damaged")


def backup_verify(*, source: Path, sample: int | None = None) -> dict:
    """Check a backup against its manifest: the dump's SHA-256, every file's size, and every file's SHA-256 (or
    `sample` of them, chosen at random). Raises BackupError naming the first part that does not match."""
    source = Path(source)
    manifest = _read_manifest(source)
    _check_part(source / DUMP, manifest["database"], DUMP, rehash=True)
    chosen = _choose(manifest["files"], sample)
    rehashed = {f["key"] for f in chosen}
    for entry in manifest["files"]:
        _check_part(source / FILES / entry["key"], entry, f"{FILES}/{entry['key']}", rehash=entry["key"] in rehashed)
    return manifest


def _target_problems() -> list[str]:
    problems = []
    tables = connection.introspection.table_names()
    if tables:
        problems.append(f"the database {connection.settings_dict['NAME']} has {len(tables)} tables")
    if next(blobstore.walk(), None) is not None:
        problems.append("the artifact storage holds files")
    return problems


def backup_restore(
    *, source: Path, force: bool = False, sample: int | None = None, progress: Callable[[str], None] = lambda line: None
) -> RestoreReport:
    """Restore a backup into this deployment's database and artifact storage, which must be empty unless `force`.
    Verifies the backup first, then restores, re-hashes the restored blobs and verifies the audit chain."""
    source = Path(source)
    progress("checking the backup against its manifest")
    manifest = backup_verify(source=source, sample=sample)
    problems = _target_problems()
    if problems and not force:
        raise BackupError(f"the target is not empty ({'; '.join(problems)}): restore into an empty one, or --force")
    progress("restoring the database (pg_restore)")
    connection.close()
    command = ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", connection.settings_dict["NAME"]]
    if force:
        command[1:1] = ["--clean", "--if-exists"]
    _run([*command, str(source / DUMP)])
    connection.close()
    store = _storage()
    for count, entry in enumerate(manifest["files"], 1):
        key = entry["key"]
        if force and store.exists(key):
            store.delete(key)
        with (source / FILES / key).open("rb") as handle:
            saved = store.save(key, File(handle, name=key))
        if saved != key:
            raise BackupError(f"the storage stored {key} as {saved}")
        if count % 100 == 0:
            progress(f"restored {count} files")
    chosen = _choose(manifest["files"], sample)
    for entry in chosen:
        digest = hashlib.sha256()
        with store.open(entry["key"], "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            raise BackupError(f"restored file {entry['key']} does not match its SHA-256")
        name = entry["key"].rsplit("/", 1)[-1]
        if entry["key"].startswith("blobs/sha256/") and name != entry["sha256"]:
            raise BackupError(f"blob {entry['key']} holds content with SHA-256 {entry['sha256']}")
    progress("verifying the audit chain against the restored checkpoints")
    result, compared = checkpoints.verify()
    if not result.ok:
        raise BackupError(f"audit verification failed after the restore: {result}")
    if result.last_seq != manifest["audit_head_seq"]:  # the dump and the head were read in one snapshot
        raise BackupError(f"the restored chain ends at #{result.last_seq}, the backup at #{manifest['audit_head_seq']}")
    audit = f"{result}; {compared} checkpoints compared"
    return RestoreReport(files=len(manifest["files"]), rehashed=len(chosen), audit=audit)
