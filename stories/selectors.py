"""The reads the story pages and the story API need."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from django.db import connection
from django.db.models import Case, F, FilteredRelation, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from clustering.models import ClusteringEvent
from sources.compiled import CompiledQuery, kept_briefly, moment_read
from sources.models import Article, Side, side_of_lean
from stories.faq import faq_generated
from stories.models import Story, StoryQuestion, StoryViewpoint
from stories.pages import (
    ArticleFrame,
    ArticleTags,
    Citation,
    Claim,
    ClaimSide,
    Coverage,
    EntityCount,
    FaqEntry,
    FaqQuote,
    FrameShare,
    OutletBrief,
    OverviewSentence,
    RatingsSnapshot,
    RelatedStory,
    SideColumn,
    SnapshotRating,
    StoryArticle,
    StoryPage,
    Viewpoint,
    ViewpointSentence,
)
from stories.timeline import timeline_build

FAQ_SIZE = 8
# The cluster's columns that only the clusterer reads: no page or endpoint loads them.
CLUSTERING_COLUMNS = ("cluster__lead_sum", "cluster__body_sum", "cluster__entity_counts", "cluster__outlet_ids")
RELATED_STORY_DEFERRED = (
    "related_story__lead_sum",
    "related_story__body_sum",
    "related_story__entity_counts",
    "related_story__outlet_ids",
    "related_story__story__overview",
    "related_story__story__claims",
    "related_story__story__ratings_snapshot",
)


def _story_version_rows(story_id: int) -> QuerySet[Story, tuple[datetime | None, datetime | None]]:
    return Story.objects.listed().filter(pk=story_id).values_list("refreshed_at", "cluster__reclustered_at")[:1]


@kept_briefly
def story_version_times(*, story_id: int) -> tuple[datetime | None, datetime | None]:
    """When the story was last refreshed and last re-clustered. Raises Http404 for an unknown story."""
    if not 0 < story_id < 2**63:  # no row (the ORM says so itself; raw SQL would fail on overflow)
        raise Http404("No such story.")
    rows = _STORY_VERSION.rows(story_id)
    if not rows:
        raise Http404("No such story.")
    refreshed, reclustered = rows[0]
    return moment_read(refreshed), moment_read(reclustered)


def story_version_format(times: tuple[datetime | None, datetime | None]) -> str:
    return "-".join(str(moment.timestamp()) if moment else "0" for moment in times)


# No row has this id: it marks where the story's id goes in the compiled SQL below.
_ANY_STORY_ID = -(2**62)


# A reader's question is in the FAQ once a curator approved it and its answer cites.
FAQ_APPROVED = Q(review=StoryQuestion.Review.APPROVED, is_supported=True)


def _story_page_version_rows(story_id: int) -> QuerySet[Story, tuple[datetime | None, datetime, int | None]]:
    return (
        Story.objects.listed()
        .filter(pk=story_id)
        .alias(
            faq=FilteredRelation(
                "questions",
                condition=Q(questions__review=StoryQuestion.Review.APPROVED, questions__is_supported=True),
            )
        )
        .order_by("-faq__count", "-faq__last_asked_at", "faq__pk")
        .values_list("refreshed_at", "cluster__reclustered_at", "faq__pk")[:FAQ_SIZE]
    )


# Compiled once: on a cached page, compiling them cost more than running them (sources.compiled).
_STORY_VERSION = CompiledQuery(_story_version_rows, marker=_ANY_STORY_ID)
_STORY_PAGE_VERSION = CompiledQuery(_story_page_version_rows, marker=_ANY_STORY_ID)


@kept_briefly
def story_page_version(*, story_id: int) -> str:
    """What the cached story page is keyed on, in one query: the story's version and its FAQ's questions.

    The FAQ changes between refreshes (readers ask), so the ids of the questions it shows are part
    of the key. The story's row is joined to its FAQ questions (a LEFT JOIN: a story without any
    still gives one row), in FAQ order. The times are as the database gives them (a key, not a
    value to compute with). Raises Http404 for an unknown story.
    """
    if not 0 < story_id < 2**63:  # no row (the ORM says so itself; raw SQL would fail on overflow)
        raise Http404("No such story.")
    rows = _STORY_PAGE_VERSION.rows(story_id)
    if not rows:
        raise Http404("No such story.")
    faq_ids = ",".join(str(row[2]) for row in rows if row[2] is not None)
    return f"{rows[0][0]}-{rows[0][1]}:{faq_ids}"


# A chain of merges longer than this is not followed (each step is one query).
MERGE_CHAIN_LIMIT = 10


def story_merged_into(*, story_id: int) -> int | None:
    """The listed story that a story merged away now lives in, following later merges; None if none.

    A merge deletes the merged cluster, and so its page: its old URL is sent on to where its
    articles went, by the clustering log (the merge event names both stories).
    """
    current, seen = story_id, {story_id}
    for _ in range(MERGE_CHAIN_LIMIT):
        target = (
            ClusteringEvent.objects.filter(kind=ClusteringEvent.Kind.MERGE, other_story_id_value=current)
            .order_by("-created_at", "-id")
            .values_list("story_id_value", flat=True)
            .first()
        )
        if target is None or target in seen:
            return None
        if Story.objects.listed().filter(pk=target).exists():
            return target
        current = target
        seen.add(target)
    return None


@kept_briefly
def stories_latest() -> tuple[datetime | None, datetime | None, datetime | None]:
    """The latest story refresh, the latest re-clustering and the newest coverage, in one query.

    Each is the maximum of one indexed column of one table, which the database reads from the end
    of its index; one aggregate over stories joined to their clusters read every row instead (18 ms
    a request at 10,000 stories, most of the home page's, the story list's and the blindspot feed's
    time: lab/bench/README.md, issue 21).
    """
    from clustering.models import Cluster

    quote = connection.ops.quote_name
    story, cluster = quote(Story._meta.db_table), quote(Cluster._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX({quote('refreshed_at')}) FROM {story}), "
            f"(SELECT MAX({quote('reclustered_at')}) FROM {cluster}), "
            f"(SELECT MAX({quote('last_published_at')}) FROM {story})"
        )
        row = cursor.fetchone()
    # SQLite returns text for an expression's value: read it back as Django's own fields would.
    return tuple(moment_read(value) for value in row)  # type: ignore[return-value]


@kept_briefly
def articles_version(*, with_stories: bool = False) -> str:
    """Changes whenever an article the article API lists does, in one query of index probes: a new
    article, any article's state (fetched, analysed, clustered, failed: each state's latest change),
    an analysis written, a re-clustering (an article's story), a new rating (its outlet's side).
    ``with_stories``: and whenever a story is refreshed (its title, summary, counts), in the same
    query. An outlet renamed, or an article deleted, waits for the cache's time limit."""
    from analysis.models import ArticleAnalysis
    from clustering.models import Cluster
    from sources.models import OutletRating

    quote = connection.ops.quote_name
    article = quote(Article._meta.db_table)
    parts = [f"(SELECT MAX({quote('id')}) FROM {article})"]
    parts += [
        f"(SELECT MAX({quote('state_changed_at')}) FROM {article} WHERE {quote('state')} = %s)" for _ in Article.State
    ]
    parts += [
        f"(SELECT MAX({quote('analysed_at')}) FROM {quote(ArticleAnalysis._meta.db_table)})",
        f"(SELECT MAX({quote('reclustered_at')}) FROM {quote(Cluster._meta.db_table)})",
        f"(SELECT MAX({quote('id')}) FROM {quote(OutletRating._meta.db_table)})",
    ]
    if with_stories:
        parts.append(f"(SELECT MAX({quote('refreshed_at')}) FROM {quote(Story._meta.db_table)})")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", [state.value for state in Article.State])
        row = cursor.fetchone()
    return "|".join(str(value) for value in row)


