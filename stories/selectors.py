"""The reads the story pages and the story API need."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case, FilteredRelation, IntegerField, Max, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404

from sources.models import Article, Side
from stories.models import Story, StoryQuestion, StoryViewpoint
from stories.timeline import Timeline, timeline_build

FAQ_SIZE = 8
# What only the clusterer reads: no page or endpoint loads it.
CLUSTERING_COLUMNS = ("centroid", "body_centroid", "entity_counts", "outlet_ids")


def story_version_times(*, story_id: int) -> tuple[datetime | None, datetime | None]:
    """When the story was last refreshed and last re-clustered. Raises Http404 for an unknown story."""
    times = Story.objects.listed().filter(pk=story_id).values_list("refreshed_at", "reclustered_at").first()
    if times is None:
        raise Http404("No such story.")
    return times


def story_version_format(times: tuple[datetime | None, datetime | None]) -> str:
    return "-".join(str(moment.timestamp()) if moment else "0" for moment in times)


# No row has this id: it marks where the story's id goes in the compiled SQL below.
_ANY_STORY_ID = -(2**62)


def _story_page_version_rows(story_id: int, min_asks: int) -> QuerySet[Story]:
    return (
        Story.objects.listed()
        .filter(pk=story_id)
        .alias(
            faq=FilteredRelation("questions", condition=Q(questions__is_supported=True, questions__count__gte=min_asks))
        )
        .order_by("-faq__count", "-faq__last_asked_at", "faq__pk")
        .values_list("refreshed_at", "reclustered_at", "faq__pk")[:FAQ_SIZE]
    )


@functools.lru_cache(maxsize=8)
def _story_page_version_sql(vendor: str, min_asks: int) -> tuple[str, tuple[Any, ...], int]:
    """The query's SQL, compiled once: on a cached page, compiling it cost more than running it."""
    sql, params = _story_page_version_rows(_ANY_STORY_ID, min_asks).query.sql_with_params()
    return sql, tuple(params), list(params).index(_ANY_STORY_ID)


def story_page_version(*, story_id: int) -> str:
    """What the cached story page is keyed on, in one query: the story's version and its FAQ's questions.

    The FAQ changes between refreshes (readers ask), so the ids of the questions it shows are part
    of the key. The story's row is joined to its FAQ questions (a LEFT JOIN: a story without any
    still gives one row), in FAQ order. The times are as the database gives them (a key, not a
    value to compute with). Raises Http404 for an unknown story.
    """
    if not 0 < story_id < 2**63:  # no row (the ORM says so itself; raw SQL would fail on overflow)
        raise Http404("No such story.")
    sql, params, position = _story_page_version_sql(connection.vendor, settings.NEWSROOM_FAQ_MIN_ASKS)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params[:position], story_id, *params[position + 1 :]])
        rows = cursor.fetchall()
    if not rows:
        raise Http404("No such story.")
    faq_ids = ",".join(str(row[2]) for row in rows if row[2] is not None)
    return f"{rows[0][0]}-{rows[0][1]}:{faq_ids}"


def stories_version() -> str:
    """Changes whenever any story's page data does: what the cached home page is keyed on."""
    latest = Story.objects.aggregate(latest=Max("refreshed_at"), reclustered=Max("reclustered_at"))
    return "-".join(str(moment.timestamp()) if moment else "0" for moment in latest.values())


def story_list() -> QuerySet[Story]:
    return Story.objects.listed().defer(*CLUSTERING_COLUMNS).order_by("-last_published_at", "-id")


def story_articles(story: Story) -> QuerySet[Article]:
    """The story's articles in time order, without the bulky columns no page shows."""
    return (
        Article.objects.filter(membership__story=story)
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
        .defer(*CLUSTERING_COLUMNS)
        .prefetch_related(Prefetch("viewpoints", queryset=StoryViewpoint.objects.order_by(SIDE_ORDER)))
    )


@dataclass
class SideColumn:
    side: str
    label: str
    viewpoint: StoryViewpoint | None
    articles: list[Article] = field(default_factory=list)


@dataclass
class StoryPage:
    story: Story
    columns: list[SideColumn]
    articles: list[Article]
    unrated_articles: list[Article]
    citation_numbers: dict[int, int]
    overview: list[dict[str, Any]]
    claims: list[dict[str, Any]] = field(default_factory=list)
    timeline: Timeline | None = None
    side_filter: str = ""
    listed_articles: list[tuple[int, Article]] = field(default_factory=list)
    faq: list[StoryQuestion] = field(default_factory=list)


