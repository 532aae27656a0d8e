"""Turns a service error that escapes a browser view into a proper page with its status code (for
example 413 when an upload exceeds ARTIFACT_MAX_BYTES while Django is still reading it), never a 500; and
refuses NUL characters in the URL before any view sees them."""

from urllib.parse import unquote_plus

from django.http import JsonResponse
from django.shortcuts import render

from registry.api.parsers import NUL_MESSAGE
from registry.exceptions import DomainError


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
