"""Writes for outlets, ratings, feeds and articles. Each runs in one transaction."""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import feedparser
import py3langid
import trafilatura
from courlan import normalize_url
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.text import slugify
from htmldate import find_date

from sources import syndication
from sources.fetching import FetchError, fetch
from sources.importing import CorpusRow, OutletRow, RowError, corpus_row_parse
from sources.models import (
    Article,
    ArticleFingerprint,
    ArticleFingerprintBand,
    Feed,
    Outlet,
    OutletDomain,
    OutletRating,
    RatingChange,
)

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


# Below this many characters a language guess is noise; the page's declared language is used instead.
MIN_LANGUAGE_DETECTION_CHARS = 40


def language_of(text: str) -> str:
    """The ISO 639-1 code py3langid (offline, its model in the package) finds for the text, or ''."""
    text = " ".join(text.split())
    if len(text) < MIN_LANGUAGE_DETECTION_CHARS:
        return ""
    language, _score = py3langid.classify(text[:5000])
    return str(language)


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
        link = item.get("url") or item.get("id") or ""
        title = item.get("title") or ""
        published = item.get("date_published") or item.get("date_modified") or ""
        published_at = None
        if isinstance(published, str) and published:
            try:
                published_at = parse_datetime(published)
            except ValueError:
                published_at = None
            if published_at is not None and timezone.is_naive(published_at):
                published_at = timezone.make_aware(published_at, UTC)
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
    if parsed.bozo and not parsed.entries:
        raise FetchError(f"Not a readable feed: {parsed.get('bozo_exception', 'unknown error')}.")
    # feedparser reports an empty body or a page with no feed in it as a clean parse with no
    # version; a feed with nothing in it yet still names its format.
    if not parsed.entries and not parsed.get("version"):
        raise FetchError("Not a readable feed: no RSS, Atom or JSON feed in the response.")
    return [
        FeedEntry(
            link=str(entry.get("link") or entry.get("id") or "").strip(),
            title=str(entry.get("title", "")),
            published_at=_entry_published_at(entry),
        )
        for entry in parsed.entries
    ]


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
    scheme: str = "",
    score: float | None = None,
) -> OutletRating:
    """Append a rating to the outlet's history, then recompute its effective rating by the policy.

    ``scheme`` defaults to the outlet's own. The changelog gets one entry (before and after), and
    when the effective lean moves the pipeline's hook recomputes the coverage of the outlet's
    stories once the transaction commits. Locks the outlet row, so two ratings added at once
    are applied one after the other.
    """
    with transaction.atomic():
        locked = Outlet.objects.select_for_update().get(pk=outlet.pk)
        rating = OutletRating(
            outlet=locked,
            scheme=scheme or locked.scheme,
            lean=lean,
            score=score,
            factuality=factuality,
            rated_by=rated_by,
            rated_at=rated_at or timezone.localdate(),
            note=note,
            entered_by=entered_by,
        )
        rating.full_clean(exclude=["outlet", "entered_by"])
        rating.save()
        outlet_effective_rating_sync(outlet=locked, cause=rating)
    # The caller's instance shows the new effective rating too.
    for name in ("lean", "factuality", "effective_rating_id", "lean_rule", "lean_explanation"):
        setattr(outlet, name, getattr(locked, name))
    return rating


def outlet_effective_rating_sync(*, outlet: Outlet, cause: OutletRating | None = None) -> bool:
    """Set the outlet's cached effective rating (lean, factuality, rule) from its ratings by the policy.

    Records a changelog entry when a rating was added (``cause``) or the lean or factuality moved;
    returns whether the lean moved. The caller holds the transaction.
    """
    from sources.ratings import effective_rating_of  # the policy module imports the services for imports

    before = (outlet.lean, outlet.factuality)
    effective = effective_rating_of(outlet)
    outlet.lean, outlet.factuality = effective.lean, effective.factuality
    outlet.effective_rating = effective.rating
    outlet.lean_rule, outlet.lean_explanation = effective.rule, effective.explanation[:500]
    outlet.save(update_fields=["lean", "factuality", "effective_rating", "lean_rule", "lean_explanation"])
    if cause is not None or before != (outlet.lean, outlet.factuality):
        RatingChange.objects.create(
            outlet=outlet,
            rating=cause,
            lean_before=before[0],
            lean_after=outlet.lean,
            factuality_before=before[1],
            factuality_after=outlet.factuality,
            rule=effective.rule,
            explanation=effective.explanation[:500],
        )
    lean_moved = before[0] != outlet.lean
    if lean_moved:
        outlets_rating_changed_notify(outlet_ids=[outlet.pk])
    return lean_moved


