"""The v1 API's JSON parser: DRF's, refusing NUL characters anywhere in the document (PostgreSQL cannot store
them in text or jsonb), nested values and object keys included. Form and multipart fields need no such check:
they reach serializer and form fields, which refuse NUL next to the field. The URL is checked by
`registry.middleware.NulCharacterMiddleware`, the MLflow API's bodies by its `Params`."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

NUL_MESSAGE = "NUL characters (\\u0000) are not accepted in input."


def contains_nul(value: Any) -> bool:
    """Whether a NUL character occurs in any string of JSON-like `value`, object keys included."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if contains_nul(data):
            raise ParseError(NUL_MESSAGE)
        return data