def stories_version() -> str:
    """Changes whenever any story's page data does: what the cached story list is keyed on."""
    refreshed, reclustered, _newest = stories_latest()
    return "-".join(str(moment.timestamp()) if moment else "0" for moment in (refreshed, reclustered))


def story_list() -> QuerySet[Story]:
    return (
        Story.objects.listed()
        .select_related("cluster")
        .defer(*CLUSTERING_COLUMNS)
        # The API orders by it as by a column of the story's own.
        .alias(confidence=F("cluster__confidence"))
        .order_by("-last_published_at", "-pk")
    )


def story_articles(story: Story) -> QuerySet[Article]:
    """The story's articles in time order, without the bulky columns no page shows."""
    return (
        Article.objects.filter(membership__cluster_id=story.pk)
        .select_related("outlet", "analysis")
        .defer("text", "analysis__embedding", "analysis__sentence_embeddings")
        .order_by("published_at", "pk")
    )


SIDE_ORDER = Case(
    *(When(side=side, then=Value(position)) for position, side in enumerate(Side.values)),
    output_field=IntegerField(),
)


def story_detail_queryset() -> QuerySet[Story]:
    """Stories with their viewpoints in page order: left, center, right."""
    return (
        Story.objects.listed()
        .select_related("cluster")
        .defer(*CLUSTERING_COLUMNS)
        .prefetch_related(
            Prefetch(
                "viewpoints",
                # The story a side's coverage may be in (issue 16): its title and id, not its page data.
                queryset=StoryViewpoint.objects.select_related("related_story__story")
                .defer(*RELATED_STORY_DEFERRED)
                .order_by(SIDE_ORDER),
            )
        )
    )


