"""Streaming exports as CSV or JSON Lines, in constant memory, and the one CSV writer Arbiter uses.

Audit trail: each line carries every hashed field in its canonical value form (the timestamp as `...Z`
text, `target_id` as text, `changes` as a JSON object) plus `hash`, so a JSON Lines export of a contiguous
range can be re-verified offline with docs/verify_audit_export.py. Events come in ascending sequence order,
read through a server-side cursor. The CSV export is for spreadsheets: its text cells are neutralised
against formula injection (`csv_rows`), so it is not byte-exact and does not verify offline.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

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
