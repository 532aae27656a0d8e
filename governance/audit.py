"""The audit trail's only writer, and the request context it records.

Domain services call `audit_record` inside their own transaction, so a change and its event commit
together or not at all. Appends are serialised on the chain head (an advisory lock on PostgreSQL, the
database write lock on SQLite), which keeps sequence numbers gapless and the hash chain linear.

This module imports nothing from `registry`: targets are any model instance, described by duck typing.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from governance.models import AuditEvent
from registry import permissions

GENESIS_HASH = "0" * 64
ADVISORY_LOCK_KEY = 0x41524249  # "ARBI": one lock for the one chain

HASHED_FIELDS = (
    "seq",
    "timestamp",
    "actor_type",
    "actor_id",
    "actor_label",
    "actor_token",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "model_id",
    "model_name",
    "changes",
    "request_id",
    "ip",
    "user_agent",
    "prev_hash",
)


# --- Request context --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""
    token_prefix: str = ""


_NO_REQUEST = RequestContext()
_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("audit_context", default=None)


def current_context() -> RequestContext:
    return _context.get() or _NO_REQUEST


def set_token_prefix(prefix: str) -> None:
    """Called by token authentication so events name the token that made the change."""
    ctx = current_context()
    _context.set(RequestContext(ctx.request_id, ctx.ip, ctx.user_agent, prefix))


def client_ip(request) -> str:
    # Behind a proxy, the operator's proxy is expected to set REMOTE_ADDR correctly (e.g. gunicorn's
    # --forwarded-allow-ips); X-Forwarded-For is client-controlled and not trusted here.
    return request.META.get("REMOTE_ADDR", "")


# What a client may send as its own request id: up to 64 letters, digits, dots, underscores and hyphens,
# not starting with a hyphen (so it can never read as a formula). Anything else gets a fresh id.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]{0,63}")


class RequestContextMiddleware:
    """Gives every request an id (the client's `X-Request-ID` if it is a plain token, else a fresh one; echoed
    in the response) and makes id, address and agent auditable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if REQUEST_ID_PATTERN.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _context.set(
            RequestContext(
                request_id=request_id,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:300],
            )
        )
        try:
            response = self.get_response(request)
        finally:
            _context.reset(token)
        response["X-Request-ID"] = request_id
        return response


# --- Canonical form and hashing ---------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    """Turn a value into plain JSON types whose serialisation survives a database round trip."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date | dt.time | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_json_safe(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if hasattr(value, "pk"):
        return value.pk
    return str(value)


def format_timestamp(value: dt.datetime) -> str:
    """UTC, microsecond precision, `Z` suffix: `2026-01-31T09:30:00.000000Z`."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(fields: dict[str, Any]) -> bytes:
    """The exact bytes that are hashed: sorted keys, no whitespace, UTF-8 (see docs/audit.md)."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def event_fields(event: AuditEvent | dict[str, Any]) -> dict[str, Any]:
    """The hashed fields of an event, in canonical value form."""
    get = event.get if isinstance(event, dict) else (lambda name: getattr(event, name))
    fields = {name: get(name) for name in HASHED_FIELDS}
    if not isinstance(fields["timestamp"], str):  # already canonical when read as text (`_postgres_rows`)
        fields["timestamp"] = format_timestamp(fields["timestamp"])
    fields["target_id"] = str(fields["target_id"] or "")
    return fields


def compute_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


# --- Recording --------------------------------------------------------------------------------------


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-level changes: `{field: {"before": old, "after": new}}` for every field whose value differs."""
    changes = {}
    for key in sorted(set(before) | set(after)):
        old, new = _json_safe(before.get(key)), _json_safe(after.get(key))
        if old != new:
            changes[key] = {"before": old, "after": new}
    return changes


def snapshot(instance, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of `fields` on a model instance, JSON-safe (foreign keys as ids)."""
    values = {}
    for name in fields:
        field = instance._meta.get_field(name)
        values[name] = getattr(instance, field.attname)
    return _json_safe(values)


def _actor(actor) -> tuple[str, int | None, str]:
    if actor is None:
        return "system", None, "system"
    if not getattr(actor, "is_authenticated", False):
        return "anonymous", None, "anonymous"
    kind = "service" if permissions.is_service_account(actor) else "user"
    return kind, actor.pk, actor.get_username()


def _lock_chain_head() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])


