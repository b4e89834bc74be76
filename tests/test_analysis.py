"""Analysis without the models: actors, loaded language, re-analysis, the curator's action and the page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from analysis import services
from analysis.models import ArticleAnalysis
from analysis.nlp import tone
from analysis.nlp.article import ArticleFeatures, ArticleText
from analysis.nlp.entities import Mention, actors_count, actors_resolve
from sources.models import Outlet
from stories.models import Story
from tests.conftest import STORY_TIME, analysed_article_make, story_build, unit_vector


def test_it_counts_zelensky_spelt_three_ways_as_one_actor() -> None:
    mentions = [
        Mention("Zelensky", "PERSON", 3),
        Mention("Volodymyr Zelensky", "PERSON", 2),
        Mention("Zelenskyy", "ORG"),
        Mention("President Zelenskyy's", "PERSON"),
        Mention("Vladimir Putin", "PERSON"),
    ]

    counted = actors_count(mentions)

    assert counted[0] == {"text": "Volodymyr Zelensky", "label": "PERSON", "count": 7}
    assert [actor["text"] for actor in counted] == ["Volodymyr Zelensky", "Vladimir Putin"]


def test_it_keeps_two_people_apart_when_a_surname_fits_both() -> None:
    names = actors_resolve(
        [Mention("Joe Biden", "PERSON"), Mention("Hunter Biden", "PERSON"), Mention("Biden", "PERSON", 4)]
    )

    assert names == {"Joe Biden": "Joe Biden", "Hunter Biden": "Hunter Biden", "Biden": "Biden"}


def test_it_joins_an_acronym_and_a_leading_the_to_the_full_name() -> None:
    names = actors_resolve(
        [Mention("the United Nations", "ORG", 2), Mention("UN", "ORG"), Mention("Washington", "GPE")]
    )

    assert names["UN"] == names["United Nations"] == "United Nations"
    assert names["Washington"] == "Washington"


def test_it_flags_loaded_words_but_not_plain_reporting_or_quotes() -> None:
    assert tone.loaded_words("Critics slammed the reckless, disastrous scheme.") == [
        "slammed",
        "reckless",
        "disastrous",
        "scheme",
    ]
    assert tone.loaded_words("Two people were killed in the attack on Tuesday.") == []
    assert tone.loaded_words('The mayor called it "a disastrous scheme" in a statement.') == []


@pytest.fixture
def loaded_story(left_outlet: Outlet, center_outlet: Outlet) -> Story:
    vector = unit_vector(7)
    left = analysed_article_make(
        outlet=left_outlet,
        title="Board slams riders",
        vector=unit_vector(8, near=vector),
        sentences=["The board's <b>disastrous</b> fare scheme hits riders.", "Fares rise in January."],
    )
    ArticleAnalysis.objects.filter(article=left).update(
        loaded_sentences=[{"sentence": 0, "words": ["disastrous", "scheme"]}],
        entities=[{"text": "Zelenskyy", "label": "PERSON", "count": 2}],
    )
    center = analysed_article_make(
        outlet=center_outlet,
        title="Fares rise",
        vector=unit_vector(9, near=vector),
        published_at=STORY_TIME + timedelta(hours=1),
        sentences=["The transit board raised fares.", "Riders will pay more from January."],
    )
    ArticleAnalysis.objects.filter(article=center).update(
        entities=[{"text": "Volodymyr Zelensky", "label": "PERSON", "count": 3}]
    )
    return story_build([left, center])


def test_it_highlights_loaded_words_on_the_article_row_escaping_the_text(client: Client, loaded_story: Story) -> None:
    html = client.get(loaded_story.get_absolute_url()).content.decode()
    row = html.split('id="articles-heading"')[1]

    assert "Loaded language: 1 sentence" in row
    assert "&lt;b&gt;<mark>disastrous</mark>&lt;/b&gt; fare <mark>scheme</mark> hits riders." in row
    assert "<b>disastrous" not in html


def test_it_shows_the_sentences_that_carry_a_frame_on_the_article_s_tag(client: Client, story: Story) -> None:
    html = client.get(story.get_absolute_url()).content.decode()
    row = html.split('id="articles-heading"')[1]

    assert 'title="Why: Low-income riders will pay the most."' in row


def test_it_counts_one_actor_across_a_story_s_spellings(loaded_story: Story) -> None:
    left = loaded_story.viewpoints.get(side="left")

    assert left.entities == [{"text": "Volodymyr Zelensky", "count": 1}]


class FakeAnalyser:
    """Stands in for the models: versions the test chooses, features that show they were recomputed."""

    def __init__(self, versions: dict[str, str]) -> None:
        self.current = versions
        self.analysed: list[str] = []

    def versions(self) -> dict[str, str]:
        return self.current

    def analyse(self, items: list[ArticleText]) -> list[ArticleFeatures]:
        self.analysed.extend(item.title for item in items)
        story_vector = unit_vector(1)  # the cast's story: re-analysis keeps each article in it
        return [
            ArticleFeatures(
                embedding=story_vector,
                sentences=["A sentence of the new analysis."],
                sentence_matrix=story_vector[None, :].astype(np.float16),
                entities=[],
                frames=[{"frame": "Political", "score": 0.9, "sentences": [0]}],
                tone=0.5,
                actor_tones=[],
                loaded_sentences=[],
            )
            for _item in items
        ]


@pytest.fixture
def new_models(monkeypatch: pytest.MonkeyPatch) -> FakeAnalyser:
    fake = FakeAnalyser({"encoder": "test-vectors", "framing": "linear-new"})
    monkeypatch.setattr(services, "analyser", lambda: fake)
    return fake


def test_it_reanalyses_articles_an_older_model_tagged_and_refreshes_their_story(
    story: Story, new_models: FakeAnalyser
) -> None:
    ArticleAnalysis.objects.filter(article__title="Transit board raises fare to $2.75").update(
        model_versions=new_models.current
    )

    call_command("reanalyse", "--since", "2026-11-01")

    assert "Transit board raises fare to $2.75" not in new_models.analysed
    assert len(new_models.analysed) == 2
    assert ArticleAnalysis.objects.filter(model_versions=new_models.current).count() == 3
    assert sorted(analysis.frame_names for analysis in ArticleAnalysis.objects.all()) == [
        ["Economic"],
        ["Political"],
        ["Political"],
    ]
    left = story.viewpoints.get(side="left")
    assert [frame["frame"] for frame in left.frames] == ["Political"]


def test_it_leaves_articles_published_before_the_date(story: Story, new_models: FakeAnalyser) -> None:
    call_command("reanalyse", "--since", (STORY_TIME + timedelta(days=1)).date().isoformat())

    assert new_models.analysed == []


def test_it_does_the_work_once_when_run_twice(story: Story, new_models: FakeAnalyser) -> None:
    call_command("reanalyse")
    call_command("reanalyse")

    assert len(new_models.analysed) == 3


def test_it_reanalyses_the_articles_a_curator_selects(
    client: Client, story: Story, new_models: FakeAnalyser, django_capture_on_commit_callbacks: Any
) -> None:
    curator = User.objects.create_superuser("curator", "curator@example.org", "password")
    client.force_login(curator)
    chosen = ArticleAnalysis.objects.get(article__title="Transit board raises fare to $2.75")
    ArticleAnalysis.objects.filter(pk=chosen.pk).update(model_versions=new_models.current)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/analysis/articleanalysis/",
            {"action": "reanalyse", "_selected_action": [chosen.pk]},
            follow=True,
        )

    assert "1 articles queued for re-analysis" in response.content.decode()
    assert new_models.analysed == ["Transit board raises fare to $2.75"]
    chosen.refresh_from_db()
    assert chosen.frame_names == ["Political"]
