"""Feeds: parsing RSS, Atom and JSON Feed documents, polling a feed (conditional requests, failure
back-off, switching off a feed that keeps failing) and a curator's re-enabling."""

from __future__ import annotations

import calendar
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit

import feedparser
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DataError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sources.articles import article_discover, canonical_url_of
from sources.fetching import FetchError, fetch
from sources.models import Feed

logger = logging.getLogger(__name__)

FEED_CONTENT_TYPES = ("application/", "text/xml", "text/plain", "text/html")
# The longest URL an article keeps (Article.url, Article.canonical_url).
URL_MAX_LENGTH = 2000


# --- Parsing ----------------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    link: str
    title: str
    published_at: datetime | None


def _json_feed_entries(content: bytes) -> list[FeedEntry]:
    """Entries of a JSON Feed 1.x document (https://jsonfeed.org/version/1.1); feedparser does not read it."""
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FetchError(f"Not a readable feed: invalid JSON ({error}).") from error
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FetchError("Not a readable feed: JSON without a JSON Feed version.")
    items = document.get("items")
    if not isinstance(items, list):
        raise FetchError("Not a readable feed: a JSON Feed needs an 'items' list.")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or _id_as_link(item.get("id"))
        title = item.get("title") or ""
        published = item.get("date_published") or item.get("date_modified") or ""
        published_at = None
        if isinstance(published, str) and published:
            try:
                published_at = parse_datetime(published)
            except ValueError:
                published_at = None
            if published_at is not None and timezone.is_naive(published_at):
                published_at = published_at.replace(tzinfo=UTC)
            published_at = _in_utc(published_at)
        if isinstance(link, str) and isinstance(title, str):
            entries.append(FeedEntry(link=link.strip(), title=title, published_at=published_at))
    return entries


def feed_entries_parse(content: bytes, *, headers: dict[str, str]) -> list[FeedEntry]:
    """The entries of an RSS 0.9x/1.0/2.0, Atom or JSON Feed document; FetchError if it is none of them."""
    content_type = headers.get("content-type", "").lower()
    if "json" in content_type or content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{":
        return _json_feed_entries(content)
    try:
        parsed = feedparser.parse(content, response_headers=headers)
    except Exception as error:  # feedparser is lenient, but a parser crash must not take the worker with it
        raise FetchError(f"Not a readable feed: {type(error).__name__}: {error}.") from error
    # A feed with nothing in it yet still names its format and its channel: a quiet feed, not a
    # failing one, even when the XML has a flaw (an undefined HTML entity in its title, say) that
    # feedparser read past. An empty body or a page with no feed in it names neither.
    channel_read = bool(parsed.get("version")) and bool(parsed.feed.get("title") or parsed.feed.get("link"))
    if not parsed.entries and parsed.bozo and not channel_read:
        raise FetchError(f"Not a readable feed: {parsed.get('bozo_exception', 'unknown error')}.")
    if not parsed.entries and not parsed.get("version"):
        raise FetchError("Not a readable feed: no RSS, Atom or JSON feed in the response.")
    return [
        FeedEntry(
            link=str(entry.get("link") or _id_as_link(entry.get("id"))).strip(),
            title=str(entry.get("title", "")),
            published_at=_entry_published_at(entry),
        )
        for entry in parsed.entries
    ]


def _entry_published_at(entry: feedparser.FeedParserDict) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return _in_utc(datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC))
    except (OverflowError, ValueError, OSError):
        return None


def _id_as_link(identifier: object) -> str:
    """An entry's id stands for its link only when it is an absolute web URL: ids are names, and
    a relative one ("3") is not a path on the feed's site."""
    if not isinstance(identifier, str):
        return ""
    return identifier if identifier.strip().lower().startswith(("http://", "https://")) else ""


def _in_utc(moment: datetime | None) -> datetime | None:
    """The moment in UTC; None for one that UTC cannot hold (year 9999 at UTC-14, year 1 at UTC+14):
    a date out of range is treated as missing, not as a reason to drop the entry."""
    if moment is None:
        return None
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def entry_link(link: str, *, base: str) -> str | None:
    """The entry's absolute http(s) URL, resolved against the feed's URL; None when it has none.
    ValueError for a malformed one (an unclosed IPv6 bracket, say)."""
    if not link:
        return None
    absolute = urljoin(base, link)
    scheme = urlsplit(absolute).scheme.lower()
    if scheme not in ("http", "https"):
        return None
    # Any case of the scheme is the same scheme (RFC 3986); the rest is kept as sent.
    return scheme + absolute[len(scheme) :]


# --- Polling ----------------------------------------------------------------


