"""Assigning articles to stories and refreshing a story's coverage, viewpoints and overview."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from pytest_django.fixtures import Settings

from clustering import services as clusterer
from clustering.models import Cluster, Membership
from sources.models import Article, Lean, Outlet
from sources.ratings import outlet_rating_add
from stories import services
from stories.models import Story, StoryViewpoint
from tests.conftest import STORY_TIME, analysed_article_make, outlet_make, story_build, unit_vector

Vector = np.ndarray[Any, Any]


def article_near(outlet: Outlet, title: str, vector: Vector, seed: int, *, hours: float = 0) -> Article:
    return analysed_article_make(
        outlet=outlet,
        title=title,
        vector=unit_vector(seed, near=vector),
        published_at=STORY_TIME + timedelta(hours=hours),
    )


def test_it_puts_similar_articles_in_one_story_and_a_different_one_in_a_new_story(
    left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet, story_vector: Vector
) -> None:
    fare_left = article_near(left_outlet, "Fare hike hits riders", story_vector, 2)
    fare_center = article_near(center_outlet, "Board raises fare", story_vector, 3, hours=2)
    stadium = analysed_article_make(outlet=right_outlet, title="Stadium deal signed", vector=unit_vector(50))

    first = clusterer.cluster_assign(article_id=fare_left.pk)
    second = clusterer.cluster_assign(article_id=fare_center.pk)
    third = clusterer.cluster_assign(article_id=stadium.pk)

    assert first == second != third
    fare_cluster = Cluster.objects.get(pk=first)
    assert fare_cluster.article_count == 2
    assert fare_cluster.last_published_at == STORY_TIME + timedelta(hours=2)
    # The page of a cluster is built by its refresh, which follows the assignment in the pipeline.
    assert services.story_refresh(story_id=third).title == "Stadium deal signed"
    for article in (fare_left, fare_center, stadium):
        article.refresh_from_db()
        assert article.state == Article.State.CLUSTERED


def test_it_starts_a_new_story_outside_the_clustering_window(
    settings: Settings, left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet, story_vector: Vector
) -> None:
    settings.NEWSROOM_CLUSTER_WINDOW_DAYS = 3
    original = clusterer.cluster_assign(article_id=article_near(left_outlet, "Fare hike", story_vector, 2).pk)

    follow_up = article_near(center_outlet, "Fare hike, two days on", story_vector, 3, hours=48)
    next_year = article_near(right_outlet, "Fare hike, a year on", story_vector, 4, hours=24 * 365)

    assert clusterer.cluster_assign(article_id=follow_up.pk) == original
    assert clusterer.cluster_assign(article_id=next_year.pk) != original


def test_it_assigns_an_article_once_however_often_it_is_asked(left_outlet: Outlet, story_vector: Vector) -> None:
    article = article_near(left_outlet, "Fare hike", story_vector, 2)

    story_ids = {clusterer.cluster_assign(article_id=article.pk) for _ in range(3)}

    assert len(story_ids) == 1
    assert Membership.objects.filter(article=article).count() == 1
    assert Cluster.objects.get().article_count == 1


def test_it_does_not_assign_an_article_that_was_not_analysed(left_outlet: Outlet) -> None:
    from sources.articles import article_discover

    article, _created = article_discover(outlet=left_outlet, url="https://leftledger.example/x", title="Unanalysed")

    assert clusterer.cluster_assign(article_id=article.pk) is None
    assert not Story.objects.exists()


def test_it_counts_coverage_by_side_with_lean_outlets_on_their_side_and_unrated_apart(
    left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet, unrated_outlet: Outlet, story_vector: Vector
) -> None:
    lean_left = outlet_make("Lean Left Daily", Lean.LEAN_LEFT)
    far_right = outlet_make("Far Right Wire", Lean.RIGHT)
    articles = [
        article_near(outlet, f"Fare story from {outlet.name}", story_vector, seed, hours=seed)
        for seed, outlet in enumerate(
            [left_outlet, lean_left, center_outlet, right_outlet, far_right, unrated_outlet], 2
        )
    ]

    story = story_build(articles)

    assert story.coverage_by_side() == {"left": 2, "center": 1, "right": 2}
    assert (story.unrated_count, story.article_count, story.outlet_count) == (1, 6, 6)
    assert story.coverage_shares()["center"] == pytest.approx(20.0)
    viewpoints = {viewpoint.side: viewpoint for viewpoint in story.viewpoints.all()}
    assert set(viewpoints) == {"left", "center", "right"}
    assert all(viewpoint.is_available for viewpoint in viewpoints.values())
    assert (viewpoints["left"].article_count, viewpoints["left"].outlet_count) == (2, 2)
    assert viewpoints["right"].summary, "an available side quotes its articles"


def test_it_marks_a_side_without_articles_unavailable(
    left_outlet: Outlet, center_outlet: Outlet, unrated_outlet: Outlet, story_vector: Vector
) -> None:
    story = story_build(
        [
            article_near(left_outlet, "Fare hike hits riders", story_vector, 2),
            article_near(center_outlet, "Board raises fare", story_vector, 3),
            article_near(unrated_outlet, "Fares up", story_vector, 4),
        ]
    )

    right = story.viewpoints.get(side="right")
    assert not right.is_available
    assert right.unavailable_reason == StoryViewpoint.Unavailable.NO_ARTICLES
    assert right.unavailable_explanation == "No outlet rated on this side has covered this story."
    assert (right.article_count, right.summary, right.tone) == (0, [], None)
    assert story.viewpoints.get(side="left").is_available


def test_it_says_when_a_story_was_covered_only_by_unrated_outlets(unrated_outlet: Outlet, story_vector: Vector) -> None:
    other_unrated = outlet_make("Another Unrated")
    story = story_build(
        [
            article_near(unrated_outlet, "Fares up", story_vector, 2),
            article_near(other_unrated, "Fare rise approved", story_vector, 3),
        ]
    )

    assert (story.rated_count, story.unrated_count) == (0, 2)
    assert {
        (viewpoint.side, viewpoint.is_available, viewpoint.unavailable_reason) for viewpoint in story.viewpoints.all()
    } == {
        ("left", False, "only_unrated"),
        ("center", False, "only_unrated"),
        ("right", False, "only_unrated"),
    }


def test_it_writes_an_overview_that_cites_the_story_s_own_articles(story: Story) -> None:
    member_ids = set(story.memberships.values_list("article_id", flat=True))
    member_sentences = {
        sentence for article in Article.objects.filter(pk__in=member_ids) for sentence in article.analysis.sentences
    }

    assert story.overview
    for sentence in story.overview:
        assert sentence["text"] in member_sentences
        assert sentence["article"] in member_ids
        assert sentence["citations"][0] == sentence["article"]
        assert set(sentence["citations"]) <= member_ids
    # The one line under the title is the lead of the article that gives the title (issue 17:
    # neutral headings), or the overview's first sentence when that lead is loaded.
    heading = Article.objects.get(pk__in=member_ids, title=story.title)
    assert story.summary in (heading.analysis.sentences[0], story.overview[0]["text"])


def test_it_moves_an_article_to_its_outlet_s_new_side_on_refresh(story: Story, right_outlet: Outlet) -> None:
    outlet_rating_add(outlet=right_outlet, lean=Lean.LEAN_LEFT, rated_by="Internal review")

    refreshed = services.story_refresh(story_id=story.pk)

    assert refreshed is not None
    assert refreshed.coverage_by_side() == {"left": 2, "center": 1, "right": 0}
    right = refreshed.viewpoints.get(side="right")
    assert (right.is_available, right.unavailable_reason) == (False, "no_articles")
    assert refreshed.viewpoints.get(side="left").article_count == 2
    assert StoryViewpoint.objects.filter(story=story).count() == 3


def test_it_ignores_a_refresh_of_an_unknown_story(db: None) -> None:
    assert services.story_refresh(story_id=123456) is None
