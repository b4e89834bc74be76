"""Clustering you can trust: scores, the pair model's rules, the merge and split pass, the
curator's decisions and their log, what the page and the API show, and the locking."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from analysis.models import ArticleAnalysis
from clustering import evaluation, scoring
from clustering import services as clusterer
from clustering.models import Cluster, ClusteringEvent, Membership
from sources.models import Article, Lean, Outlet
from stories import services
from stories.models import Story
from tests.conftest import STORY_TIME, analysed_article_make, outlet_make, unit_vector

Vector = np.ndarray[Any, Any]


def article_near(outlet: Outlet, title: str, vector: Vector, seed: int, *, hours: float = 0) -> Article:
    return analysed_article_make(
        outlet=outlet,
        title=title,
        vector=unit_vector(seed, near=vector),
        published_at=STORY_TIME + timedelta(hours=hours),
    )


def analysis_set(article: Article, vector: Vector) -> None:
    """The article's analysis now says something else (as after a re-analysis)."""
    ArticleAnalysis.objects.filter(article=article).update(
        embedding=vector.astype(np.float32).tobytes(), sentence_embeddings=vector.astype(np.float16).tobytes()
    )


# The pair model conftest sets for every test: vectors only (see ``clustering_model_of_vectors``).
VECTORS_MODEL = Path(__file__).with_name("fixtures") / "clustering_model_vectors.json"


@pytest.fixture
def curator(db: None, django_user_model: type[User]) -> User:
    return django_user_model.objects.create_superuser("curator", "curator@newsroom.example", "correct horse")


@pytest.fixture
def curator_client(client: Client, curator: User) -> Client:
    client.force_login(curator)
    return client


@pytest.fixture
def fourth_outlet(db: None) -> Outlet:
    return outlet_make("Fourth Estate", Lean.CENTER)


# --- Scores ------------------------------------------------------------------------


def test_it_scores_a_perfect_clustering_as_one() -> None:
    gold = {"a": 1, "b": 1, "c": 2}

    assert evaluation.bcubed({"a": "x", "b": "x", "c": "y"}, gold).f1 == 1.0
    assert evaluation.pairwise({"a": "x", "b": "x", "c": "y"}, gold).f1 == 1.0


def test_it_scores_a_false_merge_as_lost_precision_and_a_split_as_lost_recall() -> None:
    gold = {"a": 1, "b": 1, "c": 2, "d": 2}

    merged = evaluation.bcubed({"a": 0, "b": 0, "c": 0, "d": 0}, gold)
    split = evaluation.bcubed({"a": 0, "b": 1, "c": 2, "d": 3}, gold)

    assert (merged.precision, merged.recall) == (0.5, 1.0)
    assert (split.precision, split.recall) == (1.0, 0.5)
    assert evaluation.pairwise({"a": 0, "b": 0, "c": 0, "d": 0}, gold).precision == pytest.approx(2 / 6)


def test_it_counts_an_article_missing_from_the_stories_as_a_story_of_its_own() -> None:
    scores = evaluation.bcubed({"a": 0}, {"a": 1, "b": 1})

    assert (scores.precision, scores.recall) == (1.0, 0.5)


# --- The pair model's rules (pure) -----------------------------------------------


def signal(vector: Vector, *, outlet_id: int = 1, hours: float = 0, entities: frozenset[str] = frozenset()) -> Any:
    return scoring.ArticleSignal(
        lead=vector, body=vector, entities=entities, outlet_id=outlet_id, moment=STORY_TIME + timedelta(hours=hours)
    )


def test_it_never_puts_two_reports_of_one_outlet_in_a_story_unless_one_updates_the_other() -> None:
    model = scoring.model_load(str(VECTORS_MODEL))
    event = unit_vector(1)
    story = scoring.StorySignal.of_article(signal(unit_vector(2, near=event), outlet_id=1))

    second_report = scoring.decide(signal(unit_vector(3, near=event, noise=0.8), outlet_id=1), [story], model)
    update = scoring.decide(signal(unit_vector(4, near=story.lead, noise=0.05), outlet_id=1), [story], model)
    other_outlet = scoring.decide(signal(unit_vector(3, near=event, noise=0.8), outlet_id=2), [story], model)

    assert second_report.index is None
    assert (update.index, update.reason) == (0, scoring.Reason.UPDATE)
    assert (other_outlet.index, other_outlet.reason) == (0, scoring.Reason.JOINED)


