"""MLflow's search grammar for the registry endpoints: `filter` (clauses joined by AND), `order_by` and
`page_token`, turned into one queryset over what the selectors already restricted.

Supported, as MLflow's own server does: `name` with `=`, `!=`, `LIKE`, `ILIKE` (and `IN` on versions);
``tags.`key` `` / ``tag.`key` `` with `=`, `!=`, `LIKE`, `ILIKE` (`!=` also matches objects without the
tag, which is what the client's ``tag.`mlflow.prompt.is_prompt` != 'true'`` clause needs); on versions also
`version_number`, `run_id` and `source_path`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Lookup, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform

from registry.api.mlflow.errors import MlflowError


class _PatternMatch(Lookup):
    operator = "LIKE"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} {self.operator} {rhs}", [*lhs_params, *rhs_params]


class Like(_PatternMatch):
    lookup_name = "sql_like"


class ILike(_PatternMatch):
    lookup_name = "sql_ilike"
    operator = "ILIKE"


@dataclass(frozen=True)
class Attribute:
    field: str
    operators: frozenset[str]
    numeric: bool = False


MODEL_ATTRIBUTES = {"name": Attribute("name", frozenset({"=", "!=", "LIKE", "ILIKE"}))}
VERSION_ATTRIBUTES = {
    "name": Attribute("model__name", frozenset({"=", "!=", "LIKE", "ILIKE", "IN"})),
    "version_number": Attribute("version", frozenset({"=", "!=", ">", ">=", "<", "<=", "IN"}), numeric=True),
    "run_id": Attribute("run_id", frozenset({"=", "!=", "IN"})),
    "source_path": Attribute("source", frozenset({"=", "!=", "LIKE", "ILIKE"})),
}
TAG_OPERATORS = frozenset({"=", "!=", "LIKE", "ILIKE"})

CLAUSE = re.compile(
    r"""^\s*(?P<key>(?:(?:tags?|attributes?|attr)\.)?(?:`[^`]+`|"[^"]+"|[A-Za-z_][\w.]*))\s*
    (?P<op>!=|<>|>=|<=|=|>|<|\bI?LIKE\b|\bIN\b)\s*(?P<value>.+?)\s*;?\s*$""",
    re.IGNORECASE | re.VERBOSE | re.DOTALL,
)
AND = re.compile(r"\s+AND\s+", re.IGNORECASE)
STRING = re.compile(r"""^(?:'((?:[^'\\]|\\.|'')*)'|"((?:[^"\\]|\\.)*)")$""", re.DOTALL)


def _split_and(text: str) -> list[str]:
    """Split on AND outside quotes and backticks."""
    clauses, current, quote, i = [], [], None, 0
    while i < len(text):
        char = text[i]
        if quote:
            current.append(char)
            if char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
            current.append(char)
        elif match := AND.match(text, i):
            clauses.append("".join(current))
            current = []
            i = match.end()
            continue
        else:
            current.append(char)
        i += 1
    if quote:
        raise MlflowError(f"Unterminated quote in filter: {text!r}.")
    clauses.append("".join(current))
    return [c.strip() for c in clauses]


def _string(raw: str, clause: str) -> str:
    match = STRING.match(raw.strip())
    if not match:
        raise MlflowError(f"Expected a quoted string value in filter clause {clause!r}.")
    single, double = match.groups()
    return single.replace("''", "'") if single is not None else double


def _value(raw: str, op: str, attribute: Attribute | None, clause: str) -> Any:
    if op == "IN":
        inner = raw.strip()
        if not (inner.startswith("(") and inner.endswith(")")):
            raise MlflowError(f"IN needs a parenthesised list in filter clause {clause!r}.")
        items = re.findall(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^,\s()]+""", inner[1:-1])
        return [_scalar(item, attribute, clause) for item in items]
    return _scalar(raw, attribute, clause)


def _scalar(raw: str, attribute: Attribute | None, clause: str) -> Any:
    if attribute is not None and attribute.numeric:
        text = raw.strip().strip("'\"")
        try:
            return int(text)
        except ValueError:
            raise MlflowError(f"Expected a whole number in filter clause {clause!r}.") from None
    return _string(raw, clause)


def _key(raw: str) -> tuple[str, str]:
    """('tag', key) or ('attribute', name)."""
    prefix, dot, rest = raw.partition(".")
    if dot and prefix.lower() in ("tag", "tags"):
        kind, name = "tag", rest
    elif dot and prefix.lower() in ("attribute", "attributes", "attr"):
        kind, name = "attribute", rest
    else:
        kind, name = "attribute", raw
    if len(name) >= 2 and name[0] == name[-1] and name[0] in '`"':
        name = name[1:-1]
    return kind, name


def _condition(field: Any, op: str, value: Any) -> Q:
    if op in ("LIKE", "ILIKE"):
        lookup = (Like if op == "LIKE" else ILike)(F(field) if isinstance(field, str) else field, value)
        return Q(lookup)
    comparisons = {"=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "IN": "in"}
    if op == "!=":
        return ~Q(**{field: value})
    return Q(**{f"{field}__{comparisons[op]}": value})


def filter_queryset(queryset: QuerySet, text: str | None, attributes: dict[str, Attribute]) -> QuerySet:
    if not text or not text.strip():
        return queryset
    for clause in _split_and(text.strip()):
        match = CLAUSE.match(clause)
        if not match:
            raise MlflowError(f"Could not parse filter clause {clause!r}.")
        kind, name = _key(match["key"])
        op = "!=" if match["op"] == "<>" else match["op"].upper()
        if kind == "tag":
            if op not in TAG_OPERATORS:
                raise MlflowError(f"Tags support {', '.join(sorted(TAG_OPERATORS))}, not {op}.")
            value = _string(match["value"], clause)
            if op == "=":
                queryset = queryset.filter(tags__contains={name: value})
            elif op == "!=":
                queryset = queryset.exclude(tags__contains={name: value})
            else:
                queryset = queryset.filter(_condition(KeyTextTransform(name, "tags"), op, value))
            continue
        attribute = attributes.get(name.lower())
        if attribute is None:
            allowed = ", ".join(sorted(attributes))
            raise MlflowError(f"Invalid attribute '{name}' in filter: use {allowed} or tags.`key`.")
        if op not in attribute.operators:
            raise MlflowError(f"'{name}' supports {', '.join(sorted(attribute.operators))}, not {op}.")
        queryset = queryset.filter(_condition(attribute.field, op, _value(match["value"], op, attribute, clause)))
    return queryset


MODEL_ORDER = {"name": "name", "creation_timestamp": "created_at", "last_updated_timestamp": "updated_at"}
VERSION_ORDER = {
    "name": "model__name",
    "version_number": "version",
    "creation_timestamp": "created_at",
    "last_updated_timestamp": "updated_at",
}
ORDER_CLAUSE = re.compile(r"^\s*(?:attributes?\.)?(?P<key>`?\w+`?)(?:\s+(?P<dir>ASC|DESC))?\s*$", re.IGNORECASE)


def order_queryset(queryset: QuerySet, order_by: list[str], fields: dict[str, str], default: list[str]) -> QuerySet:
    ordering: list[str] = []
    for item in order_by:
        match = ORDER_CLAUSE.match(item or "")
        key = match["key"].strip("`").lower() if match else None
        if key not in fields:
            raise MlflowError(f"Invalid order_by clause {item!r}: order by {', '.join(sorted(fields))} ASC or DESC.")
        descending = (match["dir"] or "ASC").upper() == "DESC"
        ordering.append(("-" if descending else "") + fields[key])
    for tiebreak in default:
        if tiebreak.lstrip("-") not in {o.lstrip("-") for o in ordering}:
            ordering.append(tiebreak)
    return queryset.order_by(*ordering)


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise MlflowError("Invalid page_token.") from None
    if not isinstance(offset, int) or offset < 0:
        raise MlflowError("Invalid page_token.")
    return offset


def page(queryset: QuerySet, *, max_results: int, page_token: str | None, render: Callable) -> tuple[list, str]:
    """One page (one query for the rows, plus the queryset's prefetches) and the token of the next."""
    offset = decode_page_token(page_token)
    rows = list(queryset[offset : offset + max_results + 1])
    next_token = encode_page_token(offset + max_results) if len(rows) > max_results else ""
    return [render(row) for row in rows[:max_results]], next_token
