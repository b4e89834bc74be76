"""Writes for outlets, ratings, feeds and articles. Each runs in one transaction."""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import feedparser
import trafilatura
from courlan import normalize_url
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from htmldate import find_date

from sources.fetching import FetchError, fetch
from sources.importing import CorpusRow, OutletRow
from sources.models import Article, Feed, Outlet, OutletDomain, OutletRating

logger = logging.getLogger(__name__)

FEED_CONTENT_TYPES = ("application/", "text/xml", "text/plain", "text/html")
PAGE_CONTENT_TYPES = ("text/html", "application/xhtml+xml")
HTML_LANG = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([a-zA-Z]{2,3})", re.IGNORECASE)


# --- Pure helpers -----------------------------------------------------------


def canonical_url_of(url: str) -> str:
    """The URL an article is known by: normalised, tracking parameters and fragment removed."""
    try:
        normalised = normalize_url(url.strip())
    except ValueError:
        normalised = url.strip()
    scheme, netloc, path, query, _fragment = urlsplit(normalised)
    return urlunsplit((scheme, netloc.lower(), path or "/", query, ""))


def domain_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def content_hash_of(text: str) -> str:
    normalised = " ".join(text.lower().split())
    return hashlib.sha256(normalised.encode()).hexdigest() if normalised else ""


# --- Outlets and ratings ----------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:180] or "outlet"
    slug, counter = base, 2
    while Outlet.objects.filter(slug=slug).exists():
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


def outlet_create(*, name: str, domain: str = "", country: str = "", owner: str = "") -> Outlet:
    with transaction.atomic():
        outlet = Outlet.objects.create(name=name, slug=_unique_slug(name), country=country, owner=owner)
        if domain:
            OutletDomain.objects.create(outlet=outlet, domain=domain)
    return outlet


def outlet_for_article(*, domain: str, name: str = "") -> Outlet:
    """The outlet an article belongs to, matched by domain then by name; created unrated if unknown."""
    domain = domain.lower().removeprefix("www.")
    if domain:
        outlet = Outlet.objects.for_domain(domain).first()
        if outlet is not None:
            return outlet
    if name:
        outlet = Outlet.objects.filter(name__iexact=name).first()
        if outlet is not None:
            if domain:
                OutletDomain.objects.get_or_create(domain=domain, defaults={"outlet": outlet})
            return outlet
    try:
        return outlet_create(name=name or domain, domain=domain)
    except IntegrityError:
        # Another worker created it between our read and our write.
        return Outlet.objects.for_domain(domain).get()


def outlet_rating_add(
    *,
    outlet: Outlet,
    lean: str,
    rated_by: str,
    factuality: str = "",
    rated_at: date | None = None,
    note: str = "",
    entered_by: AbstractBaseUser | None = None,
) -> OutletRating:
    """Append a rating to the outlet's history and make the newest rating the outlet's current one."""
    with transaction.atomic():
        rating = OutletRating.objects.create(
            outlet=outlet,
            lean=lean,
            factuality=factuality,
            rated_by=rated_by,
            rated_at=rated_at or timezone.localdate(),
            note=note,
            entered_by=entered_by,
        )
        outlet_current_rating_sync(outlet=outlet)
    return rating


def outlet_current_rating_sync(*, outlet: Outlet) -> None:
    newest = outlet.ratings.order_by("-rated_at", "-created_at", "-id").first()
    outlet.lean = newest.lean if newest else ""
    outlet.factuality = newest.factuality if newest else ""
    outlet.save(update_fields=["lean", "factuality"])


