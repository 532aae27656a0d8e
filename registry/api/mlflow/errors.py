"""MLflow's error shape, `{"error_code": ..., "message": ...}`, and the mapping of Arbiter's errors onto
MLflow's codes and statuses."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response

from registry.exceptions import Conflict, DomainError, NameUnavailable, NotFound

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

# Domain error codes that mean "it does not exist" in MLflow's terms.
DOES_NOT_EXIST_CODES = {"no_such_tag", "no_such_alias"}


# MLflow's server's own messages (mlflow/store/model_registry/sqlalchemy_store.py, mlflow/utils/validation.py).
def model_not_found(name: str) -> str:
    return f"Registered Model with name={name} not found"


def version_not_found(name: str, version: str) -> str:
    return f"Model Version (name={name}, version={version}) not found"


def already_exists(name: str) -> str:
    return f"Registered Model (name={name}) already exists."


def alias_not_found(alias: str) -> str:
    return f"Registered model alias {alias} not found."


def not_integer(parameter: str, value: str) -> str:
    return f"Parameter '{parameter}' must be an integer, got '{value}'."


def invalid_stage(stage: str) -> str:
    return f"Invalid Model Version stage: {stage}. Value must be one of None, Staging, Production, Archived."


class MlflowError(Exception):
    """An error raised by the adapter itself (a missing or malformed parameter)."""

    def __init__(self, message: str, error_code: str = INVALID_PARAMETER_VALUE):
        super().__init__(message)
        self.message, self.error_code = message, error_code


def error_response(error_code: str, message: str, *, status: int | None = None, headers=None) -> Response:
    return Response(
        {"error_code": error_code, "message": message}, status=status or STATUS[error_code], headers=headers
    )


def domain_code(exc: DomainError) -> str:
    if isinstance(exc, NameUnavailable):
        return RESOURCE_ALREADY_EXISTS  # what `mlflow.register_model` expects when the model is there already
    if isinstance(exc, NotFound) or exc.code in DOES_NOT_EXIST_CODES:
        return RESOURCE_DOES_NOT_EXIST
    if isinstance(exc, Conflict):
        return RESOURCE_CONFLICT  # a frozen version, an illegal move, files not yet valid
    return INVALID_PARAMETER_VALUE


def domain_message(exc: DomainError) -> str:
    if isinstance(exc, NameUnavailable):
        # The same answer whether or not the caller may see the model holding the name (docs/security.md).
        return f"{already_exists(exc.name)} {exc.message}"
    details = [f"{field}: {' '.join(map(str, msgs))}" for field, msgs in exc.fields.items() if msgs]
    if not details or exc.message not in ("Some fields are not valid.",):
        return exc.message
    return f"{exc.message} {'; '.join(details)}"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, MlflowError):
        return error_response(exc.error_code, exc.message)
    if isinstance(exc, DomainError):
        return error_response(domain_code(exc), domain_message(exc))
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
