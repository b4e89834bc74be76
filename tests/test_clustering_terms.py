"""The terms feature (TF-IDF over titles and leads), pair models over a subset of the features,
and the training replay: fitting the pair model and choosing its threshold on labelled data."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from stories import clustering
from stories import clustering_training as training
from tests.conftest import unit_vector

WEIGHTS = clustering.TermWeights(documents=1000, counts={"the": 990, "said": 700, "on": 950, "vote": 60})


def test_it_weighs_rare_shared_words_above_common_ones() -> None:
    article = clustering.terms_of("Imogen floods Port Alder, the mayor said on Tuesday", WEIGHTS)
    rare = Counter(clustering.terms_of("Port Alder counts the cost of Imogen", WEIGHTS))
    common = Counter(clustering.terms_of("The council said on Monday the vote was close", WEIGHTS))

    assert sum(weight * weight for weight in article.values()) == pytest.approx(1.0, abs=1e-3)
    assert clustering.term_cosine(article, rare) > 0.4 > clustering.term_cosine(article, common)
    assert clustering.term_cosine({}, rare) == 0.0


def test_it_reads_words_with_apostrophes_and_drops_single_letters() -> None:
    assert clustering.tokens("Imogen's floodwaters hit Port Alder\u2019s poor") == [
        "imogen",
        "floodwaters",
        "hit",
        "port",
        "alder",
        "poor",
    ]
    assert "a" not in clustering.terms_of("a b cd", WEIGHTS)


def test_it_loads_a_model_over_a_subset_of_the_features_and_refuses_unknown_ones() -> None:
    data = {
        "features": ["lead", "terms"],
        "weights": [10.0, 5.0],
        "intercept": -8.0,
        "join_probability": 0.5,
        "merge_probability": 0.9,
        "split_probability": 0.02,
        "decay_days": 1.0,
    }
    model = clustering.PairModel.from_dict(data)
    event = unit_vector(1)
    terms = clustering.terms_of("Imogen floods Port Alder", WEIGHTS)
    article = clustering.ArticleSignal(
        lead=event,
        body=event,
        entities=frozenset(),
        outlet_id=1,
        moment=datetime(2026, 11, 15, tzinfo=UTC),
        terms=terms,
    )
    story = clustering.StorySignal.of_article(article)

    assert list(clustering.pair_features(article, story, model.features)) == pytest.approx([1.0, 1.0], abs=1e-3)
    with pytest.raises(ValueError, match="among"):
        clustering.PairModel.from_dict({**data, "features": ["lead", "colour"]})
    with pytest.raises(ValueError, match="one weight each"):
        clustering.PairModel.from_dict({**data, "weights": [1.0]})


def test_it_loads_a_model_that_names_retired_options_at_their_default_and_refuses_them_otherwise() -> None:
    """Earlier models could turn off one report per outlet (to measure it), fit the merge pass its own
    regression, or merge by centroids; a file may still name those options at what is now the only behaviour."""
    data = {
        "features": ["lead", "terms"],
        "weights": [10.0, 5.0],
        "intercept": -8.0,
        "join_probability": 0.5,
        "merge_probability": 0.1,
        "split_probability": 0.02,
        "decay_days": 1.0,
    }
    named = {**data, "one_report_per_outlet": True, "merge_features": [], "merge_weights": [], "merge_intercept": 0.0}

    assert clustering.PairModel.from_dict(named) == clustering.PairModel.from_dict(data)
    assert clustering.PairModel.from_dict(data).merge_linkage == "average"
    for retired, message in [
        ({"one_report_per_outlet": False}, "one_report_per_outlet"),
        ({"merge_features": ["lead"], "merge_weights": [1.0]}, "Merge features"),
        ({"merge_linkage": "centroid"}, "linkage"),
        ({"features": ["lead", "rare_entities"]}, "among"),
    ]:
        with pytest.raises(ValueError, match=message):
            clustering.PairModel.from_dict({**data, **retired})


def test_it_keeps_a_story_s_term_sums_as_members_join_and_leave() -> None:
    moment = datetime(2026, 11, 15, tzinfo=UTC)
    members = [
        clustering.ArticleSignal(
            lead=unit_vector(seed),
            body=unit_vector(seed),
            entities=frozenset(),
            outlet_id=seed,
            moment=moment,
            terms=clustering.terms_of(title, WEIGHTS),
        )
        for seed, title in enumerate(["Imogen floods Port Alder", "Port Alder after Imogen", "Senate passes wage bill"])
    ]
    story = clustering.StorySignal.of_article(members[0])
    story.add(members[1])

    assert clustering.term_cosine(members[1].terms, story.term_sums) > 0.5
    assert clustering.term_cosine(members[2].terms, story.term_sums) == 0.0


# --- Training: pairs, fit, replay ---------------------------------------------------------


def signals_with_own_weights(articles: list[training.LabelledArticle]) -> list[clustering.ArticleSignal]:
    """The articles' signals, with term weights counted on these articles themselves."""
    weights = clustering.TermWeights(
        **dict(training.df_table([(article.title, article.lead_text) for article in articles]).items())
    )
    return training.signals_of(articles, weights)


