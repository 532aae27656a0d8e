"""Streaming exports of the audit trail as CSV or JSON Lines, in constant memory.

Each line carries every hashed field in its canonical value form (the timestamp as `...Z` text, `target_id`
as text, `changes` as a JSON object) plus `hash`, so an export of a contiguous range can be re-verified
offline with docs/verify_audit_export.py. Events come in ascending sequence order, read through a
server-side cursor.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from governance.audit import HASHED_FIELDS, canonical_bytes, format_timestamp

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


def csv_lines(queryset: QuerySet) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush(row: Iterable) -> bytes:
        writer.writerow(row)
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return data

    yield flush(COLUMNS)
    for record in _records(queryset):
        record["changes"] = canonical_bytes(record["changes"]).decode()
        yield flush(record[name] if record[name] is not None else "" for name in COLUMNS)


def lines(queryset: QuerySet, fmt: str) -> Iterator[bytes]:
    return jsonl_lines(queryset) if fmt == "jsonl" else csv_lines(queryset)


def filename(fmt: str, first: int | None, last: int | None) -> str:
    span = f"{first}-{last}" if first is not None else "empty"
    return f"arbiter-audit-{span}.{FORMATS[fmt][1]}"