def test_it_lowers_the_probability_as_time_passes_between_an_article_and_a_story() -> None:
    model = scoring.model_load(str(VECTORS_MODEL))
    features = np.array([0.7, 0.7, 0.5])

    assert model.probability(features, 0.0) > model.probability(features, 1.0) > model.probability(features, 2.5)


def test_it_counts_shared_entities_for_joining() -> None:
    model = scoring.model_load(str(VECTORS_MODEL))
    event = unit_vector(1)
    story = scoring.StorySignal.of_article(
        signal(event, outlet_id=1, entities=frozenset({"riverton", "transit board"}))
    )
    article_vector = unit_vector(5, near=event, noise=1.1)

    shared = scoring.pair_features(signal(article_vector, entities=frozenset({"riverton", "transit board"})), story)
    unrelated = scoring.pair_features(signal(article_vector, entities=frozenset({"harwick"})), story)

    assert model.probability(shared) > model.probability(unrelated)


def test_it_rates_a_story_of_one_article_fully_confident_and_a_mixed_one_less() -> None:
    model = scoring.model_load(str(VECTORS_MODEL))
    event = unit_vector(1)
    coherent = [signal(unit_vector(seed, near=event), outlet_id=seed) for seed in (2, 3, 4)]
    mixed = [*coherent[:2], signal(unit_vector(99), outlet_id=9)]

    assert scoring.story_confidence(coherent[:1], model) == 1.0
    assert scoring.story_confidence(coherent, model) > 0.5
    assert scoring.story_confidence(mixed, model) < 0.1


# --- Assignment records why ----------------------------------------------------------


def test_it_records_the_similarity_probability_and_reason_of_each_membership(
    left_outlet: Outlet, center_outlet: Outlet, story_vector: Vector
) -> None:
    first = article_near(left_outlet, "Fare hike hits riders", story_vector, 2)
    second = article_near(center_outlet, "Board raises fare", story_vector, 3, hours=2)

    story_id = clusterer.cluster_assign(article_id=first.pk)
    assert clusterer.cluster_assign(article_id=second.pk) == story_id

    started = Membership.objects.get(article=first)
    joined = Membership.objects.get(article=second)
    assert (started.reason, started.similarity) == (Membership.Reason.STARTED, 1.0)
    assert joined.reason == Membership.Reason.JOINED
    assert 0.9 < joined.similarity <= 1.0
    assert joined.probability >= scoring.model_load(str(VECTORS_MODEL)).join_probability
    assert "pair model" in joined.detail
    story = Cluster.objects.get(pk=story_id)
    assert story.reclustered_at is not None
    assert sorted(story.outlet_ids) == sorted([left_outlet.pk, center_outlet.pk])


def test_it_opens_a_second_story_for_a_second_report_of_the_same_outlet(
    left_outlet: Outlet, story_vector: Vector
) -> None:
    first = article_near(left_outlet, "Fare hike hits riders", story_vector, 2)
    # Same event, different words: not an update of the first report.
    second = analysed_article_make(
        outlet=left_outlet, title="Riders react", vector=unit_vector(3, near=story_vector, noise=0.8)
    )

    assert clusterer.cluster_assign(article_id=first.pk) != clusterer.cluster_assign(article_id=second.pk)


# --- The second pass ---------------------------------------------------------------


def test_it_splits_off_an_article_that_drifted_from_its_story_and_logs_it(
    left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet, story_vector: Vector
) -> None:
    articles = [
        article_near(outlet, title, story_vector, seed)
        for outlet, title, seed in [
            (left_outlet, "Fare a", 2),
            (center_outlet, "Fare b", 3),
            (right_outlet, "Fare c", 4),
        ]
    ]
    story_id = {clusterer.cluster_assign(article_id=article.pk) for article in articles}.pop()
    analysis_set(articles[2], unit_vector(77))

    changed = clusterer.clusters_recluster(story_ids=[story_id])

    drifted = Membership.objects.get(article=articles[2])
    assert drifted.story_id != story_id
    assert drifted.reason == Membership.Reason.SPLIT
    assert set(changed) == {story_id, drifted.story_id}
    assert Cluster.objects.get(pk=story_id).article_count == 2
    event = ClusteringEvent.objects.get(kind=ClusteringEvent.Kind.SPLIT)
    assert (event.is_automatic, event.other_story_id_value, event.article_ids) == (True, story_id, [articles[2].pk])