def labelled(stories: int, per_story: int = 3, *, dated: bool = True) -> list[training.LabelledArticle]:
    """Articles of ``stories`` events, each near its event's vector and naming its own place."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    articles = []
    for story in range(stories):
        event = unit_vector(story + 1)
        for member in range(per_story):
            vector = unit_vector(100 * story + member + 500, near=event, noise=0.6)
            articles.append(
                training.LabelledArticle(
                    url=f"https://example.org/{story}/{member}",
                    outlet=f"Outlet {member}",
                    title=f"Flooding in Town{story} leaves residents waiting",
                    lead_text=f"Officials in Town{story} said the water was rising.",
                    published_at=start + timedelta(hours=story * 6 + member) if dated else None,
                    lead=vector,
                    body=vector,
                    entities=(f"town{story}",),
                    gold=f"story-{story}",
                )
            )
    return articles


def test_it_builds_pairs_fits_the_model_and_replays_the_clusterer_to_the_gold_stories() -> None:
    articles = labelled(12)
    signals = signals_with_own_weights(articles)

    rows, gaps, labels = training.training_pairs(signals, [article.gold for article in articles], ("lead", "terms"))
    fitted, intercept = training.logistic_fit(rows, labels, offset=-gaps)
    model = clustering.PairModel(
        features=("lead", "terms"),
        weights=tuple(fitted),
        intercept=intercept,
        join_probability=0.5,
        merge_probability=0.9,
        split_probability=0.02,
        decay_days=1.0,
    )
    bcubed, pairwise = training.scores_of(articles, training.replay(signals, model))

    assert labels.sum() == 12 * 2  # every second and third article meets its story
    assert fitted[1] > 0  # shared rare words speak for a story
    assert bcubed.f1 == pytest.approx(1.0)
    assert pairwise.f1 == pytest.approx(1.0)


def test_it_cuts_undated_corpora_into_streams_of_whole_stories() -> None:
    streams = training.streams_of(labelled(7, dated=False), stories_per_stream=3)

    dated = training.streams_of(labelled(7), stories_per_stream=3)

    assert [len({article.gold for article in stream}) for stream in streams] == [3, 3, 1]
    assert [[article.url for article in stream] for stream in dated] == [[article.url for article in labelled(7)]]


def test_it_counts_document_frequencies_not_text() -> None:
    table: dict[str, Any] = training.df_table([(article.title, article.lead_text) for article in labelled(4)])

    assert table["documents"] == 12
    assert table["counts"]["flooding"] == 12
    assert table["counts"]["town0"] == 3
    assert all(" " not in term for term in table["counts"])
    assert np.isclose(clustering.TermWeights(documents=12, counts=table["counts"]).idf("unseen"), np.log(13))


# --- The shipped model in the pipeline ------------------------------------------------------


def test_it_rebuilds_a_story_s_terms_from_its_members_once_per_version(
    left_outlet: Any, center_outlet: Any, django_assert_num_queries: Any, settings: Any
) -> None:
    settings.NEWSROOM_CLUSTER_MODEL_PATH = ""  # the shipped model
    from stories import assignment, services
    from stories.models import Story
    from tests.conftest import analysed_article_make

    event = unit_vector(7)
    first = analysed_article_make(outlet=left_outlet, title="Imogen floods Port Alder", vector=event)
    story_id = services.story_assign(article_id=first.pk)
    assignment.term_sums.entries.clear()
    story = Story.objects.get(pk=story_id)

    with django_assert_num_queries(1):
        sums = assignment.term_sums.of(story)
    with django_assert_num_queries(0):
        assert assignment.term_sums.of(story) == sums
    assert {"imogen", "alder"} <= set(sums)

    second = analysed_article_make(
        outlet=center_outlet, title="Port Alder counts the cost of Imogen", vector=unit_vector(8, near=event)
    )
    assert services.story_assign(article_id=second.pk) == story_id
    story.refresh_from_db()
    # The write put the new sums in place: the same as reading the two members again.
    held = assignment.term_sums.of(story)
    assignment.term_sums.entries.clear()
    assert held == pytest.approx(assignment.term_sums.of(story))
    assert held["imogen"] > sums["imogen"]


def test_it_groups_articles_that_join_nothing_by_average_linkage_in_the_second_pass() -> None:
    articles = labelled(6, dated=False)
    signals = signals_with_own_weights(articles)
    # Undated articles join no story directly: each starts one, and the merge pass groups them.
    model = clustering.PairModel(
        features=("lead", "terms"),
        weights=(10.0, 5.0),
        intercept=-8.0,
        join_probability=0.3,
        join_probability_undated=1.0,
        merge_probability=0.5,
        split_probability=0.02,
        decay_days=1.0,
        merge_linkage="average",
    )
    same = clustering.linkage_probability(signals[:2], signals[2:3], model)
    other = clustering.linkage_probability(signals[:2], signals[3:5], model)

    assert 0.5 < same <= 1.0
    assert 0.0 <= other < same
    assert same == pytest.approx(clustering.linkage_probability(signals[2:3], signals[:2], model))
    unmerged, _ = training.scores_of(
        articles, training.replay(signals, training.model_with(model, merge_probability=1.0))
    )
    merged, _ = training.scores_of(articles, training.replay(signals, model))
    assert unmerged.recall == pytest.approx(1 / 3)
    assert merged.f1 > unmerged.f1
    assert clustering.PairModel.from_dict(training.model_dict(model, provenance="")).merge_linkage == "average"
    with pytest.raises(ValueError, match="linkage"):
        clustering.PairModel.from_dict({**training.model_dict(model, provenance=""), "merge_linkage": "single"})
