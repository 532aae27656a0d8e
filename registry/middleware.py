"""Turns a service error that escapes a browser view into a proper page with its status code (for
example 413 when an upload exceeds ARTIFACT_MAX_BYTES while Django is still reading it), never a 500."""

from django.shortcuts import render

from registry.exceptions import DomainError


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            return None
        if request.headers.get("X-Requested-With") == "XMLHttpRequest":
            from django.http import JsonResponse

            from registry.api.errors import error_body

            body = error_body(exception.code, exception.message, exception.fields)
            return JsonResponse(body, status=exception.status)
        return render(request, "error.html", {"message": exception.message}, status=exception.status)