def outlets_rating_changed_notify(*, outlet_ids: list[int]) -> None:
    """Tell the pipeline (NEWSROOM_RATING_CHANGED_HOOK) that these outlets' effective lean moved:
    sources may not import stories, so the pipeline recomputes their stories' coverage."""
    hook: str = settings.NEWSROOM_RATING_CHANGED_HOOK
    if hook:
        import_string(hook)(outlet_ids=outlet_ids)


def outlets_effective_rating_recompute(*, outlet_ids: list[int] | None = None) -> list[int]:
    """Apply the policy in force again (after NEWSROOM_LEAN_POLICY changed); returns the outlets whose lean moved."""
    moved = []
    queryset = Outlet.objects.order_by("pk")
    if outlet_ids is not None:
        queryset = queryset.filter(pk__in=outlet_ids)
    for outlet_id in queryset.values_list("pk", flat=True):
        with transaction.atomic():
            outlet = Outlet.objects.select_for_update().get(pk=outlet_id)
            if outlet_effective_rating_sync(outlet=outlet):
                moved.append(outlet_id)
    return moved


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
                language=language or language_of(text),
                content_hash=content_hash_of(text),
                state=Article.State.FETCHED if has_text else Article.State.DISCOVERED,
                fetched_at=now if has_text else None,
            )
    except IntegrityError:
        return Article.objects.get(canonical_url=canonical_url), False
    if has_text:
        article_syndication_link(article_id=article.pk)
        article.refresh_from_db()
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


def articles_fetch_retry(*, failed_before: datetime) -> list[int]:
    """Give articles whose page could not be fetched another try; returns their ids.

    Only fetch failures (never fetched) with fewer than NEWSROOM_ARTICLE_FETCH_ATTEMPTS attempts,
    failed before ``failed_before``: a timeout or a 503 often passes, and a page that stays
    broken stops being tried. Their state goes back to discovered; enqueueing is the caller's.
    """
    retry = Article.objects.filter(
        state=Article.State.FAILED,
        fetched_at__isnull=True,
        attempts__lt=settings.NEWSROOM_ARTICLE_FETCH_ATTEMPTS,
        state_changed_at__lt=failed_before,
    )
    ids = list(retry.values_list("pk", flat=True)[:1000])
    Article.objects.filter(pk__in=ids, state=Article.State.FAILED).update(
        state=Article.State.DISCOVERED, state_changed_at=timezone.now()
    )
    return ids


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
        result = fetch(
            article.url,
            accept="text/html,application/xhtml+xml",
            allowed_content_types=PAGE_CONTENT_TYPES,
            check_robots=True,
        )
        extracted = trafilatura.bare_extraction(
            result.content, url=result.url, with_metadata=True, include_comments=False
        )
        published_at = article.published_at
        if published_at is None:
            day = find_date(result.content.decode("utf-8", "replace"), url=result.url, original_date=True)
            if day:
                published_at = timezone.make_aware(datetime.fromisoformat(day), UTC)
    except FetchError as error:
        logger.warning("Article %s: %s", article_id, error)
        article_fail(article_id=article_id, error=str(error))
        article.refresh_from_db()
        return article
    except Exception as error:  # a page that breaks the extractor is recorded, never a dead worker
        logger.exception("Article %s: extraction failed", article_id)
        article_fail(article_id=article_id, error=f"Could not extract the page: {type(error).__name__}: {error}")
        article.refresh_from_db()
        return article
    text = (extracted.text if extracted else "") or ""
    title = article.title or (extracted.title if extracted else "") or ""
    canonical_url = canonical_url_of(extracted.url) if extracted and extracted.url else article.canonical_url
    if len(canonical_url) > 2000 or not canonical_url.startswith(("http://", "https://")):
        canonical_url = article.canonical_url
    title_only = len(text) < settings.NEWSROOM_MIN_TEXT_CHARS
    language = article.language or (language_of(text) if not title_only else "")
    if not language:
        match = HTML_LANG.search(result.content[:4096])
        language = match.group(1).decode().lower() if match else ""

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
    if locked.text:
        article_syndication_link(article_id=locked.pk)
        locked.refresh_from_db()
    return locked


# --- Near-duplicates (wire copies) ---------------------------------------------

# Any fixed number: the key of the PostgreSQL advisory lock that serialises linking.
SYNDICATION_LOCK_KEY = 0x53594E44


