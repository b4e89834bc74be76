"""Articles: recording one per canonical URL (discovered, imported or pushed), fetching and
extracting its page, retrying failed fetches, and the pure helpers they share (canonical URL,
domain, content hash, language)."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import py3langid
import trafilatura
from courlan import normalize_url
from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone
from htmldate import find_date

from sources.fetching import FetchError, fetch
from sources.importing import CorpusRow, RowError
from sources.models import Article, Feed, Outlet
from sources.outlets import outlet_for_article
from sources.syndication import article_syndication_link

logger = logging.getLogger(__name__)

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


def _on_domain(host: str, domain: str) -> bool:
    return bool(domain) and (host == domain or host.endswith("." + domain))


def _canonical_is_own(canonical_url: str, article: Article, fetched_url: str) -> bool:
    """Whether a page's canonical URL is on its outlet's domains or the site it was fetched from."""
    host = domain_of(canonical_url)
    own = {domain_of(article.url), domain_of(fetched_url)}
    own |= {domain.removeprefix("www.") for domain in article.outlet.domains.values_list("domain", flat=True)}
    return any(_on_domain(host, domain) for domain in own)


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


# --- Writes -----------------------------------------------------------------


# What a row's checks, the database, the URL parser or the date arithmetic may refuse in one
# article's data (a malformed URL, a date out of range, a value over a column's length): the
# caller rejects that article with the reason and goes on with the others.
REFUSED = (RowError, DataError, ValueError, OverflowError)


def refusal(error: Exception) -> str:
    """One line saying why an article was refused."""
    if isinstance(error, RowError):
        return str(error)
    first_line = (str(error).splitlines() or [""])[0][:200]
    if isinstance(error, DataError):
        return f"refused by the database: {first_line}"
    return f"{type(error).__name__}: {first_line}"


def text_clean(value: str) -> str:
    """Text as the database can keep it: no NUL (PostgreSQL refuses it in text) and no lone
    surrogate (no UTF-8 encoding has one); the rest exactly as sent."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


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
    title, text = text_clean(title), text_clean(text)
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
    assert not isinstance(extracted, dict)  # a dict only with as_dict=True
    text = (extracted.text if extracted else "") or ""
    title = article.title or (extracted.title if extracted else "") or ""
    canonical_url = canonical_url_of(extracted.url) if extracted and extracted.url else article.canonical_url
    if len(canonical_url) > 2000 or not canonical_url.startswith(("http://", "https://")):
        canonical_url = article.canonical_url
    elif canonical_url != article.canonical_url and not _canonical_is_own(canonical_url, article, result.url):
        # A page may not claim another site's URL: it would take that article's place (its own
        # coverage then "already known" and dropped). The fetched URL stands.
        logger.warning(
            "Article %s: ignored the canonical URL %s, on no domain of outlet %s nor of %s",
            article_id,
            canonical_url[:300],
            article.outlet_id,
            result.url[:300],
        )
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
