"""One error shape for the whole v1 API: `{"error": {"code": ..., "message": ..., "fields": {...}}}`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry.api.mlflow.errors import ENDPOINT_NOT_FOUND, INTERNAL_ERROR
from registry.exceptions import DomainError

# The MLflow-compatible API (`/api/2.0/mlflow/`, `/api/2.0/mlflow-artifacts/`) answers in MLflow's error shape.
MLFLOW_PREFIX = "/api/2.0/"
API_PREFIX = "/api/"


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [str(item) for item in detail]
        return [_flatten(item) for item in detail]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, Http404):
        message = str(exc) or "Not found."
        return Response(error_body("not_found", message), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or "You do not have permission to do this."
        return Response(error_body("permission_denied", message), status=status.HTTP_403_FORBIDDEN)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail) if isinstance(exc.detail, dict) else {"non_field_errors": _flatten(exc.detail)}
        first = next(iter(fields.items()), None)
        message = "Some fields are not valid."
        if first is not None and isinstance(first[1], list) and first[1] and isinstance(first[1][0], str):
            message = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        response.data = error_body("invalid", message, fields)
        return response
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.NotAuthenticated):
        code = "not_authenticated"
    elif isinstance(exc, exceptions.ParseError):
        code = "malformed_request"
    response.data = error_body(str(code), str(detail))
    return response


# --- Django's error handlers (config/urls.py): JSON under /api/, the app's own pages elsewhere ----------------


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a URL nothing answers (or an Http404 outside DRF). Under `/api/` the API's error shape, under
    `/api/2.0/` MLflow's; elsewhere the app's 404 page."""
    path = request.path
    if path.startswith(MLFLOW_PREFIX):
        body = {"error_code": ENDPOINT_NOT_FOUND, "message": f"No MLflow API endpoint at {path} ({request.method})."}
        return JsonResponse(body, status=404)
    if path.startswith(API_PREFIX):
        message = f"No API endpoint at {path}; the endpoints are listed at /api/docs/."
        return JsonResponse(error_body("not_found", message), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unexpected failure (already logged with its traceback by Django)."""
    path = request.path
    message = "Arbiter failed to answer this request; the error has been logged."
    if path.startswith(MLFLOW_PREFIX):
        return JsonResponse({"error_code": INTERNAL_ERROR, "message": message}, status=500)
    if path.startswith(API_PREFIX):
        return JsonResponse(error_body("server_error", message), status=500)
    return defaults.server_error(request)
