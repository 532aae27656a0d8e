"""Errors raised by services. Each carries a machine-readable code, a human message and, for input errors,
the fields at fault. The API renders them as `{"error": {...}}`, the UI next to the form fields, and the
MLflow-compatible layer as MLflow error codes."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidInput(DomainError):
    """The request's data is wrong; `fields` says where."""


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate name, a frozen version, an illegal move)."""

    status = 409
    code = "conflict"


class NameUnavailable(Conflict):
    """A model name collides with an existing model's (ignoring case and look-alike characters). The answer is
    the same whether or not the caller may see that model; `holder` is for the audit trail only."""

    code = "name_unavailable"

    def __init__(self, name: str, *, holder):
        super().__init__(
            f"The name '{name}' is unavailable: choose another. Names ignore case and treat '-', '_', '.' and "
            "spaces as the same character.",
            fields={"name": ["This name is unavailable."]},
        )
        self.name, self.holder = name, holder


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_large"


class Unavailable(Exception):
    """A part Arbiter depends on (the database, the artifact storage) cannot be reached: nothing was changed and
    the request may be tried again later. Answered 503 with `Retry-After` (registry.middleware), never a 500."""

    retry_after = 30

    def __init__(self, message: str, *, code: str = "service_unavailable"):
        super().__init__(message)
        self.message, self.code = message, code
