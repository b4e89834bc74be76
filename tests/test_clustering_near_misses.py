"""The safety net of issue 16: stories that nearly merged point at each other before a page says a side
stayed silent; curators merge them or mark them as not the same story."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from clustering import scoring
from clustering import services as clusterer
from clustering.models import Cluster, ClusteringEvent, StoryPairCandidate
from newsroom import pipeline
from sources.models import Article, Outlet
from stories import browse, digest
from stories import services as story_services
from stories.models import Story
from tests.conftest import STORY_TIME, analysed_article_make, unit_vector

Vector = np.ndarray[Any, Any]
VECTORS_MODEL = Path(__file__).with_name("fixtures") / "clustering_model_vectors.json"
# The right-leaning report: alike with the others' story, not enough for its pair model to join it.
RIGHT_NOISE = 2.0


@pytest.fixture
def curator(db: None, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_superuser("curator", "curator@newsroom.example", "correct horse")


def model_write(tmp_path: Path, settings: Any, **changes: Any) -> None:
    data = json.loads(VECTORS_MODEL.read_text(encoding="utf-8"))
    data.update(changes)
    path = tmp_path / f"model-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    settings.NEWSROOM_CLUSTER_MODEL_PATH = str(path)
    scoring.model_load.cache_clear()


@pytest.fixture
def forget_models() -> Iterator[None]:
    yield
    scoring.model_load.cache_clear()


def articles_make(left: Outlet, center: Outlet, right: Outlet, story_vector: Vector) -> list[Article]:
    return [
        analysed_article_make(outlet=left, title="Fare hike", vector=unit_vector(2, near=story_vector)),
        analysed_article_make(outlet=center, title="Board raises fares", vector=unit_vector(3, near=story_vector)),
        analysed_article_make(
            outlet=right, title="Commuters pay more", vector=unit_vector(4, near=story_vector, noise=RIGHT_NOISE)
        ),
    ]


@pytest.fixture
def near_miss(
    left_outlet: Outlet,
    center_outlet: Outlet,
    right_outlet: Outlet,
    story_vector: Vector,
    tmp_path: Path,
    settings: Any,
    forget_models: None,
) -> tuple[int, int, float]:
    """A left and a center report in one story; the right's report of the same event in a story of its
    own, whose members are alike with the first's: the merge threshold just above, the floor below.
    Returns the two stories and their average-linkage probability."""
    articles = articles_make(left_outlet, center_outlet, right_outlet, story_vector)
    story_ids = [clusterer.cluster_assign(article_id=article.pk) for article in articles]
    assert story_ids[0] == story_ids[1] != story_ids[2]
    first, second = story_ids[0], story_ids[2]
    assert first is not None
    assert second is not None
    model = clusterer.pair_model()
    probability = scoring.linkage_probability(
        clusterer._member_signals(first), clusterer._member_signals(second), model
    )
    model_write(tmp_path, settings, merge_probability=probability + 0.05, near_miss_probability=probability / 2)
    return first, second, probability


def pages_build(*story_ids: int) -> list[Story]:
    stories = [story_services.story_refresh(story_id=story_id) for story_id in story_ids]
    assert all(story is not None for story in stories)
    return [story for story in stories if story is not None]


# --- The merge pass keeps its near misses ----------------------------------------------------------------


def test_it_keeps_a_pair_the_merge_pass_scored_just_below_its_threshold(near_miss: tuple[int, int, float]) -> None:
    first, second, probability = near_miss

    changed = clusterer.clusters_recluster(story_ids=[second])

    assert Cluster.objects.count() == 2
    pair = StoryPairCandidate.objects.get()
    assert (pair.story_id, pair.other_id) == (min(first, second), max(first, second))
    assert pair.probability == pytest.approx(probability)
    assert pair.status == StoryPairCandidate.Status.OPEN
    assert "below the automatic merge" in pair.detail
    # Both pages are refreshed next: each points at the other.
    assert set(changed) == {first, second}


def test_it_keeps_no_pair_below_the_floor(near_miss: tuple[int, int, float], tmp_path: Path, settings: Any) -> None:
    _first, second, probability = near_miss
    clusterer.clusters_recluster(story_ids=[second])
    model_write(tmp_path, settings, merge_probability=0.9, near_miss_probability=probability + 0.01)

    clusterer.clusters_recluster(story_ids=[second])

    assert not StoryPairCandidate.objects.exists()


def test_a_pair_above_the_threshold_merges_and_leaves_no_candidate(
    near_miss: tuple[int, int, float], tmp_path: Path, settings: Any
) -> None:
    _first, second, probability = near_miss
    clusterer.clusters_recluster(story_ids=[second])
    model_write(tmp_path, settings, merge_probability=probability - 0.01, near_miss_probability=0.001)

    clusterer.clusters_recluster(story_ids=[second])

    assert Cluster.objects.count() == 1
    assert not StoryPairCandidate.objects.exists()


# --- The page's safety net --------------------------------------------------------------------------------


def test_the_page_points_a_silent_side_at_the_story_that_nearly_joined_instead_of_claiming_silence(
    near_miss: tuple[int, int, float], client: Client
) -> None:
    first, second, _probability = near_miss
    clusterer.clusters_recluster(story_ids=[second])
    pages_build(first, second)

    html = client.get(reverse("stories:detail", kwargs={"pk": first})).content.decode()

    right_column = html.split('class="side side-right"', 1)[1]
    assert "Coverage from the right may be in a related story" in html
    assert f'href="{reverse("stories:detail", kwargs={"pk": second})}"' in right_column
    assert "Commuters pay more" in right_column
    assert "No outlet rated on this side has covered this story." not in html
    detail = client.get(f"/api/v1/stories/{first}/").json()
    right = next(viewpoint for viewpoint in detail["viewpoints"] if viewpoint["side"] == "right")
    assert right["related_story"]["id"] == second
    assert "nearly joined" in right["related_story"]["reason"]


def test_the_blindspot_feed_does_not_list_a_story_for_a_side_that_may_be_in_a_related_story(
    near_miss: tuple[int, int, float], settings: Any, curator: User
) -> None:
    first, second, _probability = near_miss
    settings.NEWSROOM_BLINDSPOT_MIN_RATED = 2
    pages_build(first, second)
    assert first in set(browse.blindspot_feed(side="right").values_list("pk", flat=True))

    clusterer.clusters_recluster(story_ids=[second])
    pages_build(first, second)

    assert first not in set(browse.blindspot_feed(side="right").values_list("pk", flat=True))

    # Once a curator says they are two stories, the page says the right stayed silent again.
    clusterer.story_pair_dismiss(candidate_id=StoryPairCandidate.objects.get().pk, actor=curator)
    pages_build(first, second)
    assert first in set(browse.blindspot_feed(side="right").values_list("pk", flat=True))


def test_home_and_digest_flag_no_blindspot_for_a_side_that_may_be_in_a_related_story(
    near_miss: tuple[int, int, float], settings: Any
) -> None:
    """The cards on the home page and the digest read the same rule as the feed: no "Blindspot for the
    right" on a story whose page points the right at the story that nearly joined it."""
    first, second, _probability = near_miss
    settings.NEWSROOM_BLINDSPOT_MIN_RATED = 2
    pages_build(first, second)

    def flagged() -> tuple[list[str], list[str]]:
        home = browse.stories_with_blindspots(list(browse.top_stories(newest=STORY_TIME)))
        on_home = next(story.blindspot_reason for story in home if story.pk == first)
        mailed = digest.digest_build(now=STORY_TIME + timedelta(hours=1))
        in_digest = next(item.blindspot for item in [*mailed.stories, *mailed.blindspots] if item.story.pk == first)
        return (on_home.sides if on_home else []), (in_digest.sides if in_digest else [])

    assert flagged() == (["right"], ["right"])

    clusterer.clusters_recluster(story_ids=[second])
    pages_build(first, second)

    assert flagged() == ([], [])


