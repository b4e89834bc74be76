"""The reads the story pages and the story API need."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Case, IntegerField, Max, Prefetch, QuerySet, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404

from sources.models import Article, Side
from stories.models import Story, StoryViewpoint

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


def story_version(*, story_id: int) -> str:
    """What a cached rendering of the story is keyed on: it changes whenever the story's page data does.

    Every write to a story's page data (refresh, re-clustering, curator actions) goes through
    story_refresh or the clusterer, which set these times. Raises Http404 for an unknown story.
    """
    return story_version_format(story_version_times(story_id=story_id))


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


def story_page_get(*, story_id: int) -> StoryPage:
    story = get_object_or_404(story_detail_queryset(), pk=story_id)
    articles = list(story_articles(story))
    viewpoints = {viewpoint.side: viewpoint for viewpoint in story.viewpoints.all()}
    # Citations are numbered by the article's position in the story's list.
    numbers = {article.pk: position for position, article in enumerate(articles, start=1)}
    columns = []
    for side, label in Side.choices:
        columns.append(
            SideColumn(
                side=side,
                label=label,
                viewpoint=viewpoints.get(side),
                articles=[article for article in articles if article.outlet.side == side],
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
    return StoryPage(
        story=story,
        columns=columns,
        articles=articles,
        unrated_articles=[article for article in articles if article.outlet.side is None],
        citation_numbers=numbers,
        overview=overview,
    )
