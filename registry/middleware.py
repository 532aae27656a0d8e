"""Turns a service error that escapes a browser view into a proper page with its status code (for
example 413 when an upload exceeds ARTIFACT_MAX_BYTES while Django is still reading it), never a 500; an
unreachable database or artifact storage into a 503 with `Retry-After`, in the shape the caller reads; and
refuses NUL characters in the URL before any view sees them."""

import logging
from urllib.parse import unquote_plus

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from registry.api.parsers import NUL_MESSAGE
from registry.exceptions import DomainError, Unavailable

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "The database cannot be reached right now; nothing was changed. Try again shortly."


class NulCharacterMiddleware:
    """A NUL character in the path or the query string (`%00`) answers 400 in the shape of the API it was
    sent to (PostgreSQL cannot store or compare it). Request bodies are checked where they are parsed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info or "\x00" in unquote_plus(request.META.get("QUERY_STRING", "")):
            if request.path_info.startswith(("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/")):
                return JsonResponse({"error_code": "INVALID_PARAMETER_VALUE", "message": NUL_MESSAGE}, status=400)
            if request.path_info.startswith("/api/"):
                from registry.api.errors import error_body

                return JsonResponse(error_body("invalid", NUL_MESSAGE), status=400)
            return render(request, "error.html", {"message": NUL_MESSAGE}, status=400)
        return self.get_response(request)


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            return None
        if request.headers.get("X-Requested-With") == "XMLHttpRequest":
            from registry.api.errors import error_body

            body = error_body(exception.code, exception.message, exception.fields)
            return JsonResponse(body, status=exception.status)
        return render(request, "error.html", {"message": exception.message}, status=exception.status)


class UnavailableMiddleware:
    """503 instead of 500 when a view fails because a part is down: the database (connection lost or refused,
    `OperationalError`/`InterfaceError`; the transaction was rolled back, so nothing is half-written) or
    whatever raised `registry.exceptions.Unavailable` (the artifact storage). The v1 API answers in its error
    shape, the MLflow-compatible API in MLflow's (`TEMPORARILY_UNAVAILABLE`, which MLflow clients retry),
    pages with a short page that needs no database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Unavailable):
            code, message, retry_after = exception.code, exception.message, exception.retry_after
        elif isinstance(exception, OperationalError | InterfaceError):
            code, message, retry_after = "database_unavailable", DATABASE_UNAVAILABLE, Unavailable.retry_after
        else:
            return None
        logger.error("answering 503 (%s) for %s %s: %s", code, request.method, request.path, exception)
        if request.path.startswith("/api/2.0/"):
            response = JsonResponse({"error_code": "TEMPORARILY_UNAVAILABLE", "message": message}, status=503)
        elif request.path.startswith("/api/") or request.headers.get("X-Requested-With") == "XMLHttpRequest":
            from registry.api.errors import error_body

            response = JsonResponse(error_body(code, message), status=503)
        else:
            response = HttpResponse(render_to_string("unavailable.html", {"message": message}), status=503)
        response["Retry-After"] = str(retry_after)
        return response
