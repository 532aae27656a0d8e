"""Checkpoints of the audit chain in the artifact storage, and verification of the chain against them.

A database superuser can disable the append-only triggers and rewrite the trail, recomputing every hash so
that the chain verifies again. A checkpoint taken earlier catches that: it records a sequence number, the
hash the chain had there, the time, and an HMAC-SHA256 (key `AUDIT_HMAC_KEY`, which the database never
sees) over those three, and it lives outside the database, under `audit-checkpoints/` in the artifact
storage, written once and never overwritten. `verify` recomputes the chain and compares it with every
stored checkpoint; `verification_run` records the outcome for the auditor view.

Neither a checkpoint nor a verification run writes an audit event: they are bookkeeping about the trail,
not changes to the registry, and recording them would move the chain head on every periodic run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from governance.audit import VerifyResult, audit_verify, canonical_bytes, format_timestamp
from governance.models import AuditEvent, AuditVerification

PREFIX = "audit-checkpoints"


class CheckpointError(Exception):
    """A checkpoint could not be written (no key configured, or its storage key already exists)."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    time: str
    hmac: str
    key: str = ""

    def signed_fields(self) -> dict:
        return {"seq": self.seq, "hash": self.hash, "time": self.time}


def storage():
    """The artifact storage (local disk or S3, see STORAGE_URL): checkpoints live beside the blobs."""
    return storages["artifacts"]


def hmac_key() -> bytes:
    key = getattr(settings, "AUDIT_HMAC_KEY", "")
    if not key:
        raise CheckpointError(
            "AUDIT_HMAC_KEY is not set: audit checkpoints are refused. Set it to a long random secret kept "
            "outside the database (see docs/audit.md)."
        )
    return key.encode()


def sign(fields: dict, key: bytes | None = None) -> str:
    return hmac.new(key or hmac_key(), canonical_bytes(fields), hashlib.sha256).hexdigest()


def checkpoint_key(seq: int) -> str:
    return f"{PREFIX}/{seq:012d}.json"


def checkpoint_write() -> Checkpoint | None:
    """Record the current chain head in the storage. None when the head already has this checkpoint (nothing
    was recorded since); `CheckpointError` when no key is configured or the key holds anything else, which
    is never overwritten."""
    key = hmac_key()
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    if head is None:
        return None
    seq, head_hash = head
    name = checkpoint_key(seq)
    store = storage()
    if store.exists(name):
        existing = next((c for c in checkpoints_load() if c.key == name), None)
        if existing is not None and existing.seq == seq and existing.hash == head_hash:
            return None  # nothing was recorded since that checkpoint
        raise CheckpointError(
            f"checkpoint {name} already exists and records something else: refusing to overwrite it "
            "(run `manage.py audit verify`)"
        )
    fields = {"seq": seq, "hash": head_hash, "time": format_timestamp(timezone.now())}
    checkpoint = Checkpoint(**fields, hmac=sign(fields, key), key=name)
    body = json.dumps({**fields, "hmac": checkpoint.hmac}, sort_keys=True, indent=2).encode()
    saved = store.save(name, ContentFile(body))
    if saved != name:  # the storage renamed it: someone wrote this checkpoint meanwhile; never keep a second
        store.delete(saved)
        raise CheckpointError(f"checkpoint {name} already exists: refusing to overwrite it")
    return checkpoint


def checkpoints_load() -> list[Checkpoint]:
    """Every stored checkpoint, oldest first. Unreadable files come back with seq 0 (reported by verify)."""
    store = storage()
    try:
        _, files = store.listdir(PREFIX)
    except FileNotFoundError:
        return []
    found = []
    for filename in sorted(f for f in files if f.endswith(".json")):
        name = f"{PREFIX}/{filename}"
        try:
            with store.open(name, "rb") as handle:
                data = json.loads(handle.read())
            found.append(Checkpoint(int(data["seq"]), str(data["hash"]), str(data["time"]), str(data["hmac"]), name))
        except (ValueError, KeyError, TypeError):
            found.append(Checkpoint(0, "", "", "", name))
    return sorted(found, key=lambda c: c.seq)


