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

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar, cast

from django.conf import settings
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


# Versions kept per process, by (function, arguments): (when read, on the monotonic clock; the value).
_KEPT_VERSIONS: dict[tuple[Any, ...], tuple[float, Any]] = {}
# Per-story and per-outlet versions are one entry each: the dict is emptied when it reaches this.
KEPT_VERSIONS_MOST = 10_000


P = ParamSpec("P")
R = TypeVar("R")


def kept_briefly(function: Callable[P, R]) -> Callable[P, R]:
    """``function``'s value kept in this process for ``NEWSROOM_VERSION_SECONDS`` (0: read every time).

    For the version queries cached pages and API responses are keyed on. Under load a process asks
    the same one thousands of times a second; its answer changes when the data does, and a page
    shown up to a second after a change is still the news. One query a second per process instead
    of one a request took the story list, article list and outlet list APIs from 0.26-0.33 of a
    trivial view's requests/s to 0.42-0.48 at 100,000 articles (lab/bench/README.md, issue 21),
    as the database's share of the two cores went to serving requests. An exception (Http404) is
    not kept.
    """

    @functools.wraps(function)
    def kept(*args: P.args, **kwargs: P.kwargs) -> R:
        seconds = float(settings.NEWSROOM_VERSION_SECONDS)
        if seconds <= 0:
            return function(*args, **kwargs)
        key = (function, connection.alias, args, tuple(sorted(kwargs.items())))
        now = time.monotonic()
        entry = _KEPT_VERSIONS.get(key)
        if entry is not None and now - entry[0] < seconds:
            return cast("R", entry[1])
        value = function(*args, **kwargs)
        if len(_KEPT_VERSIONS) >= KEPT_VERSIONS_MOST:
            _KEPT_VERSIONS.clear()
        _KEPT_VERSIONS[key] = (now, value)
        return value

    return kept
