"""The reads of the pages around a story: home, blindspots, outlets and search.

Each function returns what one page needs in a fixed number of queries, whatever the number of
stories, articles or ratings (the tests pin the counts).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr
from django.http import Http404
from django.shortcuts import get_object_or_404

from sources.compiled import CompiledQuery, kept_briefly
from sources.models import Article, Outlet, OutletRating
from stories.models import Story
from stories.querysets import SIDES, BlindspotRule
from stories.selectors import stories_latest

SEARCH_MAX_CHARS = 200
SEARCH_STORIES_SHOWN = 10
SEARCH_ARTICLES_PER_PAGE = 20
# Full-text search ranks at most this many of the newest matching articles: a word in every article
# had each of 100,000 ranked and counted (1.1 s a request); the newest 1,000 take a fraction.
SEARCH_ARTICLES_RANKED = 1000
# and at most this many of the newest matching stories, for the best ten (ranking all 10,000 took 50 ms).
SEARCH_STORIES_RANKED = 1000
OUTLET_RECENT_ARTICLES = 20
# Frame shares are counted over the outlet's latest analysed articles: a bounded read, and what the
# outlet publishes now rather than years ago.
OUTLET_FRAME_SAMPLE = 1000
RATING_ORDER = ("-rated_at", "-created_at", "-id")
SIDE_LABELS = {"left": "the left", "center": "the center", "right": "the right"}


@dataclass(frozen=True)
class StoriesState:
    """What the cached home page is keyed on, and where the "fresh" window of its ranking ends."""

    version: str
    newest: datetime | None


def stories_state() -> StoriesState:
    """One query: the stories' version (any refresh or re-clustering changes it) and the newest coverage."""
    refreshed, reclustered, newest = stories_latest()
    version = "-".join(str(moment.timestamp()) if moment else "0" for moment in (refreshed, reclustered))
    return StoriesState(version=version, newest=newest)


def top_stories(*, newest: datetime | None) -> QuerySet[Story]:
    """Listed stories, top first (see StoryQuerySet.ranked_top).

    The fresh window ends at the newest coverage in the database, not at the clock: the ranking
    then only changes when the stories do (so the cached page stays right), and a quiet night or
    an old corpus still gets a meaningful order.
    """
    stories = Story.objects.listed().with_sides_elsewhere()
    if newest is None:
        return stories.order_by("-last_published_at", "-pk")
    hours = float(settings.NEWSROOM_TOP_STORIES_WINDOW_HOURS)
    return stories.ranked_top(fresh_since=newest - timedelta(hours=hours))


@dataclass(frozen=True)
class BlindspotReason:
    """Why a story was flagged: the counts, the shares and the rule's threshold."""

    sides: list[str]
    counts: dict[str, int]
    shares: dict[str, float]
    rated: int
    rule: BlindspotRule

    @property
    def sides_text(self) -> str:
        return " and ".join(SIDE_LABELS[side] for side in self.sides)

    @property
    def explanation(self) -> str:
        parts = ", ".join(f"{self.counts[side]} {side} ({self.shares[side]:.0f}%)" for side in SIDES)
        return f"Of {self.rated} rated articles: {parts}. {self.rule.definition}"


def blindspot_reason(story: Story, rule: BlindspotRule) -> BlindspotReason | None:
    sides = rule.sides(story)
    if not sides:
        return None
    return BlindspotReason(
        sides=sides,
        counts=story.coverage_by_side(),
        shares=story.coverage_shares(),
        rated=story.rated_count,
        rule=rule,
    )


def stories_with_blindspots(stories: list[Story], rule: BlindspotRule | None = None) -> list[Story]:
    """Sets ``blindspot_reason`` on each story: its BlindspotReason, or None. No query."""
    rule = rule or BlindspotRule.current()
    for story in stories:
        story.blindspot_reason = blindspot_reason(story, rule)  # type: ignore[attr-defined]
    return stories


def blindspot_feed(*, side: str = "") -> QuerySet[Story]:
    """Stories barely covered by one side (or by ``side``), newest first. Raises ValueError for a bad side."""
    stories = Story.objects.listed().with_sides_elsewhere()
    stories = stories.blindspot_for(side) if side else stories.blindspots()
    return stories.order_by("-last_published_at", "-pk")


