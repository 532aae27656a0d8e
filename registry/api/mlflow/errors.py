"""MLflow's error shape, `{"error_code": ..., "message": ...}`, and the mapping of Arbiter's errors onto
MLflow's codes and statuses."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from registry.exceptions import Conflict, DomainError, NotFound

RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_CONFLICT = "RESOURCE_CONFLICT"
PERMISSION_DENIED = "PERMISSION_DENIED"
UNAUTHENTICATED = "UNAUTHENTICATED"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
INTERNAL_ERROR = "INTERNAL_ERROR"

STATUS = {
    RESOURCE_DOES_NOT_EXIST: 404,
    RESOURCE_ALREADY_EXISTS: 400,
    INVALID_PARAMETER_VALUE: 400,
    RESOURCE_CONFLICT: 409,
    PERMISSION_DENIED: 403,
    UNAUTHENTICATED: 401,
    REQUEST_LIMIT_EXCEEDED: 429,
    ENDPOINT_NOT_FOUND: 404,
}

# Domain error codes that mean "it already exists" or "it does not exist" in MLflow's terms.
ALREADY_EXISTS_CODES = {"name_taken"}
DOES_NOT_EXIST_CODES = {"no_such_tag", "no_such_alias"}


class MlflowError(Exception):
    """An error raised by the adapter itself (a missing or malformed parameter)."""

    def __init__(self, message: str, error_code: str = INVALID_PARAMETER_VALUE):
        super().__init__(message)
        self.message, self.error_code = message, error_code


def error_response(error_code: str, message: str, *, status: int | None = None, headers=None) -> Response:
    return Response(
        {"error_code": error_code, "message": message}, status=status or STATUS[error_code], headers=headers
    )


def _domain_code(exc: DomainError) -> str:
    if exc.code in ALREADY_EXISTS_CODES:
        return RESOURCE_ALREADY_EXISTS
    if isinstance(exc, NotFound) or exc.code in DOES_NOT_EXIST_CODES:
        return RESOURCE_DOES_NOT_EXIST
    if isinstance(exc, Conflict):
        return RESOURCE_CONFLICT  # a frozen version, an illegal move, files not yet valid
    return INVALID_PARAMETER_VALUE


def _domain_message(exc: DomainError) -> str:
    details = [f"{field}: {' '.join(map(str, msgs))}" for field, msgs in exc.fields.items() if msgs]
    if not details or exc.message not in ("Some fields are not valid.",):
        return exc.message
    return f"{exc.message} {'; '.join(details)}"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, MlflowError):
        return error_response(exc.error_code, exc.message)
    if isinstance(exc, DomainError):
        return error_response(_domain_code(exc), _domain_message(exc))
    if isinstance(exc, Http404):
        return error_response(RESOURCE_DOES_NOT_EXIST, str(exc) or "Not found.")
    if isinstance(exc, PermissionDenied):
        return error_response(PERMISSION_DENIED, str(exc) or "You do not have permission to do this.")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        headers = {"WWW-Authenticate": exc.auth_header} if getattr(exc, "auth_header", None) else None
        if exc.status_code == 401:
            message = str(exc.detail)
            if isinstance(exc, exceptions.NotAuthenticated):
                message = "Authentication required: send an Arbiter API token (MLFLOW_TRACKING_TOKEN)."
            return error_response(UNAUTHENTICATED, message, headers=headers)
        return error_response(PERMISSION_DENIED, str(exc.detail))
    if isinstance(exc, exceptions.Throttled):
        return error_response(REQUEST_LIMIT_EXCEEDED, str(exc.detail), headers={"Retry-After": str(exc.wait or 1)})
    if isinstance(exc, exceptions.PermissionDenied):
        return error_response(PERMISSION_DENIED, str(exc.detail))
    if isinstance(exc, exceptions.MethodNotAllowed):
        return error_response(ENDPOINT_NOT_FOUND, str(exc.detail), status=405)
    if isinstance(exc, exceptions.APIException):
        return error_response(INVALID_PARAMETER_VALUE, str(exc.detail), status=exc.status_code)
    return None