def outlet_import(*, row: OutletRow, entered_by: AbstractBaseUser | None = None) -> tuple[Outlet, bool]:
    """Create or update an outlet from an import row; a new lean is appended to its rating history."""
    with transaction.atomic():
        outlet = Outlet.objects.for_domain(row.domain).first() if row.domain else None
        if outlet is None:
            outlet = Outlet.objects.filter(name__iexact=row.name).first()
        created = outlet is None
        if outlet is None:
            outlet = outlet_create(name=row.name, domain=row.domain, country=row.country, owner=row.owner)
        else:
            outlet.country = row.country or outlet.country
            outlet.owner = row.owner or outlet.owner
            outlet.save(update_fields=["country", "owner"])
            if row.domain:
                OutletDomain.objects.get_or_create(domain=row.domain, defaults={"outlet": outlet})
        for feed_url in row.feeds:
            Feed.objects.get_or_create(url=feed_url, defaults={"outlet": outlet})
        rated_by = row.rated_by or "Imported without attribution"
        changed = bool(row.lean) and (row.lean, row.factuality) != (outlet.lean, outlet.factuality)
        # The file's rating may be in the history without being current (a curator rated the
        # outlet since, or the file's rating is older): importing the file again must not repeat it.
        if (
            changed
            and not outlet.ratings.filter(
                lean=row.lean,
                factuality=row.factuality,
                rated_by=rated_by,
                **({"rated_at": row.rated_at} if row.rated_at else {}),
            ).exists()
        ):
            outlet_rating_add(
                outlet=outlet,
                lean=row.lean,
                factuality=row.factuality,
                rated_by=rated_by,
                rated_at=row.rated_at,
                note=row.note,
                entered_by=entered_by,
            )
    return outlet, created


# --- Articles ---------------------------------------------------------------


def article_discover(
    *,
    outlet: Outlet,
    url: str,
    title: str = "",
    text: str = "",
    published_at: datetime | None = None,
    language: str = "",
    feed: Feed | None = None,
) -> tuple[Article, bool]:
    """Record an article once per canonical URL, whatever the order and timing of arrivals.

    An article that arrives with its text is ready for analysis (state ``fetched``);
    one without text waits to be fetched. Returns the article and whether it is new.
    """
    canonical_url = canonical_url_of(url)
    existing = Article.objects.filter(canonical_url=canonical_url).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    has_text = bool(text.strip())
    try:
        with transaction.atomic():
            article = Article.objects.create(
                outlet=outlet,
                feed=feed,
                url=url,
                canonical_url=canonical_url,
                title=title[:1000],
                text=text,
                is_title_only=not has_text,
                published_at=published_at,
                language=language,
                content_hash=content_hash_of(text),
                state=Article.State.FETCHED if has_text else Article.State.DISCOVERED,
                fetched_at=now if has_text else None,
            )
    except IntegrityError:
        return Article.objects.get(canonical_url=canonical_url), False
    return article, True


def article_import(*, row: CorpusRow) -> tuple[Article, bool]:
    outlet = outlet_for_article(domain=row.outlet_domain or domain_of(row.url), name=row.outlet)
    return article_discover(
        outlet=outlet,
        url=row.url,
        title=row.title,
        text=row.text,
        published_at=row.published_at,
        language=row.language,
    )


def article_fail(*, article_id: int, error: str) -> None:
    Article.objects.filter(pk=article_id).update(
        state=Article.State.FAILED, last_error=error[:2000], state_changed_at=timezone.now()
    )