def feed_poll(*, feed_id: int) -> list[int]:
    """Poll one feed and record its new entries as discovered articles; returns their ids.

    Failures are recorded on the feed (last error, consecutive failures, a later next
    poll) and never raised, so one broken feed never stops a worker; after
    NEWSROOM_FEED_DISABLE_AFTER_FAILURES in a row the feed is switched off until a
    curator re-enables it. The validators (ETag, Last-Modified) are sent except once
    every NEWSROOM_FEED_UNCONDITIONAL_HOURS, since some servers answer 304 wrongly.
    """
    feed = Feed.objects.select_related("outlet").get(pk=feed_id)
    now = timezone.now()
    interval = timedelta(minutes=settings.NEWSROOM_FEED_POLL_MINUTES)
    unconditional_every = timedelta(hours=settings.NEWSROOM_FEED_UNCONDITIONAL_HOURS)
    conditional = feed.last_unconditional_at is not None and now - feed.last_unconditional_at < unconditional_every
    try:
        result = fetch(
            feed.url,
            etag=feed.etag if conditional else "",
            last_modified=feed.last_modified if conditional else "",
            accept="application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5",
            allowed_content_types=FEED_CONTENT_TYPES,
        )
        entries = [] if result.not_modified else feed_entries_parse(result.content, headers=result.headers)
    except (FetchError, SoftTimeLimitExceeded) as caught:
        # The task's soft time limit is a failure like any other: recorded, backed off, not lost.
        error = caught if isinstance(caught, FetchError) else FetchError("Polling took longer than its time limit.")
        failures = feed.consecutive_failures + 1
        disable = failures >= settings.NEWSROOM_FEED_DISABLE_AFTER_FAILURES
        Feed.objects.filter(pk=feed_id).update(
            last_polled_at=now,
            consecutive_failures=failures,
            last_error=str(error)[:2000],
            # Back off: each consecutive failure doubles the wait, up to a day.
            next_poll_at=now + min(interval * (2 ** min(failures, 6)), timedelta(days=1)),
            **({"is_active": False, "disabled_at": now} if disable else {}),
        )
        if disable:
            logger.warning("Feed %s disabled after %s failures in a row: %s", feed.url, failures, error)
        else:
            logger.warning("Feed %s: %s", feed.url, error)
        return []

    new_ids: list[int] = []
    # Each entry on its own: a bad one is skipped and counted, the rest of the feed goes on.
    skipped: Counter[str] = Counter()
    for entry in entries:
        try:
            link = entry_link(entry.link, base=feed.url)
            # Its canonical form too: percent-encoding a non-ASCII link can push it over the limit.
            too_long = link is not None and max(len(link), len(canonical_url_of(link))) > URL_MAX_LENGTH
        except ValueError:
            skipped["malformed link"] += 1
            continue
        if link is None:
            skipped["no http(s) link"] += 1
            continue
        if too_long:
            skipped[f"link longer than {URL_MAX_LENGTH} characters"] += 1
            continue
        try:
            with transaction.atomic():
                article, created = article_discover(
                    outlet=feed.outlet, url=link, title=entry.title, published_at=entry.published_at, feed=feed
                )
        except (DataError, ValueError, OverflowError) as error:
            # What the database or the URL parser refused (a canonical URL over the limit, say).
            logger.warning("Feed %s: skipped the entry %r: %s", feed.url, link[:200], error)
            skipped[f"refused: {type(error).__name__}"] += 1
            continue
        if created:
            new_ids.append(article.pk)
    # A 304 need only repeat some validators (RFC 9110 requires ETag, not Last-Modified): keep
    # the ones it leaves out. A full response replaces them, absent ones included.
    kept_etag, kept_last_modified = (feed.etag, feed.last_modified) if result.not_modified else ("", "")
    Feed.objects.filter(pk=feed_id).update(
        etag=result.headers.get("etag", kept_etag)[:300],
        last_modified=result.headers.get("last-modified", kept_last_modified)[:100],
        last_polled_at=now,
        last_success_at=now,
        last_unconditional_at=feed.last_unconditional_at if conditional else now,
        is_verified=True,
        consecutive_failures=0,
        last_error="",
        skipped_entries=dict(skipped),
        next_poll_at=now + interval,
    )
    return new_ids


def feed_enable(*, feed_ids: list[int]) -> int:
    """A curator's re-enabling: the feeds are polled again at once, their failure count reset."""
    return Feed.objects.filter(pk__in=feed_ids).update(
        is_active=True, disabled_at=None, consecutive_failures=0, next_poll_at=timezone.now()
    )