def story_faq_get(*, story_id: int) -> list[StoryQuestion]:
    """Readers' questions in the story's FAQ: those a curator approved, whose answers cite."""
    return list(
        StoryQuestion.objects.filter(FAQ_APPROVED, story_id=story_id).order_by("-count", "-last_asked_at", "pk")[
            :FAQ_SIZE
        ]
    )


def story_coverage(story: Story) -> Coverage:
    """The story's coverage as its last refresh counted it: original articles by side, the rest apart."""
    return Coverage.of_counts(story.coverage_by_side(), unrated=story.unrated_count, syndicated=story.syndicated_count)


# --- The story page, from the stored JSON to typed values ---------------------------------------
# The JSON columns were written by story_refresh and the Ask log; older rows may lack a key, so
# each reader takes what is there and skips what is not of the expected type.


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ints(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(number for item in value if (number := _int_or_none(item)) is not None)


def _objects(value: object) -> list[dict[str, object]]:
    """The JSON objects in a stored list (anything else in it is skipped)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _object(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _date_or_none(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _ratings_snapshot(story: Story) -> RatingsSnapshot:
    outlets = []
    for key, entry in _object(story.ratings_snapshot).items():
        if not key.isdigit() or not isinstance(entry, dict):
            continue
        outlets.append(
            SnapshotRating(
                outlet_id=int(key),
                lean=_text(entry.get("lean")),
                rating_id=_int_or_none(entry.get("rating_id")),
                rated_by=_text(entry.get("rated_by")),
                rated_at=_date_or_none(entry.get("rated_at")),
                rule=_text(entry.get("rule")),
            )
        )
    outlets.sort(key=lambda rating: rating.outlet_id)
    return RatingsSnapshot(as_of=story.ratings_as_of, rules=story.ratings_rules, outlets=tuple(outlets))


def _article(article: Article, *, number: int, side: str | None) -> StoryArticle:
    outlet = article.outlet
    analysis = getattr(article, "analysis", None)
    tags = None
    if analysis is not None:
        tags = ArticleTags(
            frames=tuple(
                ArticleFrame(frame=_text(frame.get("frame")), evidence=tuple(frame["evidence"]))
                for frame in analysis.frames_with_evidence
            ),
            tone_label=analysis.tone_label,
            tone_toward=tuple(analysis.tone_toward),
            loaded_highlights=tuple(tuple(parts) for parts in analysis.loaded_highlights),
            loaded_headline=tuple(analysis.loaded_headline),
            quoted_highlights=tuple(tuple(parts) for parts in analysis.quoted_highlights),
            quoted_headline=tuple(analysis.quoted_headline),
        )
    return StoryArticle(
        id=article.pk,
        number=number,
        title=article.title,
        canonical_url=article.canonical_url,
        outlet=OutletBrief(
            id=outlet.pk,
            name=outlet.name,
            slug=outlet.slug,
            lean=outlet.lean,
            side=outlet.side,
            factuality=outlet.factuality,
            factuality_label=outlet.get_factuality_display(),
        ),
        side=side,
        published_at=article.published_at,
        sort_time=article.sort_time,
        syndicated_from_id=article.syndicated_from_id,
        analysis=tags,
    )


def _articles(story: Story, ratings: RatingsSnapshot) -> tuple[StoryArticle, ...]:
    """The story's articles in time order, each numbered, on the side the ratings snapshot gives its outlet.

    An outlet the snapshot does not know (its article joined after the refresh, or the story was
    last refreshed before snapshots were kept) counts for its current side until the next refresh.
    """
    sides_then = {rating.outlet_id: side_of_lean(rating.lean) for rating in ratings.outlets}
    return tuple(
        _article(article, number=number, side=sides_then.get(article.outlet_id, article.outlet.side))
        for number, article in enumerate(story_articles(story), start=1)
    )


def _outlet_coverage(articles: tuple[StoryArticle, ...]) -> Coverage:
    """Outlets with original reporting in the story, by the side their articles count for."""
    outlets: dict[str | None, set[int]] = {}
    for article in articles:
        if not article.is_syndicated:
            outlets.setdefault(article.side, set()).add(article.outlet.id)
    counts = {side: len(outlets.get(side, ())) for side in Side.values}
    return Coverage.of_counts(counts, unrated=len(outlets.get(None, ())))


def _viewpoint(viewpoint: StoryViewpoint, numbers: Mapping[int, int]) -> Viewpoint:
    summary = []
    for sentence in _objects(viewpoint.summary):
        article_id = _int_or_none(sentence.get("article"))
        number = numbers.get(article_id) if article_id is not None else None
        summary.append(ViewpointSentence(text=_text(sentence.get("text")), article_id=article_id, number=number))
    return Viewpoint(
        side=viewpoint.side,
        label=viewpoint.get_side_display(),
        article_count=viewpoint.article_count,
        outlet_count=viewpoint.outlet_count,
        is_available=viewpoint.is_available,
        unavailable_reason=viewpoint.unavailable_reason,
        unavailable_explanation=viewpoint.unavailable_explanation,
        summary=tuple(summary),
        frames=tuple(
            FrameShare(
                frame=_text(frame.get("frame")),
                share=_number(frame.get("share")),
                distinctive=bool(frame.get("distinctive")),
            )
            for frame in _objects(viewpoint.frames)
        ),
        tone=viewpoint.tone,
        tone_counts={label: count for label, count in _object(viewpoint.tone_counts).items() if isinstance(count, int)},
        entities=tuple(
            EntityCount(
                text=_text(entity.get("text")),
                count=_int_or_none(entity.get("count")) or 0,
                label=_text(entity.get("label")),
            )
            for entity in _objects(viewpoint.entities)
        ),
        related_story=(
            RelatedStory(
                id=related.pk,
                title=page.title if (page := getattr(related, "story", None)) is not None else "",
                url=reverse("stories:detail", kwargs={"pk": related.pk}),
                reason=viewpoint.related_reason,
            )
            if (related := viewpoint.related_story) is not None
            else None
        ),
    )


def _overview(story: Story, numbers: Mapping[int, int]) -> tuple[OverviewSentence, ...]:
    """Each overview sentence with the articles it cites, their numbers and their own sentence."""
    overview = []
    for sentence in _objects(story.overview):
        quotes = _object(sentence.get("quotes"))
        overview.append(
            OverviewSentence(
                text=_text(sentence.get("text")),
                article_id=_int_or_none(sentence.get("article")),
                citations=tuple(
                    Citation(article_id=pk, number=numbers.get(pk), quote=_text_or_none(quotes.get(str(pk))))
                    for pk in _ints(sentence.get("citations"))
                ),
                is_generated=bool(sentence.get("is_generated")),
                source=_text(sentence.get("source")),
            )
        )
    return tuple(overview)


def _claims(story: Story, numbers: Mapping[int, int]) -> tuple[Claim, ...]:
    """Each claim with, per side, the articles that stated it, their numbers and their own wording."""
    claims = []
    for claim in _objects(story.claims):
        by_side, quotes = _object(claim.get("sides")), _object(claim.get("quotes"))
        similar = set(_ints(claim.get("similar")))
        sides = tuple(
            ClaimSide(
                side=side,
                label=label,
                citations=tuple(
                    Citation(
                        article_id=pk,
                        number=numbers.get(pk),
                        quote=_text_or_none(quotes.get(str(pk))),
                        similar=pk in similar,
                    )
                    for pk in _ints(by_side.get(side))
                ),
            )
            for side, label in Side.choices
        )
        claims.append(Claim(text=_text(claim.get("text")), article_id=_int_or_none(claim.get("article")), sides=sides))
    return tuple(claims)


def _faq(faq: Sequence[StoryQuestion], numbers: Mapping[int, int]) -> tuple[FaqEntry, ...]:
    """The FAQ's stored quotes numbered as the articles are now: an article may have joined since,
    or left the story (its quote is then dropped, and an entry left without quotes too)."""
    entries = []
    for question in faq:
        quotes = tuple(
            FaqQuote(
                text=_text(quote.get("text")),
                article_id=article_id,
                number=numbers[article_id],
                outlet=_text(quote.get("outlet")),
            )
            for quote in _objects(_object(question.answer).get("quotes"))
            if (article_id := _int_or_none(quote.get("article_id"))) is not None and article_id in numbers
        )
        if quotes:
            entries.append(FaqEntry(question=question.wording, quotes=quotes))
    return tuple(entries)


def story_page_build(story: Story, *, side: str = "", faq: Sequence[StoryQuestion] = ()) -> StoryPage:
    """The page of a story read through story_detail_queryset, with one more query (its articles).

    What the story page and the API's story detail show, built here only. ``side`` narrows the
    article list to one side (or "unrated"); the citation numbers stay those of the full list so
    [n] means the same article everywhere on the page.
    """
    ratings = _ratings_snapshot(story)
    articles = _articles(story, ratings)
    numbers = {article.id: article.number for article in articles}
    viewpoints = tuple(_viewpoint(viewpoint, numbers) for viewpoint in story.viewpoints.all())
    overview, claims = _overview(story, numbers), _claims(story, numbers)
    by_side = {viewpoint.side: viewpoint for viewpoint in viewpoints}
    columns = tuple(
        SideColumn(
            side=column_side,
            label=label,
            viewpoint=by_side.get(column_side),
            articles=tuple(article for article in articles if article.side == column_side),
        )
        for column_side, label in Side.choices
    )
    return StoryPage(
        id=story.pk,
        title=story.title,
        summary=story.summary,
        url=story.get_absolute_url(),
        first_published_at=story.first_published_at,
        last_published_at=story.last_published_at,
        article_count=story.article_count,
        outlet_count=story.outlet_count,
        refreshed_at=story.refreshed_at,
        confidence=story.cluster.confidence,
        reclustered_at=story.cluster.reclustered_at,
        coverage=story_coverage(story),
        outlet_coverage=_outlet_coverage(articles),
        ratings=ratings,
        viewpoints=viewpoints,
        columns=columns,
        overview=overview,
        claims=claims,
        articles=articles,
        # Wire copies count for no side, here as in the coverage bar.
        timeline=timeline_build(
            [(article.sort_time, article.side) for article in articles if not article.is_syndicated]
        ),
        faq=faq_generated(overview=overview, columns=columns, claims=claims, articles=articles) + _faq(faq, numbers),
        side_filter=side if side in (*Side.values, "unrated") else "",
    )


def story_page_get(*, story_id: int, side: str = "") -> StoryPage:
    """Everything the story page shows, in a fixed number of queries whatever the number of articles:
    the story, its viewpoints, its articles, its FAQ. Raises Http404 for an unknown story."""
    story = get_object_or_404(story_detail_queryset(), pk=story_id)
    return story_page_build(story, side=side, faq=story_faq_get(story_id=story.pk))