def test_it_keeps_a_pinned_article_in_its_story_however_it_drifts(
    left_outlet: Outlet, center_outlet: Outlet, right_outlet: Outlet, story_vector: Vector, curator: User
) -> None:
    articles = [
        article_near(outlet, title, story_vector, seed)
        for outlet, title, seed in [
            (left_outlet, "Fare a", 2),
            (center_outlet, "Fare b", 3),
            (right_outlet, "Fare c", 4),
        ]
    ]
    story_id = {clusterer.cluster_assign(article_id=article.pk) for article in articles}.pop()
    clusterer.membership_pin(article_id=articles[2].pk, pinned=True, actor=curator)
    analysis_set(articles[2], unit_vector(77))

    clusterer.clusters_recluster(story_ids=[story_id])

    assert Membership.objects.get(article=articles[2]).story_id == story_id
    assert Cluster.objects.get(pk=story_id).confidence < 0.1
    assert not ClusteringEvent.objects.filter(kind=ClusteringEvent.Kind.SPLIT).exists()


def two_stories_that_converge(left_outlet: Outlet, center_outlet: Outlet, story_vector: Vector) -> tuple[int, int]:
    """Two stories that differed when their articles arrived; one article's analysis then changed."""
    fare = article_near(left_outlet, "Fare hike", story_vector, 2)
    other = analysed_article_make(outlet=center_outlet, title="Board raises fare", vector=unit_vector(50))
    first, second = clusterer.cluster_assign(article_id=fare.pk), clusterer.cluster_assign(article_id=other.pk)
    assert first is not None
    assert second is not None
    assert first != second
    analysis_set(other, unit_vector(3, near=story_vector))
    return first, second


def test_it_merges_stories_whose_centroids_converged_and_logs_it(
    left_outlet: Outlet, center_outlet: Outlet, story_vector: Vector
) -> None:
    first, second = two_stories_that_converge(left_outlet, center_outlet, story_vector)

    changed = clusterer.clusters_recluster(story_ids=[second])

    assert len(changed) == 1
    assert Cluster.objects.count() == 1
    assert Cluster.objects.get().article_count == 2
    event = ClusteringEvent.objects.get(kind=ClusteringEvent.Kind.MERGE)
    assert event.is_automatic
    assert {event.story_id_value, event.other_story_id_value} == {first, second}
    assert event.probability is not None
    assert event.probability >= scoring.model_load().merge_probability


def test_it_merges_by_average_linkage_into_the_most_probable_story(
    left_outlet: Outlet,
    center_outlet: Outlet,
    story_vector: Vector,
    fourth_outlet: Outlet,
    tmp_path: Path,
    settings: Any,
) -> None:
    """With ``merge_linkage: average`` the pass weighs the members of two stories, pair by pair, and
    takes the most probable story among those that clear the threshold, not the first one found.
    (One outlet's two reports stay two stories: either may take the late one.)"""
    data = json.loads(VECTORS_MODEL.read_text(encoding="utf-8"))
    data.update(merge_linkage="average", merge_probability=0.2)
    model_path = tmp_path / "average.json"
    model_path.write_text(json.dumps(data), encoding="utf-8")
    settings.NEWSROOM_CLUSTER_MODEL_PATH = str(model_path)
    scoring.model_load.cache_clear()
    try:
        near = article_near(left_outlet, "Fare hike", story_vector, 2)
        far = analysed_article_make(
            outlet=left_outlet, title="Fares", vector=unit_vector(5, near=story_vector, noise=0.9)
        )
        stories = [clusterer.cluster_assign(article_id=article.pk) for article in (near, far)]
        late = analysed_article_make(outlet=fourth_outlet, title="Board raises fare", vector=unit_vector(50))
        late_story = clusterer.cluster_assign(article_id=late.pk)
        assert len({*stories, late_story}) == 3
        analysis_set(late, unit_vector(3, near=story_vector))
        model = clusterer.pair_model()
        probabilities = {
            story_id: scoring.linkage_probability(
                clusterer._member_signals(late_story), clusterer._member_signals(story_id), model
            )
            for story_id in stories
        }

        clusterer.clusters_recluster(story_ids=[late_story])

        best = max(probabilities, key=probabilities.__getitem__)
        assert probabilities[best] >= 0.2
        event = ClusteringEvent.objects.get(kind=ClusteringEvent.Kind.MERGE)
        assert {event.story_id_value, event.other_story_id_value} == {best, late_story}
        assert event.probability == pytest.approx(probabilities[best])
        assert "average linkage" in event.detail
    finally:
        scoring.model_load.cache_clear()