def article_fetch(*, article_id: int) -> Article | None:
    """Fetch and extract an article's page. Idempotent: an article past ``discovered`` is left alone.

    A page whose extracted text is shorter than NEWSROOM_MIN_TEXT_CHARS keeps the
    article as title-only (recorded on the article) rather than dropping it.
    Returns the article to analyse next (another one when the page names a known
    canonical URL), or None when the article no longer exists.
    """
    article = Article.objects.filter(pk=article_id).first()
    if article is None:
        return None
    if article.state != Article.State.DISCOVERED:
        return article
    Article.objects.filter(pk=article_id).update(attempts=article.attempts + 1)
    try:
        result = fetch(article.url, accept="text/html,application/xhtml+xml", allowed_content_types=PAGE_CONTENT_TYPES)
    except FetchError as error:
        logger.warning("Article %s: %s", article_id, error)
        article_fail(article_id=article_id, error=str(error))
        article.refresh_from_db()
        return article

    extracted = trafilatura.bare_extraction(result.content, url=result.url, with_metadata=True, include_comments=False)
    text = (extracted.text if extracted else "") or ""
    title = article.title or (extracted.title if extracted else "") or ""
    canonical_url = canonical_url_of(extracted.url) if extracted and extracted.url else article.canonical_url
    published_at = article.published_at
    if published_at is None:
        day = find_date(result.content.decode("utf-8", "replace"), url=result.url, original_date=True)
        if day:
            published_at = timezone.make_aware(datetime.fromisoformat(day), UTC)
    language = article.language
    if not language:
        match = HTML_LANG.search(result.content[:4096])
        language = match.group(1).decode().lower() if match else ""
    title_only = len(text) < settings.NEWSROOM_MIN_TEXT_CHARS

    with transaction.atomic():
        locked = Article.objects.select_for_update().get(pk=article_id)
        if locked.state != Article.State.DISCOVERED:
            return locked
        if canonical_url != locked.canonical_url:
            if Article.objects.filter(canonical_url=canonical_url).exclude(pk=article_id).exists():
                # The page names another article as canonical: this one is a duplicate URL of it.
                locked.delete()
                return Article.objects.get(canonical_url=canonical_url)
            locked.canonical_url = canonical_url
        locked.title = title[:1000]
        locked.text = "" if title_only else text
        locked.is_title_only = title_only
        locked.published_at = published_at
        locked.language = language
        locked.content_hash = content_hash_of(locked.text)
        locked.state = Article.State.FETCHED
        locked.state_changed_at = locked.fetched_at = timezone.now()
        locked.last_error = ""
        locked.save()
    return locked


# --- Feeds ------------------------------------------------------------------


def _entry_published_at(entry: feedparser.FeedParserDict) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def feed_poll(*, feed_id: int) -> list[int]:
    """Poll one feed and record its new entries as discovered articles; returns their ids.

    Failures are recorded on the feed (last error, consecutive failures, a later
    next poll) and never raised, so one broken feed never stops a worker.
    """
    feed = Feed.objects.select_related("outlet").get(pk=feed_id)
    now = timezone.now()
    interval = timedelta(minutes=settings.NEWSROOM_FEED_POLL_MINUTES)
    try:
        result = fetch(
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            accept="application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5",
            allowed_content_types=FEED_CONTENT_TYPES,
        )
        if result.not_modified:
            entries = []
        else:
            parsed = feedparser.parse(result.content, response_headers=result.headers)
            if parsed.bozo and not parsed.entries:
                raise FetchError(f"Not a readable feed: {parsed.get('bozo_exception', 'unknown error')}.")
            # feedparser reports an empty body or a page with no feed in it as a clean parse with no
            # version; a feed with nothing in it yet still names its format.
            if not parsed.entries and not parsed.get("version"):
                raise FetchError("Not a readable feed: no RSS, Atom or JSON feed in the response.")
            entries = parsed.entries
    except FetchError as error:
        failures = feed.consecutive_failures + 1
        Feed.objects.filter(pk=feed_id).update(
            last_polled_at=now,
            consecutive_failures=failures,
            last_error=str(error)[:2000],
            # Back off: each consecutive failure doubles the wait, up to a day.
            next_poll_at=now + min(interval * (2 ** min(failures, 6)), timedelta(days=1)),
        )
        logger.warning("Feed %s: %s", feed.url, error)
        return []

    new_ids: list[int] = []
    for entry in entries:
        link = entry.get("link") or entry.get("id") or ""
        if not link.startswith(("http://", "https://")):
            continue
        article, created = article_discover(
            outlet=feed.outlet,
            url=link,
            title=entry.get("title", ""),
            published_at=_entry_published_at(entry),
            feed=feed,
        )
        if created:
            new_ids.append(article.pk)
    # A 304 need only repeat some validators (RFC 9110 requires ETag, not Last-Modified): keep
    # the ones it leaves out. A full response replaces them, absent ones included.
    kept_etag, kept_last_modified = (feed.etag, feed.last_modified) if result.not_modified else ("", "")
    Feed.objects.filter(pk=feed_id).update(
        etag=result.headers.get("etag", kept_etag),
        last_modified=result.headers.get("last-modified", kept_last_modified),
        last_polled_at=now,
        last_success_at=now,
        is_verified=True,
        consecutive_failures=0,
        last_error="",
        next_poll_at=now + interval,
    )
    return new_ids
