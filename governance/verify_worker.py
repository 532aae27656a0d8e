"""Worker-process entry points for parallel verification (`audit_verify(workers=N)`).

Kept apart from governance.audit, which imports models: a spawned process imports this module before
Django is set up, so everything Django-dependent is imported inside the functions.
"""

from __future__ import annotations


def init(database_name: str) -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["NAME"] = database_name  # the test database, under pytest


def verify_range(bounds: tuple[int, int, str]):
    from django.db import connection, transaction

    from governance.audit import _postgres_rows, verify_events

    first, last, prev_hash = bounds
    try:
        with transaction.atomic():
            return verify_events(_postgres_rows(first, last), start_prev_hash=prev_hash, start_seq=first)
    finally:
        connection.close()
