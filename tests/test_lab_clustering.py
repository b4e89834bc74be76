"""The clustering pair model's training (lab/): pairs, the fit, streams, document counts, and the
offline replay of the clusterer that chooses the thresholds."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clustering import scoring
from lab import clustering_training as training
from lab import score_export, split_clustering, train_clustering
from tests.conftest import unit_vector
from tests.test_clustering_evaluate import CORPUS


def signals_with_own_weights(articles: list[training.LabelledArticle]) -> list[scoring.ArticleSignal]:
    """The articles' signals, with term weights counted on these articles themselves."""
    weights = scoring.TermWeights(
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
    model = scoring.PairModel(
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
    assert np.isclose(scoring.TermWeights(documents=12, counts=table["counts"]).idf("unseen"), np.log(13))


def test_it_groups_articles_that_join_nothing_by_average_linkage_in_the_second_pass() -> None:
    articles = labelled(6, dated=False)
    signals = signals_with_own_weights(articles)
    # Undated articles join no story directly: each starts one, and the merge pass groups them.
    model = scoring.PairModel(
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
    same = scoring.linkage_probability(signals[:2], signals[2:3], model)
    other = scoring.linkage_probability(signals[:2], signals[3:5], model)

    assert 0.5 < same <= 1.0
    assert 0.0 <= other < same
    assert same == pytest.approx(scoring.linkage_probability(signals[2:3], signals[:2], model))
    unmerged, _ = training.scores_of(
        articles, training.replay(signals, training.model_with(model, merge_probability=1.0))
    )
    merged, _ = training.scores_of(articles, training.replay(signals, model))
    assert unmerged.recall == pytest.approx(1 / 3)
    assert merged.f1 > unmerged.f1
    assert scoring.PairModel.from_dict(training.model_dict(model, provenance="")).merge_linkage == "average"
    with pytest.raises(ValueError, match="linkage"):
        scoring.PairModel.from_dict({**training.model_dict(model, provenance=""), "merge_linkage": "single"})


@pytest.mark.models
def test_it_trains_a_model_from_the_command_line_that_the_product_loads(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"url": f"https://{domain}/{index}", "outlet": domain, "title": title, "text": text, "gold_story": story}
        | {"published_at": f"2026-11-16T{8 + index:02d}:00:00+00:00"}
        for index, (domain, story, title, text) in enumerate(CORPUS)
    ]
    corpus.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = io.StringIO()

    outlets = tmp_path / "outlets.jsonl"
    leans = {"voice.example": "left", "record.example": "center", "herald.example": "right"}
    outlets.write_text("".join(json.dumps({"name": name, "lean": lean}) + "\n" for name, lean in leans.items()))
    arguments = [str(corpus), "--out", str(tmp_path / "model.json"), "--df-out", str(tmp_path / "df.json")]
    arguments += ["--cache-dir", str(tmp_path / "cache"), "--evaluate", str(corpus), "--outlets", str(outlets)]

    train_clustering.main(arguments, stdout=out)

    printed = out.getvalue()
    model = scoring.model_load(str(tmp_path / "model.json"))
    assert "6 training articles in 2 stories." in printed
    assert "Held out (offline replay) corpus.jsonl: BCubed precision 1.0000  recall 1.0000  F1 1.0000" in printed
    assert model.features == scoring.FEATURE_NAMES
    assert model.merge_linkage == "average"
    # The sides' thresholds, chosen on the dated streams; the side rates of the held-out replay.
    assert "Dated merge threshold" in printed
    assert model.merge_probability_complementary is not None
    assert model.near_miss_probability is not None
    assert "false missing side 0.0000, false extra side 0.0000" in printed
    assert json.loads((tmp_path / "df.json").read_text(encoding="utf-8"))["documents"] == 6


def test_it_splits_a_dated_corpus_by_the_day_each_story_starts() -> None:
    rows = [
        {"url": "a1", "gold_story": "a", "published_at": "2021-08-31T16:00:00-07:00"},
        {"url": "a2", "gold_story": "a", "published_at": "2021-09-02T08:00:00+00:00"},
        {"url": "b1", "gold_story": "b", "published_at": "2021-09-01T00:00:00+00:00"},
    ]

    tune, final = split_clustering.split_by_date(rows, final_from=date(2021, 9, 1))

    # Story a started before the cut (23:00 UTC): both its rows stay on the tune side.
    assert [row["url"] for row in tune] == ["a1", "a2"]
    assert [row["url"] for row in final] == ["b1"]


def test_it_refuses_to_split_a_corpus_with_an_undated_row() -> None:
    with pytest.raises(ValueError, match="no published_at"):
        split_clustering.split_by_date(
            [{"url": "x", "gold_story": "x", "published_at": None}], final_from=date(2021, 9, 1)
        )


def test_it_scores_an_export_as_the_owners_do_with_the_sides_a_split_hides() -> None:
    gold = [
        {"url": "l", "gold_story": "a", "outlet_domain": "left.example"},
        {"url": "c", "gold_story": "a", "outlet_domain": "center.example"},
        {"url": "r", "gold_story": "a", "outlet_domain": "right.example"},
    ]
    leans = {"left.example": "left", "center.example": "center", "right.example": "right"}
    split = [{"id": 1, "urls": ["l", "c"]}]  # the right-leaning report is not exported: a story of its own

    lines = score_export.report(gold, split, leans)

    assert lines[1] == "not exported (each counted as a story of its own): 1"
    assert lines[2] == "BCubed    P 1.000  R 0.556  F1 0.714"
    # The left's and the center's pages hide the right; the right's page hides both others.
    assert lines[4].startswith("false missing side 0.4444 (4 of 9 article-side pairs; 1 of 1 stories)")