def test_it_never_merges_a_story_a_curator_has_curated(
    left_outlet: Outlet, center_outlet: Outlet, story_vector: Vector, curator: User
) -> None:
    first, second = two_stories_that_converge(left_outlet, center_outlet, story_vector)
    Cluster.objects.filter(pk=first).update(is_curated=True)

    clusterer.clusters_recluster(story_ids=[second])

    assert Cluster.objects.count() == 2


def test_it_never_merges_away_a_story_with_a_pinned_article(
    left_outlet: Outlet, center_outlet: Outlet, story_vector: Vector, curator: User
) -> None:
    _first, second = two_stories_that_converge(left_outlet, center_outlet, story_vector)
    clusterer.membership_pin(article_id=Article.objects.get(outlet=center_outlet).pk, pinned=True, actor=curator)

    clusterer.clusters_recluster(story_ids=[second])

    assert Cluster.objects.count() == 2
    assert not ClusteringEvent.objects.filter(kind=ClusteringEvent.Kind.MERGE).exists()


# --- The curator's decisions -------------------------------------------------------


def test_it_lets_a_curator_split_a_story_and_keeps_the_split_afterwards(
    story: Story, curator: User, left_outlet: Outlet
) -> None:
    left_article = Article.objects.get(outlet=left_outlet)

    new = clusterer.cluster_split(article_ids=[left_article.pk], actor=curator)
    clusterer.clusters_recluster(story_ids=[story.pk, new.pk])

    assert Membership.objects.get(article=left_article).story_id == new.pk
    assert Membership.objects.get(article=left_article).is_pinned
    assert Cluster.objects.get(pk=story.pk).article_count == 2
    event = ClusteringEvent.objects.get(kind=ClusteringEvent.Kind.SPLIT)
    assert (event.is_automatic, event.actor, event.other_story_id_value) == (False, curator, story.pk)
    assert not ClusteringEvent.objects.filter(kind=ClusteringEvent.Kind.MERGE).exists()


def test_it_lets_a_curator_move_an_article_and_the_clusterer_leaves_it_there(
    story: Story, curator: User, fourth_outlet: Outlet
) -> None:
    elsewhere = analysed_article_make(outlet=fourth_outlet, title="Stadium deal signed", vector=unit_vector(50))
    other_story_id = clusterer.cluster_assign(article_id=elsewhere.pk)
    assert other_story_id is not None
    moved = story.memberships.first()
    assert moved is not None

    clusterer.membership_move(article_id=moved.article_id, story_id=other_story_id, actor=curator)
    clusterer.clusters_recluster(story_ids=[story.pk, other_story_id])

    membership = Membership.objects.get(article_id=moved.article_id)
    assert (membership.story_id, membership.reason, membership.is_pinned) == (
        other_story_id,
        Membership.Reason.CURATOR,
        True,
    )
    assert ClusteringEvent.objects.filter(kind=ClusteringEvent.Kind.MOVE, actor=curator).count() == 1
    assert not ClusteringEvent.objects.filter(is_automatic=True).exists()


def test_it_merges_stories_in_the_admin_and_logs_the_curator(
    curator_client: Client, curator: User, left_outlet: Outlet, center_outlet: Outlet, story_vector: Vector
) -> None:
    first, second = two_stories_that_converge(left_outlet, center_outlet, story_vector)
    analysis_set(Article.objects.get(outlet=center_outlet), unit_vector(50))
    for story_id in (first, second):  # their pages, as the pipeline builds them after clustering
        services.story_refresh(story_id=story_id)

    response = curator_client.post(
        "/admin/stories/story/",
        {"action": "merge_selected", "_selected_action": [first, second], "story": str(first)},
    )

    assert response.status_code == 302
    assert list(Cluster.objects.values_list("pk", flat=True)) == [first]
    assert Cluster.objects.get().is_curated
    event = ClusteringEvent.objects.get()
    assert (event.kind, event.is_automatic, event.actor) == (ClusteringEvent.Kind.MERGE, False, curator)


