"""``manage.py evaluate_clustering``: the real pipeline on a labelled corpus, scored, labels unseen."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from clustering import evaluation
from sources import importing

pytestmark = [pytest.mark.models, pytest.mark.django_db(transaction=True)]

# Two events, each reported by three outlets; written for this test.
CORPUS = [
    (
        "voice.example",
        "ferry",
        "Harbor ferry service halted after engine fire on the Marlow crossing",
        "The Marlow harbor ferry was taken out of service on Monday after an engine fire broke out during the morning "
        "crossing. All 140 passengers were brought ashore safely, the port authority said.",
    ),
    (
        "record.example",
        "ferry",
        "Engine fire suspends Marlow ferry crossings",
        "Crossings on the Marlow ferry are suspended after an engine fire on Monday morning. The port authority said "
        "the 140 passengers on board were evacuated without injuries and inspectors are examining the vessel.",
    ),
    (
        "herald.example",
        "ferry",
        "Port authority under fire as Marlow ferry burns mid-crossing",
        "Critics blamed years of deferred maintenance after the Marlow ferry's engine caught fire on Monday. The port "
        "authority said all 140 passengers were evacuated safely.",
    ),
    (
        "voice.example",
        "orchard",
        "Drought forces Kelby orchards to cut apple harvest by a third",
        "Apple growers in the Kelby valley expect a harvest a third smaller than last year after a dry summer, "
        "the growers' cooperative said on Monday.",
    ),
    (
        "record.example",
        "orchard",
        "Kelby apple harvest expected to fall by a third after dry summer",
        "The Kelby valley growers' cooperative forecast on Monday that the apple harvest will be about a third smaller "
        "than last year because of drought.",
    ),
    (
        "herald.example",
        "orchard",
        "Dry summer slashes Kelby apple crop, growers warn of job losses",
        "Kelby valley orchards will pick a third fewer apples this year after the drought, the growers' cooperative "
        "said on Monday, warning that seasonal jobs are at risk.",
    ),
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    rows = [
        {
            "url": f"https://{domain}/{index}",
            "outlet_domain": domain,
            "title": title,
            "text": text,
            "published_at": f"2026-11-16T{8 + index:02d}:00:00+00:00",
            "language": "en",
            "gold_story": story,
            "gold_side": "center",
        }
        for index, (domain, story, title, text) in enumerate(CORPUS)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_it_scores_the_pipelines_stories_against_the_gold_stories_without_showing_it_the_labels(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_keys: set[str] = set()
    parse = importing.corpus_row_parse

    def spying_parse(record: dict[str, Any]) -> Any:
        seen_keys.update(record)
        return parse(record)

    scratch: list[str] = []
    # The test database is already a scratch one: record the calls instead of nesting another.
    monkeypatch.setattr(connection.creation, "create_test_db", lambda **kwargs: scratch.append("created"))
    monkeypatch.setattr(connection.creation, "destroy_test_db", lambda *args, **kwargs: scratch.append("destroyed"))
    # The pipeline reads the parser from its module when it imports the rows.
    monkeypatch.setattr("sources.importing.corpus_row_parse", spying_parse, raising=True)
    output = io.StringIO()

    call_command("evaluate_clustering", str(corpus), stdout=output)

    text = output.getvalue()
    assert scratch == ["created", "destroyed"]
    assert "Imported 6 articles" in text
    assert "2 stories for 2 gold stories" in text
    assert "BCubed    precision 1.0000  recall 1.0000  F1 1.0000" in text
    assert "pairwise  precision 1.0000  recall 1.0000  F1 1.0000" in text
    assert seen_keys
    assert not {key for key in seen_keys if key.startswith("gold_")}


# --- What readers see: false missing and false extra sides ---------------------------------------


def test_it_counts_a_side_hidden_by_a_split_for_every_article_that_loses_it() -> None:
    gold = {"l": "event", "c": "event", "r": "event"}
    sides = {"l": "left", "c": "center", "r": "right"}

    # The right-leaning report was left in a story of its own: the two others' pages hide the
    # right, and its page hides the left and the center.
    errors = evaluation.side_errors({"l": 1, "c": 1, "r": 2}, gold, sides)

    assert (errors.missing, errors.extra, errors.pairs) == (4, 0, 9)
    assert errors.missing_rate == pytest.approx(4 / 9)
    assert (errors.stories_missing, errors.stories) == (1, 1)


def test_it_counts_a_side_shown_by_a_story_that_swallowed_another_event() -> None:
    gold = {"l1": "ferry", "c1": "ferry", "r2": "orchard"}
    sides = {"l1": "left", "c1": "center", "r2": "right"}

    errors = evaluation.side_errors({"l1": 1, "c1": 1, "r2": 1}, gold, sides)

    # The ferry pages show a right that never covered the ferry; the orchard page shows a left and
    # a center that never covered the orchard.
    assert (errors.missing, errors.extra) == (0, 4)
    assert errors.extra_rate == pytest.approx(4 / 9)


def test_it_counts_no_side_for_an_unrated_outlet_and_none_for_a_perfect_clustering() -> None:
    gold = {"l": "event", "c": "event", "u": "event"}
    sides = {"l": "left", "c": "center", "u": None}

    assert evaluation.side_errors({"l": 1, "c": 1, "u": 2}, gold, sides).missing == 2
    assert evaluation.side_errors({"l": 1, "c": 1, "u": 1}, gold, sides).missing == 0


def test_it_prints_the_side_rates_with_the_leans_of_the_outlets_imported_first(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outlets = tmp_path / "outlets.jsonl"
    outlets.write_text(
        "".join(
            json.dumps({"name": name, "domain": domain, "lean": lean}) + "\n"
            for name, domain, lean in (
                ("Voice", "voice.example", "left"),
                ("Record", "record.example", "center"),
                ("Herald", "herald.example", "lean_right"),
            )
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(connection.creation, "create_test_db", lambda **kwargs: None)
    monkeypatch.setattr(connection.creation, "destroy_test_db", lambda *args, **kwargs: None)
    output = io.StringIO()

    call_command("evaluate_clustering", str(corpus), "--outlets", str(outlets), stdout=output)

    text = output.getvalue()
    assert "Imported 3 outlets." in text
    assert "false missing side 0.0000 (0 of 18 article-side pairs; 0 of 2 stories)" in text
    assert "false extra side 0.0000 (0)" in text
    assert "(6 rated articles)" in text


def test_it_says_when_no_outlet_is_rated_rather_than_printing_empty_side_rates(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection.creation, "create_test_db", lambda **kwargs: None)
    monkeypatch.setattr(connection.creation, "destroy_test_db", lambda *args, **kwargs: None)
    output = io.StringIO()

    call_command("evaluate_clustering", str(corpus), stdout=output)

    assert "no article's outlet is rated" in output.getvalue()
    assert "false missing side" not in output.getvalue()