def _chain_head() -> tuple[int, str] | None:
    """(seq, hash) of the last event: plain SQL on the primary-key index, read after the head lock is held."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM {AuditEvent._meta.db_table} ORDER BY seq DESC LIMIT 1")  # noqa: S608
        return cursor.fetchone()


def audit_record(
    *,
    actor,
    action: str,
    target=None,
    target_type: str = "",
    target_id: Any = "",
    target_label: str = "",
    model=None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the transaction that makes the change.

    `target` is any model instance; its `audit_type` (or model name), pk and str() describe it, and its
    `audit_model` (if any) names the registered model the event belongs to, so a model's history shows it.
    `actor` is a user, or None for the system (Celery tasks, scheduled jobs).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change it records")
    if target is not None:
        target_type = target_type or getattr(target, "audit_type", target._meta.model_name)
        target_id = target_id or target.pk
        target_label = target_label or str(target)
        model = model if model is not None else getattr(target, "audit_model", None)
    actor_type, actor_id, actor_label = _actor(actor)
    ctx = current_context()

    _lock_chain_head()
    head = _chain_head()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)

    fields = {
        "seq": seq,
        "timestamp": timezone.now(),
        "actor_type": actor_type,
        "actor_id": actor_id,
        "actor_label": actor_label,
        "actor_token": ctx.token_prefix if actor is not None else "",
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id or ""),
        "target_label": str(target_label)[:300],
        "model_id": model.pk if model is not None else None,
        "model_name": model.name if model is not None else "",
        "changes": _json_safe(changes or {}),
        "request_id": ctx.request_id,
        "ip": ctx.ip,
        "user_agent": ctx.user_agent,
        "prev_hash": prev_hash,
    }
    digest = compute_hash(event_fields(fields))
    event = AuditEvent.objects.create(hash=digest, **fields)
    for listener in _listeners:
        listener(event)
    return event


_listeners: list[Callable[[AuditEvent], None]] = []


def audit_count(*, actor, action: str, since: dt.datetime) -> int:
    """How many `action` events `actor` caused since `since` (to count repeated refusals, for example)."""
    _, actor_id, _ = _actor(actor)
    return AuditEvent.objects.filter(actor_id=actor_id, action=action, timestamp__gte=since).count()


def register_listener(listener: Callable[[AuditEvent], None]) -> None:
    """Call `listener(event)` after every recorded event, inside the change's transaction (so its own writes
    commit or roll back with the change). Used by webhooks (governance.webhooks); registered in AppConfig.ready."""
    if listener not in _listeners:
        _listeners.append(listener)


# --- Verification -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    last_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.checked} events verified, chain head #{self.last_seq} {self.head_hash}"
        return f"BROKEN at #{self.broken_seq}: {self.reason}"


def _recorded_position(event: dict[str, Any], around: int, window: int = 16) -> int | None:
    """The sequence number an event's stored hash was computed for, if it is near `around` (a moved event)."""
    for offset in range(1, window + 1):
        for candidate in (around - offset, around + offset):
            if candidate >= 1 and compute_hash(event_fields({**event, "seq": candidate})) == event["hash"]:
                return candidate
    return None


def verify_events(events: Iterable[dict[str, Any]], *, start_prev_hash: str, start_seq: int) -> VerifyResult:
    """Walk events in sequence order and report the first one that breaks the chain, and why."""
    expected_seq, prev_hash, checked, last_seq = start_seq, start_prev_hash, 0, start_seq - 1

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, last_seq, prev_hash, seq, reason)

    for event in events:
        seq = event["seq"]
        if seq > expected_seq:
            return broken(expected_seq, f"gap: events #{expected_seq} to #{seq - 1} are missing")
        if seq < expected_seq:
            return broken(seq, f"out of order: #{seq} appears after #{expected_seq - 1}")
        if compute_hash(event_fields(event)) != event["hash"]:
            moved_from = _recorded_position(event, seq)
            if moved_from is not None:
                return broken(seq, f"reordered: the event stored here was recorded as #{moved_from}")
            return broken(seq, "hash mismatch: the event's fields were altered after it was recorded")
        if event["prev_hash"] != prev_hash:
            return broken(
                seq,
                "chain break: prev_hash does not match the previous event's hash "
                "(an event before it was removed or replaced)",
            )
        prev_hash, last_seq, expected_seq, checked = event["hash"], seq, seq + 1, checked + 1
    return VerifyResult(True, checked, last_seq, prev_hash)


