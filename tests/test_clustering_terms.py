"""The terms feature (TF-IDF over titles and leads) and pair models over a subset of the features
(fitting the pair model and the training replay: test_lab_clustering.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from clustering import scoring
from tests.conftest import unit_vector

WEIGHTS = scoring.TermWeights(documents=1000, counts={"the": 990, "said": 700, "on": 950, "vote": 60})


def test_it_weighs_rare_shared_words_above_common_ones() -> None:
    article = scoring.terms_of("Imogen floods Port Alder, the mayor said on Tuesday", WEIGHTS)
    rare = Counter(scoring.terms_of("Port Alder counts the cost of Imogen", WEIGHTS))
    common = Counter(scoring.terms_of("The council said on Monday the vote was close", WEIGHTS))

    assert sum(weight * weight for weight in article.values()) == pytest.approx(1.0, abs=1e-3)
    assert scoring.term_cosine(article, rare) > 0.4 > scoring.term_cosine(article, common)
    assert scoring.term_cosine({}, rare) == 0.0


def test_it_reads_words_with_apostrophes_and_drops_single_letters() -> None:
    assert scoring.tokens("Imogen's floodwaters hit Port Alder\u2019s poor") == [
        "imogen",
        "floodwaters",
        "hit",
        "port",
        "alder",
        "poor",
    ]
    assert "a" not in scoring.terms_of("a b cd", WEIGHTS)


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
    model = scoring.PairModel.from_dict(data)
    event = unit_vector(1)
    terms = scoring.terms_of("Imogen floods Port Alder", WEIGHTS)
    article = scoring.ArticleSignal(
        lead=event,
        body=event,
        entities=frozenset(),
        outlet_id=1,
        moment=datetime(2026, 11, 15, tzinfo=UTC),
        terms=terms,
    )
    story = scoring.StorySignal.of_article(article)

    assert list(scoring.pair_features(article, story, model.features)) == pytest.approx([1.0, 1.0], abs=1e-3)
    with pytest.raises(ValueError, match="among"):
        scoring.PairModel.from_dict({**data, "features": ["lead", "colour"]})
    with pytest.raises(ValueError, match="one weight each"):
        scoring.PairModel.from_dict({**data, "weights": [1.0]})


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

    assert scoring.PairModel.from_dict(named) == scoring.PairModel.from_dict(data)
    assert scoring.PairModel.from_dict(data).merge_linkage == "average"
    for retired, message in [
        ({"one_report_per_outlet": False}, "one_report_per_outlet"),
        ({"merge_features": ["lead"], "merge_weights": [1.0]}, "Merge features"),
        ({"merge_linkage": "centroid"}, "linkage"),
        ({"features": ["lead", "rare_entities"]}, "among"),
    ]:
        with pytest.raises(ValueError, match=message):
            scoring.PairModel.from_dict({**data, **retired})


def test_it_keeps_a_story_s_term_sums_as_members_join_and_leave() -> None:
    moment = datetime(2026, 11, 15, tzinfo=UTC)
    members = [
        scoring.ArticleSignal(
            lead=unit_vector(seed),
            body=unit_vector(seed),
            entities=frozenset(),
            outlet_id=seed,
            moment=moment,
            terms=scoring.terms_of(title, WEIGHTS),
        )
        for seed, title in enumerate(["Imogen floods Port Alder", "Port Alder after Imogen", "Senate passes wage bill"])
    ]
    story = scoring.StorySignal.of_article(members[0])
    story.add(members[1])

    assert scoring.term_cosine(members[1].terms, story.term_sums) > 0.5
    assert scoring.term_cosine(members[2].terms, story.term_sums) == 0.0


# --- The shipped model in the pipeline ------------------------------------------------------


def test_it_rebuilds_a_story_s_terms_from_its_members_once_per_version(
    left_outlet: Any, center_outlet: Any, django_assert_num_queries: Any, settings: Any
) -> None:
    settings.NEWSROOM_CLUSTER_MODEL_PATH = ""  # the shipped model
    from clustering import services as clusterer
    from clustering.models import Cluster
    from tests.conftest import analysed_article_make

    event = unit_vector(7)
    first = analysed_article_make(outlet=left_outlet, title="Imogen floods Port Alder", vector=event)
    story_id = clusterer.cluster_assign(article_id=first.pk)
    clusterer.term_sums.entries.clear()
    story = Cluster.objects.get(pk=story_id)

    with django_assert_num_queries(1):
        sums = clusterer.term_sums.of(story)
    with django_assert_num_queries(0):
        assert clusterer.term_sums.of(story) == sums
    assert {"imogen", "alder"} <= set(sums)

    second = analysed_article_make(
        outlet=center_outlet, title="Port Alder counts the cost of Imogen", vector=unit_vector(8, near=event)
    )
    assert clusterer.cluster_assign(article_id=second.pk) == story_id
    story.refresh_from_db()
    # The write put the new sums in place: the same as reading the two members again.
    held = clusterer.term_sums.of(story)
    clusterer.term_sums.entries.clear()
    assert held == pytest.approx(clusterer.term_sums.of(story))
    assert held["imogen"] > sums["imogen"]
