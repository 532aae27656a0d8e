"""Logging: with LOG_FORMAT=json, one JSON object per line (time, level, logger, message, request_id, user,
token_prefix, and the exception if any), for log collectors; otherwise plain text.

The request id is the one `governance.audit.RequestContextMiddleware` gives each request (and echoes in
`X-Request-ID`). It travels with the Celery tasks a request enqueues, in the task's `arbiter_request_id` header,
so the worker's log lines and the audit events a task records carry the id of the request that caused them.
"""

from __future__ import annotations

import contextvars
import logging

from celery import signals
from django.apps import apps
from django.utils.functional import empty

_request: contextvars.ContextVar = contextvars.ContextVar("log_request", default=None)
TASK_HEADER = "arbiter_request_id"


class RequestLogMiddleware:
    """Remembers the request being served, so log lines can name its user once authentication has run."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def _username(request) -> str:
    """The request's user if authentication already ran (never triggers a session or database read)."""
    user = request.__dict__.get("user") if request is not None else None
    if user is None or getattr(user, "_wrapped", None) is empty:
        return ""
    return getattr(user, "username", "") or ""


class RequestContextFilter(logging.Filter):
    """Adds `request_id`, `user` and `token_prefix` to every record (empty outside a request or task). Django's
    own request log lines (`django.request`, written after the middleware has finished) carry their request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = record.token_prefix = record.user = ""
        if not apps.ready:  # the audit context lives beside the audit models
            return True
        from governance.audit import current_context

        ctx = current_context()
        request = getattr(record, "request", None) or _request.get()
        request_vars = getattr(request, "__dict__", {})
        record.request_id = ctx.request_id or request_vars.get("request_id", "")
        record.token_prefix = ctx.token_prefix or getattr(request_vars.get("auth"), "prefix", "")
        record.user = _username(request)
        return True


@signals.before_task_publish.connect
def _send_request_id(headers=None, **kwargs):
    from governance.audit import current_context

    request_id = current_context().request_id
    if request_id and headers is not None:
        headers[TASK_HEADER] = request_id


@signals.task_prerun.connect
def _receive_request_id(task=None, **kwargs):
    from governance.audit import RequestContext, _context

    request_id = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if request_id:
        task.request.arbiter_log_token = _context.set(RequestContext(request_id=str(request_id)[:64]))


@signals.task_postrun.connect
def _forget_request_id(task=None, **kwargs):
    from governance.audit import _context

    token = getattr(task.request, "arbiter_log_token", None) if task is not None else None
    if token is not None:
        _context.reset(token)
        task.request.arbiter_log_token = None
