"""Model instances from precompiled SQL, for the few reads that run on every pipeline request.

Compiling a queryset costs more CPU than PostgreSQL spends running it: about 0.5 ms per query with joins,
paid again on every request. The hot reads (token authentication and the MLflow client's alias and model
lookups, see `registry.selectors`) are querysets compiled by the ORM once per shape of the permission rule
(`registry.permissions.Precompiled`); `Loaded` turns their `values_list` rows into ordinary model instances,
so everything downstream (permissions, renderers) sees the objects the ORM would give.

They run through `hot_cursor()`: PostgreSQL plans a statement with its permission subqueries in about 1 ms,
several times what running it costs, so these few statements are prepared once per database connection and
then only executed. Everything else keeps Django's default (client-side binding, nothing prepared).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Model


class _PreparingCursor(psycopg.Cursor):
    """Server-side parameter binding, and every statement prepared (psycopg keeps the last 100 per connection)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)


@contextmanager
def hot_cursor() -> Iterator:
    """Django's cursor (health-checked, logged and counted like any other) whose statements PostgreSQL prepares
    on first use. Off with DATABASE_PREPARED_STATEMENTS=0, for a transaction-pooling proxy that cannot keep
    prepared statements (PgBouncer before 1.21)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS:
            raw = connection.connection
            if raw.prepare_threshold is None:
                # Django turns psycopg's preparing off (None), which refuses even prepare=True. Only server-binding
                # cursors prepare, and Django's own cursors bind on the client: this enables it for ours alone.
                raw.prepare_threshold = 5
            cursor.cursor.close()
            cursor.cursor = _PreparingCursor(raw)
        yield cursor


class Loaded:
    """The fields of `model` a precompiled read loads, named as `values_list` lookups through `prefix` (e.g.
    "model__"), and the instance they make: `Model.from_db`, with the other fields deferred as `.only()` leaves
    them.

        owner = Loaded(User, "owner__", ["username"])
        rows = Precompiled(lambda name: RegisteredModel.objects.filter(name=name).values_list(*owner.lookups), ...)
        user = owner.instance(dict(zip(owner.lookups, row)))
    """

    def __init__(self, model: type[Model], prefix: str = "", fields: list[str] | tuple[str, ...] | None = None):
        opts = model._meta
        wanted = {opts.pk.name, *fields} if fields else {field.name for field in opts.concrete_fields}
        chosen = [field for field in opts.concrete_fields if field.name in wanted]  # from_db's order
        self.model = model
        self.lookups = [f"{prefix}{field.name}" for field in chosen]
        self._attnames = [field.attname for field in chosen]
        self._pk = f"{prefix}{opts.pk.name}"

    def instance(self, row: dict) -> Model | None:
        """The instance from a row (a dict by lookup), or None when its primary key is NULL (an outer join that
        found nothing)."""
        if row[self._pk] is None:
            return None
        return self.model.from_db(connection.alias, self._attnames, [row[lookup] for lookup in self.lookups])