def story_faq_get(*, story_id: int) -> list[StoryQuestion]:
    """The story's FAQ: questions asked at least NEWSROOM_FAQ_MIN_ASKS times whose answers were supported."""
    return list(
        StoryQuestion.objects.filter(
            story_id=story_id, is_supported=True, count__gte=settings.NEWSROOM_FAQ_MIN_ASKS
        ).order_by("-count", "-last_asked_at", "pk")[:FAQ_SIZE]
    )


def _faq_numbered(faq: list[StoryQuestion], numbers: dict[int, int]) -> list[StoryQuestion]:
    """The FAQ's stored quotes numbered as the articles are now: an article may have joined since,
    or left the story (its quote is then dropped)."""
    for entry in faq:
        quotes = entry.answer.get("quotes", []) if isinstance(entry.answer, dict) else []
        entry.quotes_numbered = [  # type: ignore[attr-defined]
            {**quote, "number": numbers[quote["article_id"]]} for quote in quotes if quote.get("article_id") in numbers
        ]
    return [entry for entry in faq if entry.quotes_numbered]  # type: ignore[attr-defined]


def _claims_numbered(claims: list[dict[str, Any]], numbers: dict[int, int]) -> list[dict[str, Any]]:
    """Each claim with, per side, the (number, id, wording) of the articles that stated it; its sides; its kind."""
    numbered = []
    for claim in claims:
        quotes = claim.get("quotes", {})
        cells = {
            side: sorted(
                (numbers[pk], pk, quotes.get(str(pk), ""))
                for pk in claim.get("sides", {}).get(side, [])
                if pk in numbers
            )
            for side in Side.values
        }
        covering = [side for side in Side.values if cells[side]]
        if not covering:
            continue
        kind = "all" if len(covering) == len(Side.values) else ("some" if len(covering) > 1 else "one")
        numbered.append(
            {
                "text": claim["text"],
                "cells": [(side, cells[side]) for side in Side.values],
                "covering": covering,
                "kind": kind,
            }
        )
    return numbered


def story_page_get(*, story_id: int, side: str = "", faq: list[StoryQuestion] | None = None) -> StoryPage:
    """Everything the story page shows, in a fixed number of queries whatever the number of articles.

    ``side`` narrows the article list to one side (or "unrated"); the citation numbers stay those
    of the full list so [n] means the same article everywhere on the page.
    """
    story = get_object_or_404(story_detail_queryset(), pk=story_id)
    articles = list(story_articles(story))
    viewpoints = {viewpoint.side: viewpoint for viewpoint in story.viewpoints.all()}
    # Citations are numbered by the article's position in the story's list.
    numbers = {article.pk: position for position, article in enumerate(articles, start=1)}
    columns = []
    for column_side, label in Side.choices:
        columns.append(
            SideColumn(
                side=column_side,
                label=label,
                viewpoint=viewpoints.get(column_side),
                articles=[article for article in articles if article.outlet.side == column_side],
            )
        )
    overview = [
        {**sentence, "numbers": sorted((numbers[pk], pk) for pk in sentence.get("citations", []) if pk in numbers)}
        for sentence in story.overview
    ]
    for column in columns:
        if column.viewpoint:
            column.viewpoint.summary_numbered = [  # type: ignore[attr-defined]
                {**sentence, "number": numbers.get(sentence["article"])} for sentence in column.viewpoint.summary
            ]
    numbered_articles = list(enumerate(articles, start=1))
    if side == "unrated":
        listed = [(number, article) for number, article in numbered_articles if article.outlet.side is None]
    elif side in Side.values:
        listed = [(number, article) for number, article in numbered_articles if article.outlet.side == side]
    else:
        side, listed = "", numbered_articles
    return StoryPage(
        story=story,
        columns=columns,
        articles=articles,
        unrated_articles=[article for article in articles if article.outlet.side is None],
        citation_numbers=numbers,
        overview=overview,
        claims=_claims_numbered(story.claims, numbers),
        # Wire copies count for no side, here as in the coverage bar.
        timeline=timeline_build(
            [(article.sort_time, article.outlet.side) for article in articles if not article.is_syndicated]
        ),
        side_filter=side,
        listed_articles=listed,
        faq=_faq_numbered(story_faq_get(story_id=story.pk) if faq is None else faq, numbers),
    )
