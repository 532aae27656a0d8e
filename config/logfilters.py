"""Logging filters named in settings.LOGGING."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Django logs each 4xx answer with the exception behind it (PermissionDenied, Http404), so every refused
    request printed a full traceback. A refusal is not a bug: keep the one-line warning, drop the traceback.
    Server errors (5xx) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
