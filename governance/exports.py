"""Streaming exports, in constant memory, and the one CSV writer Arbiter uses (`csv_rows`).

The model inventory, the risk register and approval records with their votes export as CSV or JSON, read
through server-side cursors.

Audit trail: each line carries every hashed field in its canonical value form (the timestamp as `...Z`
text, `target_id` as text, `changes` as a JSON object) plus `hash`, so a JSON Lines export of a contiguous
range can be re-verified offline with docs/verify_audit_export.py. Events come in ascending sequence order,
read through a server-side cursor. The CSV export is for spreadsheets: its text cells are neutralised
against formula injection (`csv_rows`), so it is not byte-exact and does not verify offline.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch, QuerySet

from governance.audit import HASHED_FIELDS, canonical_bytes, format_timestamp
from governance.models import Vote

COLUMNS = (*HASHED_FIELDS, "hash")
FORMATS = {
    "jsonl": ("application/jsonl; charset=utf-8", "jsonl"),
    "csv": ("text/csv; charset=utf-8", "csv"),
}
CHUNK_ROWS = 2000


def _records(queryset: QuerySet) -> Iterator[dict]:
    rows = queryset.order_by("seq").values_list(*COLUMNS)
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        record = dict(zip(COLUMNS, row, strict=True))
        record["timestamp"] = format_timestamp(record["timestamp"])
        record["target_id"] = str(record["target_id"] or "")
        yield record


def jsonl_lines(queryset: QuerySet) -> Iterator[bytes]:
    for record in _records(queryset):
        yield canonical_bytes(record) + b"\n"


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting with `=`, `+`, `-`, `@`, a tab or a carriage return
    gets a leading `'` (OWASP's advice on CSV injection). Numbers are written as they are; None is empty."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_rows(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[bytes]:
    """Every CSV Arbiter writes: a header, then one encoded line per row, each cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush(row: Iterable[Any]) -> bytes:
        writer.writerow([neutralise(cell) for cell in row])
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return data

    yield flush(header)
    for row in rows:
        yield flush(row)


def csv_lines(queryset: QuerySet) -> Iterator[bytes]:
    def rows() -> Iterator[list]:
        for record in _records(queryset):
            record["changes"] = canonical_bytes(record["changes"]).decode()
            yield [record[name] for name in COLUMNS]

    return csv_rows(COLUMNS, rows())


def lines(queryset: QuerySet, fmt: str) -> Iterator[bytes]:
    return jsonl_lines(queryset) if fmt == "jsonl" else csv_lines(queryset)


def filename(fmt: str, first: int | None, last: int | None) -> str:
    span = f"{first}-{last}" if first is not None else "empty"
    return f"arbiter-audit-{span}.{FORMATS[fmt][1]}"


# --- The inventory, the risk register and approval records (CSV or JSON) ------------------------------------------

RECORD_FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
}
INVENTORY_COLUMNS = (
    "name",
    "title",
    "owner",
    "team",
    "visibility",
    "risk_tier",
    "production_version",
    "latest_version",
    "latest_stage",
    "assessment_status",
    "assessment_valid_until",
    "updated_at",
)
RISK_COLUMNS = (
    "id",
    "model",
    "title",
    "category",
    "status",
    "likelihood",
    "impact",
    "inherent_rating",
    "residual_likelihood",
    "residual_impact",
    "residual_rating",
    "mitigation",
    "owner",
    "due_date",
    "assessment_id",
    "updated_at",
)
REQUEST_COLUMNS = (
    "id",
    "model",
    "version",
    "target_stage",
    "status",
    "round",
    "submitted_by",
    "submitted_at",
    "justification",
    "decided_at",
    "decision_reason",
    "valid_until",
    "promoted_at",
)
VOTE_COLUMNS = ("committee", "voter", "round", "decision", "comment", "cast_at")


def _renamed(queryset: QuerySet, fields: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Rows as dicts keyed by column, read through a server-side cursor (`fields`: column → ORM path)."""
    rows = queryset.values_list(*fields.values())
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        yield dict(zip(fields, row, strict=True))


def inventory_records(queryset: QuerySet) -> Iterator[dict[str, Any]]:
    paths = {column: column for column in INVENTORY_COLUMNS}
    return _renamed(queryset, {**paths, "owner": "owner__username", "team": "team__name"})


def risk_records(queryset: QuerySet) -> Iterator[dict[str, Any]]:
    paths = {column: column for column in RISK_COLUMNS}
    return _renamed(queryset, {**paths, "model": "model__name", "owner": "owner__username"})


def approval_records(queryset: QuerySet) -> Iterator[dict[str, Any]]:
    """One record per request with its votes (all rounds) nested as `votes`; chunks of requests are read
    through a server-side cursor, each with one query for its votes."""
    votes = Prefetch(
        "votes",
        queryset=Vote.objects.select_related("committee", "voter").order_by("round", "cast_at", "pk"),
    )
    requests = queryset.select_related("version__model", "submitted_by").prefetch_related(votes)
    for request in requests.iterator(chunk_size=CHUNK_ROWS):
        record = {
            column: getattr(request, column)
            for column in REQUEST_COLUMNS
            if column not in ("model", "version", "submitted_by")
        }
        record.update(
            model=request.version.model.name,
            version=request.version.version,
            submitted_by=request.submitted_by.get_username(),
            votes=[
                {
                    "committee": vote.committee.name,
                    "voter": vote.voter.get_username(),
                    "round": vote.round,
                    "decision": vote.decision,
                    "comment": vote.comment,
                    "cast_at": vote.cast_at,
                }
                for vote in request.votes.all()
            ],
        )
        yield record


def _approval_rows(records: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
    """A spreadsheet row per vote (the request's columns repeated), or one row for a request without votes."""
    for record in records:
        head = [record[column] for column in REQUEST_COLUMNS]
        for vote in record["votes"] or [{}]:
            yield [*head, *(vote.get(column) for column in VOTE_COLUMNS)]


def json_array(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """A JSON array, one record per line, streamed."""
    separator = b"[\n"
    for record in records:
        yield separator + json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False).encode()
        separator = b",\n"
    yield b"[]\n" if separator == b"[\n" else b"\n]\n"


def record_lines(kind: str, records: Iterable[dict[str, Any]], fmt: str) -> Iterator[bytes]:
    """The bytes of an export of `kind` (inventory, risks or approvals) in `fmt` (csv or json)."""
    if fmt == "json":
        return json_array(records)
    if kind == "approvals":
        return csv_rows((*REQUEST_COLUMNS, *(f"vote_{column}" for column in VOTE_COLUMNS)), _approval_rows(records))
    columns = INVENTORY_COLUMNS if kind == "inventory" else RISK_COLUMNS
    return csv_rows(columns, ([record[column] for column in columns] for record in records))
