"""Wire copies do not inflate a side: they are counted apart in a story's coverage."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.test import Client

from clustering import services as clusterer
from sources.models import Article, Outlet
from stories import services
from stories.models import Story, StoryViewpoint
from tests.conftest import STORY_TIME, analysed_article_make, outlet_make, unit_vector


def copy_of(original: Article, *, outlet: Outlet, story_vector: np.ndarray, seed: int) -> Article:
    copy = analysed_article_make(
        outlet=outlet,
        title=f"{original.title} (wire)",
        vector=unit_vector(seed, near=story_vector),
        published_at=STORY_TIME + timedelta(hours=7),
    )
    Article.objects.filter(pk=copy.pk).update(syndicated_from=original, syndication_similarity=0.93)
    return copy


def test_it_counts_a_wire_copy_in_no_side(
    story: Story, right_outlet: Outlet, center_outlet: Outlet, story_vector: np.ndarray, client: Client
) -> None:
    center_original = Article.objects.get(membership__cluster_id=story.pk, outlet=center_outlet)
    # A second right-leaning outlet republishes the center outlet's wire story.
    other_right = outlet_make("Second Right Paper", "right")
    copy = copy_of(center_original, outlet=other_right, story_vector=story_vector, seed=40)
    clusterer.cluster_assign(article_id=copy.pk)
    story = services.story_refresh(story_id=story.pk)

    assert story is not None
    assert story.article_count == 4
    assert (story.left_count, story.center_count, story.right_count) == (1, 1, 1)
    assert story.syndicated_count == 1
    assert story.viewpoints.get(side="right").article_count == 1
    api = client.get(f"/api/v1/stories/{story.pk}/").json()
    assert api["coverage"]["syndicated"] == 1
    assert api["coverage"]["right"] == 1
    page = client.get(story.get_absolute_url()).content.decode()
    assert "1 wire copy counted apart" in page
    assert page.count(">wire copy</span>") == 1


def test_it_explains_a_side_that_only_republished_wire_copies(
    left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet, story_vector: np.ndarray
) -> None:
    left = analysed_article_make(
        outlet=left_outlet, title="Fare rise approved", vector=unit_vector(2, near=story_vector)
    )
    center = analysed_article_make(
        outlet=center_outlet, title="Board approves fare rise", vector=unit_vector(3, near=story_vector)
    )
    copy = copy_of(center, outlet=right_outlet, story_vector=story_vector, seed=41)
    story_ids = {clusterer.cluster_assign(article_id=article.pk) for article in (left, center, copy)}
    assert len(story_ids) == 1
    story = services.story_refresh(story_id=story_ids.pop())

    assert story is not None
    right = story.viewpoints.get(side="right")
    assert not right.is_available
    assert right.unavailable_reason == StoryViewpoint.Unavailable.ONLY_SYNDICATED
    assert story.right_count == 0
