"""Queries a cached page runs on every request, compiled from the ORM once per process.

A cached page still runs one query per request, for the version its cache key carries. Building
that query through the ORM (filters, subqueries, annotations, compiling them to SQL) cost more
than the database took to run it: 3 to 6 ms of a 4 to 10 ms request at 100,000 articles
(lab/bench/README.md, issue 21). A ``CompiledQuery`` builds its queryset once per database
vendor, with a marker in place of the one value that changes between requests, and then runs
the SQL with that value swapped in.

Rows come back as the database driver gives them: on SQLite, a datetime is text. A caller that
computes with a value converts it (``moment_read``); a value used only in a key needs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet


class CompiledQuery:
    """``build(value)``'s SQL, compiled on first use; ``rows(value)`` runs it for another value.

    ``marker`` must be a value of the parameter's type that appears nowhere else in the query's
    parameters (an id no row has, a slug no outlet has).
    """

    def __init__(self, build: Callable[[Any], QuerySet[Any, Any]], *, marker: object) -> None:
        self.build = build
        self.marker = marker
        self._compiled: dict[str, tuple[str, tuple[Any, ...], int]] = {}

    def sql(self) -> tuple[str, tuple[Any, ...], int]:
        """The SQL, its parameters and the marker's position among them, for this connection's database."""
        vendor = connection.vendor
        if vendor not in self._compiled:
            sql, built = self.build(self.marker).query.sql_with_params()
            params = tuple(built)
            if params.count(self.marker) != 1:
                raise ValueError(f"the marker {self.marker!r} must appear once in the query's parameters")
            self._compiled[vendor] = (sql, params, params.index(self.marker))
        return self._compiled[vendor]

    def rows(self, value: Any) -> list[tuple[Any, ...]]:
        sql, params, position = self.sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params[:position], value, *params[position + 1 :]])
            return cursor.fetchall()


def moment_read(value: object) -> datetime | None:
    """A datetime column's value as the driver gave it (SQLite: ISO text), as Django's field would read it."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
