"""Parsing of import files: each bad row is reported with its line number, good rows are kept.

Pure functions: nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from sources.models import Factuality, Lean

# As the models' URL fields.
URL_MAX_LENGTH = 2000
HOST_MAX_LENGTH = 253


class RowError(Exception):
    """A row that cannot be imported; the message says why."""


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    created: int = 0
    existing: int = 0
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class CorpusRow:
    url: str
    outlet: str
    outlet_domain: str
    title: str
    text: str
    published_at: datetime | None
    language: str


@dataclass(frozen=True)
class OutletRow:
    name: str
    domain: str
    lean: str
    factuality: str
    country: str
    owner: str
    feeds: tuple[str, ...]
    rated_by: str
    rated_at: date | None
    note: str


def lines_read(path: str) -> list[str]:
    """The lines of a file, or of standard input for "-", split on "\\n" only (U+2028 and its kin
    may stand raw inside a JSON string). Bytes that are not UTF-8 stay as lone surrogates, so that
    ``read_records`` refuses their row, not the whole file. Raises OSError when it cannot be read."""
    raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    return raw.decode("utf-8", "surrogateescape").split("\n")


def _undecodable(record: dict[str, object]) -> bool:
    """Whether a row's text held bytes that are not UTF-8 (read as lone surrogates)."""
    return any(
        isinstance(value, str) and any("\udc80" <= char <= "\udcff" for char in value) for value in record.values()
    )


def read_records(lines: Iterable[str], *, fmt: str) -> Iterator[tuple[int, dict[str, object] | RowError]]:
    """Yield (line number, record or the error that made it unreadable) from JSONL or CSV."""
    for number, record in _records(lines, fmt=fmt):
        if isinstance(record, dict) and _undecodable(record):
            yield number, RowError("not UTF-8 text")
        else:
            yield number, record


def _records(lines: Iterable[str], *, fmt: str) -> Iterator[tuple[int, dict[str, object] | RowError]]:
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO("".join(line if line.endswith("\n") else line + "\n" for line in lines)))
        try:
            for record in reader:
                # The header is line 1; DictReader's line_num counts physical lines read so far.
                yield reader.line_num, {key: value for key, value in record.items() if key is not None}
        except csv.Error as error:  # the reader cannot go on (a field too large): the rest is unread
            yield reader.line_num + 1, RowError(f"not valid CSV ({error}); the rows after it were not read")
        return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield number, RowError(f"not valid JSON ({error.msg} at column {error.colno})")
            continue
        if not isinstance(record, dict):
            yield number, RowError("expected a JSON object")
            continue
        yield number, record


def text_field(record: dict[str, object], key: str, *, max_length: int | None = None) -> str:
    """A row's text value, stripped; empty when absent. Raises RowError when not text or too long."""
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RowError(f"{key!r} must be a string")
    # NUL is no character a name or a text needs, and PostgreSQL refuses it.
    value = value.replace("\x00", "").strip()
    if max_length is not None and len(value) > max_length:
        raise RowError(f"{key!r} is longer than {max_length} characters")
    return value


def date_field(record: dict[str, object], key: str) -> date | None:
    """A row's date (YYYY-MM-DD, or the date part of an ISO 8601 time); None when absent."""
    text = text_field(record, key, max_length=32)
    if not text:
        return None
    try:
        value = parse_date(text[:10])
    except ValueError:
        value = None
    if value is None:
        raise RowError(f"{key!r} is not a date (YYYY-MM-DD): {text!r}")
    return value


def _http_url(value: str, key: str) -> str:
    if len(value) > URL_MAX_LENGTH:
        raise RowError(f"{key!r} is longer than {URL_MAX_LENGTH} characters")
    try:
        parts = urlsplit(value)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        usable = False
    if not usable:
        raise RowError(f"{key!r} must be an http(s) URL, got {value[:200]!r}")
    host = parts.hostname or ""
    if len(host) > HOST_MAX_LENGTH or any(len(label) > 63 for label in host.split(".")):
        # No DNS name is longer; the host would also name an unknown outlet.
        raise RowError(f"{key!r} has a host name longer than DNS allows ({len(host)} characters)")
    return value


def parse_datetime_value(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise RowError("'published_at' must be an ISO 8601 string or null")
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RowError(f"'published_at' is not an ISO 8601 date: {value!r}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def corpus_row_parse(record: dict[str, object]) -> CorpusRow:
    """Validate one corpus record. Keys starting with ``gold_`` and unknown keys are ignored."""
    url = _http_url(text_field(record, "url", max_length=2000), "url") if record.get("url") else ""
    if not url:
        raise RowError("'url' is required")
    outlet = text_field(record, "outlet", max_length=200)
    outlet_domain = text_field(record, "outlet_domain", max_length=253).lower()
    title = text_field(record, "title", max_length=1000)
    text = text_field(record, "text")
    if not title and not text:
        raise RowError("a row needs a 'title' or a 'text'")
    return CorpusRow(
        url=url,
        outlet=outlet,
        outlet_domain=outlet_domain,
        title=title,
        text=text,
        published_at=parse_datetime_value(record.get("published_at")),
        language=text_field(record, "language", max_length=16).lower(),
    )


def outlet_row_parse(record: dict[str, object]) -> OutletRow:
    name = text_field(record, "name", max_length=200)
    if not name:
        raise RowError("'name' is required")
    domain = text_field(record, "domain", max_length=253).lower().removeprefix("www.")
    lean = text_field(record, "lean").lower().replace(" ", "_").replace("-", "_")
    if lean and lean not in Lean.values:
        raise RowError(f"'lean' must be one of {', '.join(Lean.values)}, got {lean!r}")
    factuality = text_field(record, "factuality").lower().replace(" ", "_")
    if factuality and factuality not in Factuality.values:
        raise RowError(f"'factuality' must be one of {', '.join(Factuality.values)}, got {factuality!r}")
    raw_feeds = record.get("feeds") or []
    if isinstance(raw_feeds, str):
        raw_feeds = [feed for feed in raw_feeds.split() if feed]
    if not isinstance(raw_feeds, list) or not all(isinstance(feed, str) for feed in raw_feeds):
        raise RowError("'feeds' must be a list of URLs (or, in CSV, URLs separated by spaces)")
    rated_at = date_field(record, "rated_at")
    return OutletRow(
        name=name,
        domain=domain,
        lean=lean,
        factuality=factuality,
        country=text_field(record, "country", max_length=2).upper(),
        owner=text_field(record, "owner", max_length=200),
        feeds=tuple(_http_url(feed.strip(), "feeds") for feed in raw_feeds),
        rated_by=text_field(record, "rated_by", max_length=200),
        rated_at=rated_at,
        note=text_field(record, "note"),
    )