# --- The curators' review list ----------------------------------------------------------------------------


def test_curators_see_both_titles_and_the_probability_and_merge_a_pair_through_the_curator_merge(
    near_miss: tuple[int, int, float], client: Client, curator: User
) -> None:
    first, second, probability = near_miss
    clusterer.clusters_recluster(story_ids=[second])
    pages_build(first, second)
    client.force_login(curator)
    changelist = reverse("admin:clustering_storypaircandidate_changelist")

    listing = client.get(changelist).content.decode()

    assert "Fare hike" in listing or "Board raises fares" in listing
    assert "Commuters pay more" in listing
    assert f"{probability:.2f}"[:3] in listing
    pair = StoryPairCandidate.objects.get()
    response = client.post(changelist, {"action": "merge_selected", "_selected_action": [pair.pk]})

    assert response.status_code == 302
    assert Cluster.objects.count() == 1
    merged = Cluster.objects.get()
    assert merged.is_curated
    event = ClusteringEvent.objects.get(kind=ClusteringEvent.Kind.MERGE)
    assert event.actor == curator
    assert Story.objects.get(pk=merged.pk).right_count == 1


def test_a_pair_marked_not_the_same_story_is_never_proposed_again(
    near_miss: tuple[int, int, float], client: Client, curator: User
) -> None:
    first, second, _probability = near_miss
    clusterer.clusters_recluster(story_ids=[second])
    pages_build(first, second)
    client.force_login(curator)
    pair = StoryPairCandidate.objects.get()

    client.post(
        reverse("admin:clustering_storypaircandidate_changelist"),
        {"action": "dismiss_selected", "_selected_action": [pair.pk]},
    )
    clusterer.clusters_recluster(story_ids=[first, second])

    pair.refresh_from_db()
    assert pair.status == StoryPairCandidate.Status.DISMISSED
    assert pair.decided_by == curator
    assert StoryPairCandidate.objects.count() == 1
    right = Story.objects.get(pk=first).viewpoints.get(side="right")
    assert right.related_story is None