def test_it_pins_and_splits_from_the_admin_list_of_memberships(curator_client: Client, story: Story) -> None:
    membership = story.memberships.order_by("pk").first()
    assert membership is not None

    curator_client.post(
        "/admin/clustering/membership/", {"action": "pin_selected", "_selected_action": [membership.pk]}
    )
    curator_client.post(
        "/admin/clustering/membership/", {"action": "split_selected", "_selected_action": [membership.pk]}
    )

    membership.refresh_from_db()
    assert membership.is_pinned
    assert membership.story_id != story.pk
    assert Story.objects.get(pk=membership.story_id).refreshed_at is not None
    assert list(ClusteringEvent.objects.order_by("pk").values_list("kind", flat=True)) == ["pin", "split"]
    log = curator_client.get("/admin/clustering/clusteringevent/")
    assert log.status_code == 200
    assert "split by a curator" in log.content.decode()


# --- What readers and API consumers see ----------------------------------------------


def test_it_shows_the_clustering_confidence_and_when_the_story_was_reclustered(client: Client, story: Story) -> None:
    story.refresh_from_db()
    assert story.cluster.reclustered_at is not None

    page = client.get(story.get_absolute_url()).content.decode()
    detail = client.get(f"/api/v1/stories/{story.pk}/").json()
    listed = client.get("/api/v1/stories/").json()["results"][0]

    # In words at the top, with the figure and the time under "How this page was made".
    made = page.split('id="how-made"')[1]
    assert "The articles clearly report the same story." in made
    assert f"a probability of {story.cluster.confidence:.2f} that it belongs" in made
    assert "The grouping was last revised on" in made
    assert "Clustering confidence" not in page
    assert detail["confidence"] == pytest.approx(story.cluster.confidence)
    assert detail["reclustered_at"] is not None
    assert listed["confidence"] == pytest.approx(story.cluster.confidence)


# --- Locking -----------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_it_never_opens_two_stories_for_one_event_when_two_workers_assign_at_once(
    monkeypatch: pytest.MonkeyPatch, left_outlet: Outlet, center_outlet: Outlet, story_vector: Vector
) -> None:
    first = article_near(left_outlet, "Fare hike", story_vector, 2)
    second = article_near(center_outlet, "Board raises fare", story_vector, 3, hours=1)
    candidates_read = clusterer._candidates

    def slow_candidates(*args: Any, **kwargs: Any) -> Any:
        # Without the lock both workers would read "no story yet" here and open one each.
        found = candidates_read(*args, **kwargs)
        time.sleep(0.5)
        return found

    monkeypatch.setattr(clusterer, "_candidates", slow_candidates)
    results: dict[int, int | None] = {}
    start = threading.Barrier(2)

    def worker(article_id: int) -> None:
        start.wait()
        try:
            results[article_id] = clusterer.cluster_assign(article_id=article_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(article.pk,)) for article in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results[first.pk] == results[second.pk] is not None
    assert Cluster.objects.count() == 1


def test_it_sees_a_changed_centroid_through_the_in_memory_index(left_outlet: Outlet, story_vector: Vector) -> None:
    article = article_near(left_outlet, "Fare hike", story_vector, 2)
    story_id = clusterer.cluster_assign(article_id=article.pk)
    ids, before = clusterer.centroid_index.window(STORY_TIME)
    assert ids == [story_id]
    elsewhere = unit_vector(77)
    analysis_set(article, elsewhere)

    assert story_id is not None
    # The clusterer's second pass rebuilds the cluster from its members' analyses as they are now.
    clusterer.clusters_recluster(story_ids=[story_id])
    ids, after = clusterer.centroid_index.window(STORY_TIME)

    assert float(before[0] @ elsewhere) < 0.5
    assert float(after[0] @ elsewhere) == pytest.approx(1.0, abs=1e-5)


def test_it_shows_curators_each_membership_with_its_similarity_and_reason(curator_client: Client, story: Story) -> None:
    change = curator_client.get(f"/admin/stories/story/{story.pk}/change/")
    memberships = curator_client.get("/admin/clustering/membership/")

    assert change.status_code == memberships.status_code == 200
    assert "Started the story" in change.content.decode()
    assert "Scored above the join threshold" in memberships.content.decode()
