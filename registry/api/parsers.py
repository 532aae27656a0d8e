"""Request body parsers of the v1 API: DRF's, refusing NUL characters anywhere in what they parse (PostgreSQL
cannot store them in text or jsonb), nested JSON values and object keys included. The URL is checked by
`registry.middleware.NulCharacterMiddleware`, the MLflow API's bodies by its `Params`."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

NUL_MESSAGE = "NUL characters (\\u0000) are not accepted in input."


def contains_nul(value: Any) -> bool:
    """Whether a NUL character occurs in any string of `value` (JSON-like data or a QueryDict), keys included."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, QueryDict):
            pending.extend(item.lists())
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


class _RefuseNul:
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        if contains_nul(getattr(parsed, "data", parsed)):  # MultiPartParser answers data and files
            raise ParseError(NUL_MESSAGE)
        return parsed


class JSONParser(_RefuseNul, parsers.JSONParser):
    pass


class FormParser(_RefuseNul, parsers.FormParser):
    pass


class MultiPartParser(_RefuseNul, parsers.MultiPartParser):
    pass
