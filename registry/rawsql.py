"""Model instances from hand-written SQL, for the few reads that run on every pipeline request.

Compiling a queryset costs more CPU than PostgreSQL spends running it: about 0.5 ms per query with joins,
paid again on every request. The hot reads (token authentication and the MLflow client's alias and model
lookups, see `registry.selectors`) write their SQL once with `Columns` and build ordinary model instances
from the rows, so everything downstream (permissions, renderers) sees the same objects the ORM would give.

    owner = Columns(User, "u", ["id", "username"])
    sql = f"SELECT {owner.sql} FROM auth_user u WHERE u.id = %s"
    user = owner.instance(row, 0)          # the row's columns from offset 0, as a User

Only the listed fields are loaded; the others are deferred, exactly as `.only()` would leave them.

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


class Columns:
    """The columns of `fields` of `model` in a query, under the table alias `alias`."""

    def __init__(self, model: type[Model], alias: str, fields: list[str] | None = None):
        opts = model._meta
        chosen = [opts.get_field(name) for name in fields] if fields else list(opts.concrete_fields)
        if opts.pk not in chosen:
            chosen.insert(0, opts.pk)
        order = {field: index for index, field in enumerate(opts.concrete_fields)}
        chosen.sort(key=order.__getitem__)  # Model.from_db takes values in the model's field order
        self.model = model
        self.fields = chosen
        self.attnames = [field.attname for field in chosen]
        self.width = len(chosen)
        self._pk = chosen.index(opts.pk)
        quote = connection.ops.quote_name
        self.sql = ", ".join(f"{alias}.{quote(field.column)}" for field in chosen)
        # The conversions the ORM applies to these columns: the backend's (SQLite returns datetimes as text, for
        # one) and the field's own (JSONField's text from PostgreSQL).
        self._converters = []
        for index, field in enumerate(chosen):
            column = field.get_col(alias)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if converters:
                self._converters.append((index, column, converters))

    def instance(self, row, offset: int = 0) -> Model | None:
        """The instance held in `row[offset:offset + width]`, or None when its primary key is NULL (an outer
        join that found nothing)."""
        values = list(row[offset : offset + self.width])
        if values[self._pk] is None:
            return None
        for index, column, converters in self._converters:
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def prefetched(model: type[Model], objects: list):
    """A queryset already holding `objects`, as prefetch_related leaves one in `_prefetched_objects_cache`
    (iterating `.none()` instead would still go through the SQL compiler)."""
    queryset = model._default_manager.all()
    queryset._result_cache, queryset._prefetch_done = objects, True
    return queryset