# --- Outlets ---------------------------------------------------------------------------


def outlet_list() -> QuerySet[Outlet]:
    return Outlet.objects.annotate(article_count=Count("articles")).order_by("name")


def _outlet_version_rows(slug: str) -> QuerySet[Outlet, tuple[object, ...]]:
    latest = OutletRating.objects.filter(outlet=OuterRef("pk")).order_by("-pk").values("pk")[:1]
    # The end of the outlet's part of the (outlet, state_changed_at) index: one index probe.
    changed = Article.objects.filter(outlet=OuterRef("pk")).order_by("-state_changed_at").values("state_changed_at")[:1]
    return (
        Outlet.objects.filter(slug=slug)
        .annotate(latest_rating=Subquery(latest), latest_change=Subquery(changed))
        .order_by()
        .values_list(*(field.attname for field in Outlet._meta.concrete_fields), "latest_rating", "latest_change")[:1]
    )


# No outlet has this slug (a slug holds letters, digits, hyphens and underscores only).
_OUTLET_VERSION = CompiledQuery(_outlet_version_rows, marker="<any outlet>")


@kept_briefly
def outlet_page_version(*, slug: str) -> str:
    """What the cached outlet page is keyed on, in one query: the outlet's row, its latest rating,
    and the latest change to any of its articles (a new one, or one fetched, analysed, clustered or
    failed). What it misses (a story's new title beside a recent article, an article deleted) waits
    for the cache's time limit. Raises Http404."""
    rows = _OUTLET_VERSION.rows(slug)
    if not rows:
        raise Http404("No such outlet.")
    return "|".join(str(value) for value in rows[0])


@dataclass
class FrameShare:
    frame: str
    articles: int
    share: float


@dataclass
class OutletPage:
    outlet: Outlet
    ratings: list[OutletRating]
    recent_articles: list[Article]
    article_count: int
    analysed_count: int
    frame_shares: list[FrameShare] = field(default_factory=list)
    frame_sample: int = 0