# --- Every entry goes through the pipeline's chains --------------------------------------------------------


def test_articles_handed_to_the_pipeline_get_the_safety_net_whatever_brought_them(
    left_outlet: Outlet,
    center_outlet: Outlet,
    right_outlet: Outlet,
    story_vector: Vector,
    tmp_path: Path,
    settings: Any,
    forget_models: None,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    """Feeds, imports and pushes all hand their articles to ``pipeline.articles_process``: its chains
    assign, run the merge pass (which keeps the near misses) and refresh both pages."""
    articles = articles_make(left_outlet, center_outlet, right_outlet, story_vector)
    model_write(tmp_path, settings, merge_probability=0.95, near_miss_probability=0.0001)

    with django_capture_on_commit_callbacks(execute=True):
        pipeline.articles_process([article.pk for article in articles])

    assert Cluster.objects.count() == 2
    pair = StoryPairCandidate.objects.get()
    mixed = Article.objects.get(pk=articles[0].pk).membership.cluster_id
    right = Story.objects.get(pk=mixed).viewpoints.get(side="right")
    assert right.related_story_id == (pair.other_id if pair.story_id == mixed else pair.story_id)


# --- The merge pass reconsiders stories whose sides complement each other ------------------------------


def signal_of_side(side: str | None, seed: int) -> scoring.ArticleSignal:
    return scoring.ArticleSignal(
        lead=unit_vector(seed),
        body=unit_vector(seed),
        entities=frozenset(),
        outlet_id=seed,
        moment=STORY_TIME,
        side=side,
    )


def test_stories_complement_each_other_when_each_has_a_side_and_none_is_in_both() -> None:
    left, center, right, unrated = (
        signal_of_side(side, seed) for seed, side in enumerate(("left", "center", "right", None))
    )

    assert scoring.complementary([left, center], [right])
    assert not scoring.complementary([left, center], [center, right])
    assert not scoring.complementary([left], [unrated])


def test_the_merge_threshold_is_the_lower_one_only_for_complementary_stories() -> None:
    model = scoring.model_load(str(VECTORS_MODEL))
    lenient = replace(model, merge_probability=0.5, merge_probability_complementary=0.1)
    left, right, other_left = signal_of_side("left", 1), signal_of_side("right", 2), signal_of_side("left", 3)

    assert lenient.merge_threshold([left], [right]) == 0.1
    assert lenient.merge_threshold([left], [other_left]) == 0.5
    assert model.merge_threshold([left], [right]) == model.merge_probability


def test_the_merge_pass_joins_the_missing_side_below_the_threshold_for_alike_stories(
    near_miss: tuple[int, int, float], tmp_path: Path, settings: Any
) -> None:
    first, second, probability = near_miss
    model_write(
        tmp_path,
        settings,
        merge_probability=probability + 0.05,
        merge_probability_complementary=probability - 0.005,
        near_miss_probability=probability / 2,
    )

    clusterer.clusters_recluster(story_ids=[second])

    assert Cluster.objects.count() == 1
    event = ClusteringEvent.objects.get(kind=ClusteringEvent.Kind.MERGE)
    assert {event.story_id_value, event.other_story_id_value} == {first, second}
    assert not StoryPairCandidate.objects.exists()


def test_the_dated_merge_threshold_applies_only_when_every_member_is_dated() -> None:
    model = replace(scoring.model_load(str(VECTORS_MODEL)), merge_probability=0.05, merge_probability_dated=0.2)
    dated, other = signal_of_side(None, 1), signal_of_side(None, 2)
    undated = replace(other, dated=False)

    assert model.merge_threshold([dated], [other]) == 0.2
    assert model.merge_threshold([dated], [undated]) == 0.05


def test_a_pair_that_would_merge_but_for_a_curated_story_is_left_to_the_curators(
    near_miss: tuple[int, int, float], tmp_path: Path, settings: Any
) -> None:
    first, second, probability = near_miss
    Cluster.objects.filter(pk=first).update(is_curated=True)
    model_write(tmp_path, settings, merge_probability=probability - 0.01, near_miss_probability=0.001)

    clusterer.clusters_recluster(story_ids=[second])

    assert Cluster.objects.count() == 2
    assert "a curator decided" in StoryPairCandidate.objects.get().detail