def audit_verify(*, from_seq: int = 1, start_prev_hash: str | None = None, workers: int = 1) -> VerifyResult:
    """Recompute the stored chain from `from_seq` (default: the genesis) to the head.

    `start_prev_hash` is the hash the event before `from_seq` had, when that event is no longer stored
    (an archived range anchored by a checkpoint); otherwise it is read from the database. With `workers`
    above 1 (PostgreSQL), consecutive ranges are verified in that many processes at once.
    """
    start_prev = GENESIS_HASH
    if from_seq > 1:
        previous = AuditEvent.objects.filter(seq=from_seq - 1).values_list("hash", flat=True).first()
        previous = previous or start_prev_hash
        if previous is None:
            reason = "the event before the starting point is missing (and no checkpoint anchors it)"
            return VerifyResult(False, 0, from_seq - 1, "", from_seq - 1, reason)
        start_prev = previous
    if connection.vendor == "postgresql":
        head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        if workers > 1 and head - from_seq >= workers * PARALLEL_MIN_EVENTS:
            return _verify_parallel(from_seq, head, start_prev, workers)
        with transaction.atomic():  # a server-side cursor lives in a transaction
            return verify_events(_postgres_rows(from_seq), start_prev_hash=start_prev, start_seq=from_seq)
    rows = AuditEvent.objects.filter(seq__gte=from_seq).order_by("seq").values_list(*HASHED_FIELDS, "hash")
    events = (dict(zip(_ROW_FIELDS, row, strict=True)) for row in rows.iterator(chunk_size=5000))
    return verify_events(events, start_prev_hash=start_prev, start_seq=from_seq)


PARALLEL_MIN_EVENTS = 50_000


def _verify_parallel(from_seq: int, head: int, start_prev: str, workers: int) -> VerifyResult:
    """Split [from_seq, head] into consecutive ranges, one per process. Each range starts from the stored hash
    of the event before it, which the previous range verifies as its last event, so the ranges together
    check exactly what one walk would, and the first broken range names the first broken event."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from governance import verify_worker

    size = (head - from_seq + 1 + workers - 1) // workers
    starts = [from_seq + i * size for i in range(workers)]
    ranges = [(start, min(start + size - 1, head)) for start in starts if start <= head]
    anchors = dict(AuditEvent.objects.filter(seq__in=[s - 1 for s, _ in ranges[1:]]).values_list("seq", "hash"))
    jobs = []
    for index, (first, last) in enumerate(ranges):
        prev = start_prev if index == 0 else anchors.get(first - 1)
        if prev is None:  # the boundary event is missing: the walk up to it reports the gap
            jobs.append((first, last, ""))
        else:
            jobs.append((first, last, prev))
    name = connection.settings_dict["NAME"]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(jobs), mp_context=context, initializer=verify_worker.init, initargs=(name,)) as pool:
        results = list(pool.map(verify_worker.verify_range, jobs))
    checked = 0
    for (_first, last, _prev), result in zip(jobs, results, strict=True):
        if not result.ok:
            return VerifyResult(
                False, checked + result.checked, result.last_seq, result.head_hash, result.broken_seq, result.reason
            )
        checked += result.checked
        if result.last_seq != last:
            missing = result.last_seq + 1
            return VerifyResult(
                False,
                checked,
                result.last_seq,
                result.head_hash,
                missing,
                f"gap: events #{missing} to #{last} are missing",
            )
    final = results[-1]
    return VerifyResult(True, checked, final.last_seq, final.head_hash)


# The timestamp formatted by PostgreSQL exactly as `format_timestamp` does, and `changes` as text parsed here:
# verification's cost is per row, and skipping the ORM's datetime and JSON converters roughly halves it.
_VERIFY_SQL = (
    "SELECT seq, to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor_type, "
    "actor_id, actor_label, actor_token, action, target_type, target_id, target_label, model_id, model_name, "
    "changes::text, request_id, ip, user_agent, prev_hash, hash FROM governance_auditevent "
    "WHERE seq >= %s AND seq <= %s ORDER BY seq"
)


def _postgres_rows(from_seq: int, to_seq: int = 2**62):
    connection.ensure_connection()
    loads = json.loads
    with connection.connection.cursor(name="audit_verify") as cursor:
        cursor.itersize = 5000
        cursor.execute(_VERIFY_SQL, [from_seq, to_seq])
        for row in cursor:
            event = dict(zip(_ROW_FIELDS, row, strict=True))
            event["changes"] = loads(event["changes"])
            yield event


_ROW_FIELDS = (*HASHED_FIELDS, "hash")