def article_syndication_link(*, article_id: int) -> Article | None:
    """Fingerprint the article's text and link it to the original of its near-copies, if any.

    The original of a group is its earliest article (by publication, then discovery time): when
    a copy arrives before its original, the group is moved under the newcomer. Idempotent: an
    article already fingerprinted is left alone. Runs under an advisory lock on PostgreSQL (two
    copies fingerprinted at once by two workers would not see each other otherwise); SQLite
    serialises writers already. Returns the original the article was linked to, or None.
    """
    article = Article.objects.filter(pk=article_id).first()
    if article is None or not article.text:
        return None
    signature = syndication.signature_of(article.text)
    if signature is None:
        return None
    keys = syndication.band_keys(signature)
    window = timedelta(days=settings.NEWSROOM_SYNDICATION_WINDOW_DAYS)
    moment = article.sort_time
    in_window = Q(article__published_at__range=(moment - window, moment + window)) | Q(
        article__published_at__isnull=True, article__discovered_at__range=(moment - window, moment + window)
    )
    threshold: float = settings.NEWSROOM_SYNDICATION_THRESHOLD
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SYNDICATION_LOCK_KEY])
        if ArticleFingerprint.objects.filter(article_id=article_id).exists():
            return None
        fingerprint = ArticleFingerprint.objects.create(article_id=article_id, minhash=signature)
        candidate_ids = (
            ArticleFingerprintBand.objects.filter(key__in=keys).values_list("fingerprint_id", flat=True).distinct()
        )
        best: tuple[float, Article] | None = None
        for candidate in (
            ArticleFingerprint.objects.filter(in_window, article_id__in=list(candidate_ids))
            .exclude(article_id=article_id)
            .select_related("article__syndicated_from")
        ):
            score = syndication.similarity(signature, bytes(candidate.minhash))
            if score >= threshold and (best is None or score > best[0]):
                best = (score, candidate.article)
        ArticleFingerprintBand.objects.bulk_create(
            [ArticleFingerprintBand(fingerprint=fingerprint, key=key) for key in keys]
        )
        if best is None:
            return None
        score, match = best
        original = match.syndicated_from or match
        if (moment, article.pk) < (original.sort_time, original.pk):
            # The newcomer is older than the group's original: it becomes the original.
            Article.objects.filter(Q(pk=original.pk) | Q(syndicated_from=original)).update(syndicated_from=article)
            Article.objects.filter(pk=original.pk).update(syndication_similarity=score)
            return None
        Article.objects.filter(pk=article_id).update(syndicated_from=original, syndication_similarity=score)
    logger.info("Article %s is a syndicated copy of %s (similarity %.2f)", article_id, original.pk, score)
    return original


# --- Feeds ------------------------------------------------------------------


def _entry_published_at(entry: feedparser.FeedParserDict) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


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
    except FetchError as error:
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
    for entry in entries:
        if not entry.link.startswith(("http://", "https://")) or len(entry.link) > 2000:
            continue
        article, created = article_discover(
            outlet=feed.outlet, url=entry.link, title=entry.title, published_at=entry.published_at, feed=feed
        )
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
        next_poll_at=now + interval,
    )
    return new_ids


def feed_enable(*, feed_ids: list[int]) -> int:
    """A curator's re-enabling: the feeds are polled again at once, their failure count reset."""
    return Feed.objects.filter(pk__in=feed_ids).update(
        is_active=True, disabled_at=None, consecutive_failures=0, next_poll_at=timezone.now()
    )


# --- Articles pushed by partners ------------------------------------------------


@dataclass
class PushedItem:
    index: int
    status: str  # created, existing or rejected
    url: str = ""
    article_id: int | None = None
    reason: str = ""


@dataclass
class PushReport:
    items: list[PushedItem] = field(default_factory=list)

    def ids_with(self, *, status: str) -> list[int]:
        return [item.article_id for item in self.items if item.status == status and item.article_id is not None]


def articles_push(*, records: list[object]) -> PushReport:
    """Record articles a partner sends, in the corpus format; idempotent by canonical URL.

    Each item is validated on its own: a bad one is reported with its index and reason and
    the good ones are kept. Enqueueing the new ones is the caller's (the pipeline's) job.
    """
    report = PushReport()
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            report.items.append(PushedItem(index=index, status="rejected", reason="expected a JSON object"))
            continue
        try:
            row = corpus_row_parse(record)
        except RowError as error:
            url = record.get("url") if isinstance(record.get("url"), str) else ""
            report.items.append(PushedItem(index=index, status="rejected", url=str(url), reason=str(error)))
            continue
        article, created = article_import(row=row)
        report.items.append(
            PushedItem(
                index=index,
                status="created" if created else "existing",
                url=article.canonical_url,
                article_id=article.pk,
            )
        )
    return report