def _checkpoint_problem(checkpoint: Checkpoint, stored: dict[int, str], head_seq: int, first_seq: int, key):
    if checkpoint.seq <= 0:
        return f"checkpoint {checkpoint.key} is unreadable"
    if key is not None and not hmac.compare_digest(sign(checkpoint.signed_fields(), key), checkpoint.hmac):
        return f"checkpoint {checkpoint.key} has an invalid HMAC (forged, or AUDIT_HMAC_KEY changed)"
    if checkpoint.seq > head_seq:
        return (
            f"the chain ends at #{head_seq} but checkpoint {checkpoint.key} of {checkpoint.time} recorded "
            f"#{checkpoint.seq}: events were removed from the end"
        )
    if checkpoint.seq < first_seq:
        return None  # archived range: the checkpoint anchors the archive, not the live chain
    if stored.get(checkpoint.seq) != checkpoint.hash:
        return (
            f"the chain was rewritten: event #{checkpoint.seq} no longer has the hash that checkpoint "
            f"{checkpoint.key} recorded at {checkpoint.time}"
        )
    return None


def verify(*, from_seq: int = 1, workers: int = 1) -> tuple[VerifyResult, int]:
    """Recompute the chain from `from_seq` and compare it with every stored checkpoint.

    Returns the result and the number of checkpoints compared. When the event before `from_seq` has been
    archived away, a checkpoint at `from_seq - 1` anchors the walk instead.
    """
    try:
        key = hmac_key()
    except CheckpointError:
        key = None  # without the key the hashes are still compared; the HMACs cannot be checked
    checkpoints = checkpoints_load()
    first_stored = AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first()
    if from_seq == 1 and first_stored and first_stored > 1 and any(c.seq == first_stored - 1 for c in checkpoints):
        from_seq = first_stored  # an archived range, anchored by a checkpoint (docs/audit.md, "Archiving")
    anchor = None
    if from_seq > 1 and not AuditEvent.objects.filter(seq=from_seq - 1).exists():
        anchor = next((c for c in checkpoints if c.seq == from_seq - 1), None)
    result = audit_verify(from_seq=from_seq, start_prev_hash=anchor.hash if anchor else None, workers=workers)
    if not result.ok:
        return result, 0
    first_seq = first_stored or 1
    head_seq = result.last_seq
    wanted = [c.seq for c in checkpoints if first_seq <= c.seq <= head_seq]
    stored = dict(AuditEvent.objects.filter(seq__in=wanted).values_list("seq", "hash"))
    for checkpoint in checkpoints:
        problem = _checkpoint_problem(checkpoint, stored, head_seq, first_seq, key)
        if problem:
            return dataclasses.replace(result, ok=False, broken_seq=checkpoint.seq, reason=problem), len(checkpoints)
    return result, len(checkpoints)


def verification_run(*, from_seq: int = 1, workers: int = 1) -> AuditVerification:
    """Verify the chain and its checkpoints and store the outcome (shown in the auditor view)."""
    started = time.monotonic()
    result, compared = verify(from_seq=from_seq, workers=workers)
    with transaction.atomic():
        return AuditVerification.objects.create(
            ok=result.ok,
            checked=result.checked,
            last_seq=result.last_seq,
            checkpoints=compared,
            broken_seq=result.broken_seq,
            reason=result.reason,
            duration_ms=int((time.monotonic() - started) * 1000),
        )


def latest_verification() -> AuditVerification | None:
    return AuditVerification.objects.order_by("-ran_at").first()


def verification_due() -> bool:
    """No verification ran within AUDIT_VERIFY_EVERY_MINUTES (e.g. under `make run`, where no beat runs)."""
    latest = latest_verification()
    horizon = timezone.now() - timedelta(minutes=settings.AUDIT_VERIFY_EVERY_MINUTES)
    return latest is None or latest.ran_at < horizon


def verification_start_if_due() -> bool:
    """Start a verification in the background when none is recent and none was started in the last ten
    minutes (in-process, so finished on return, when tasks run eagerly as under `make run`). True if started."""
    from governance.tasks import audit_verify

    if not verification_due() or not cache.add("audit-verification-started", True, timeout=600):
        return False
    audit_verify.delay()
    return True