def outlet_page_get(*, slug: str) -> OutletPage:
    """The outlet, its rating history, its recent articles with their stories, its share per frame: 4 queries."""
    outlet = get_object_or_404(
        Outlet.objects.annotate(article_count=Count("articles")).prefetch_related(
            Prefetch("ratings", queryset=OutletRating.objects.select_related("entered_by").order_by(*RATING_ORDER))
        ),
        slug=slug,
    )
    recent = list(
        Article.objects.filter(outlet=outlet)
        .select_related("membership__cluster__story")
        .only(
            "pk",
            "title",
            "canonical_url",
            "published_at",
            "discovered_at",
            "syndicated_from_id",
            "membership__id",
            "membership__cluster__id",
            "membership__cluster__story__cluster",
            "membership__cluster__story__title",
        )
        .order_by("-published_at", "-id")[:OUTLET_RECENT_ARTICLES]
    )
    # Only the frames column of each analysed article: one query, whatever the outlet's size.
    frame_lists = list(
        Article.objects.filter(outlet=outlet, analysis__isnull=False)
        .order_by("-published_at", "-id")
        .values_list("analysis__frames", flat=True)[:OUTLET_FRAME_SAMPLE]
    )
    counts: Counter[str] = Counter()
    for frames in frame_lists:
        counts.update(
            {
                frame["frame"]
                for frame in frames or []
                if isinstance(frame, dict) and "frame" in frame and frame.get("shown", True)
            }
        )
    analysed = len(frame_lists)
    shares = [
        FrameShare(frame=frame, articles=number, share=100.0 * number / analysed)
        for frame, number in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return OutletPage(
        outlet=outlet,
        ratings=list(outlet.ratings.all()),
        recent_articles=recent,
        article_count=outlet.article_count,  # type: ignore[attr-defined]
        analysed_count=analysed,
        frame_shares=shares,
        frame_sample=OUTLET_FRAME_SAMPLE,
    )


# --- Search ----------------------------------------------------------------------------


class SearchQueryError(ValueError):
    """The reader's query cannot be searched; the message says why."""


@dataclass
class SearchResults:
    query: str
    stories: list[Story]
    articles: Page
    full_text: bool
    # Only the newest SEARCH_ARTICLES_RANKED matching articles are ranked and shown.
    capped: bool = False


def uses_full_text_search() -> bool:
    return connection.vendor == "postgresql"


def search_query_clean(raw: str) -> str:
    # A NUL separates words like a space does (PostgreSQL refuses it in any text it is given).
    query = " ".join(raw.replace("\x00", " ").split())
    if len(query) > SEARCH_MAX_CHARS:
        raise SearchQueryError(f"Search for at most {SEARCH_MAX_CHARS} characters; yours has {len(query)}.")
    return query


def _word_filter(words: list[str], fields: tuple[str, ...]) -> Q:
    """Every word in at least one of the fields (the fallback where there is no full-text search)."""
    condition = Q()
    for word in words:
        either = Q()
        for name in fields:
            either |= Q(**{f"{name}__icontains": word})
        condition &= either
    return condition


def search(*, query: str, page: str | int = 1) -> SearchResults:
    """Stories (the best ten) and articles (paginated; on PostgreSQL the newest 1,000) matching ``query``: 4 queries.

    PostgreSQL matches with full-text search ('english' stemming, websearch syntax: quotes,
    OR, -word; GIN-indexed) and ranks title matches first; elsewhere every word must appear in
    the title or text, newest first.
    """
    stories = Story.objects.listed()
    full_text = uses_full_text_search()
    if full_text:
        # The match is on the documents PostgreSQL stores for each article and story (migration
        # 0013: generated columns, GIN-indexed): a common word is matched without computing a
        # document again. Stories: the newest SEARCH_STORIES_RANKED matches, ranked by their stored
        # document (weighted title A, summary B). Articles: the newest SEARCH_ARTICLES_RANKED
        # matches, ranked by their title (a short string, computed per row): title matches first,
        # then the newest.
        parsed = "websearch_to_tsquery('english'::regconfig, %s)"
        newest_stories = RawSQL(
            f"SELECT id FROM stories_story WHERE search_document @@ {parsed}"
            " ORDER BY last_published_at DESC, id DESC LIMIT %s",
            [query, SEARCH_STORIES_RANKED],
        )
        stories = (
            stories.filter(pk__in=newest_stories)
            .annotate(rank=RawSQL(f"ts_rank(stories_story.search_document, {parsed})", [query]))
            .order_by("-rank", "-last_published_at", "-pk")
        )
        newest_articles = RawSQL(
            f"SELECT id FROM sources_article WHERE search_document @@ {parsed}"
            " ORDER BY published_at DESC, id DESC LIMIT %s",
            [query, SEARCH_ARTICLES_RANKED],
        )
        title = "to_tsvector('english'::regconfig, COALESCE(sources_article.title, ''))"
        ranked: QuerySet[Article, Any] = (
            Article.objects.filter(pk__in=newest_articles)
            .annotate(rank=RawSQL(f"ts_rank({title}, {parsed})", [query]))
            .order_by("-rank", "-published_at", "-id")
        )
    else:
        words = query.split()
        stories = stories.filter(_word_filter(words, ("title", "summary"))).order_by("-last_published_at", "-pk")
        ranked = Article.objects.filter(_word_filter(words, ("title", "text"))).order_by("-published_at", "-id")
    # The page's ids are ranked first, and only its articles are read: ordering the rows whole
    # read every matching article's text for its snippet (17 of 18 ms for 1,000 matches).
    ranked_ids = Paginator(ranked.values_list("pk", flat=True), SEARCH_ARTICLES_PER_PAGE).get_page(page)
    ids = list(ranked_ids.object_list)
    shown = (
        Article.objects.select_related("outlet", "membership__cluster__story")
        .defer("text", "membership__cluster__lead_sum", "membership__cluster__body_sum")
        .defer("membership__cluster__entity_counts", "membership__cluster__outlet_ids")
        .defer("membership__cluster__story__overview", "membership__cluster__story__claims")
        .annotate(snippet=Substr("text", 1, 240))
        .in_bulk(ids)
    )
    found: Page[Any] = Page([shown[pk] for pk in ids if pk in shown], ranked_ids.number, ranked_ids.paginator)
    return SearchResults(
        query=query,
        stories=list(stories[:SEARCH_STORIES_SHOWN]),
        articles=found,
        full_text=full_text,
        capped=full_text and found.paginator.count >= SEARCH_ARTICLES_RANKED,
    )
