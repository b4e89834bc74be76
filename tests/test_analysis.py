"""Analysis without the models: actors, loaded language, re-analysis, the curator's action and the page."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from celery.concurrency.solo import TaskPool as SoloPool
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from analysis import services
from analysis import tasks as analysis_tasks
from analysis.models import ArticleAnalysis
from analysis.nlp import tone
from analysis.nlp.article import ArticleFeatures, ArticleText
from analysis.nlp.encoder import token_budget_batches
from analysis.nlp.entities import Mention, actors_count, actors_resolve, is_actor
from sources.articles import article_discover
from sources.models import Article, Outlet
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


def test_a_mention_without_a_letter_is_no_actor() -> None:
    # spaCy's small model tags the year of "the 2025 Ballot Integrity Act" ORG now and then.
    assert not is_actor("2025", "ORG")
    assert not is_actor("the 2025", "ORG")
    assert not is_actor("4-3", "LAW")
    assert is_actor("Bill 212", "LAW")
    assert is_actor("G7", "ORG")
    assert not is_actor("Monday", "DATE")


def test_an_organisation_s_short_name_joins_the_name_it_begins_unless_two_fit() -> None:
    # The demo's plant story listed "Halvorsen Kitchen Systems" (tagged PERSON) and "Halvorsen" (ORG) apart.
    names = actors_resolve([Mention("Halvorsen Kitchen Systems", "PERSON", 6), Mention("Halvorsen", "ORG", 2)])
    assert names == {"Halvorsen Kitchen Systems": "Halvorsen Kitchen Systems", "Halvorsen": "Halvorsen Kitchen Systems"}
    # Two bodies begin with "Calder": it stays apart. A first name is not its person.
    names = actors_resolve(
        [Mention("Calder Senate", "ORG"), Mention("Calder Supreme Court", "ORG"), Mention("Calder", "ORG")]
    )
    assert names["Calder"] == "Calder"
    assert actors_resolve([Mention("Joe Biden", "PERSON"), Mention("Joe", "PERSON")])["Joe"] == "Joe"


def test_a_group_with_a_digit_in_its_name_is_no_actor() -> None:
    # spaCy's small model tags a hurricane's "Category 2" NORP (a nationality, religious or political group).
    assert not is_actor("Category 2", "NORP")
    assert is_actor("Democrats", "NORP")
    assert is_actor("United Fabrication Workers Local 418", "ORG")


def test_the_analysis_lists_no_year_among_an_article_s_actors() -> None:
    from analysis.services import analyser

    features = analyser().analyse(
        [
            ArticleText(
                title="Shameful Ruling Leaves Calder Elections Wide Open to Fraud",
                text=(
                    "The court struck down the 2025 Ballot Integrity Act on Tuesday. "
                    "Representative Dean Hargrove said the 2025 law had protected every voter. "
                    "Supporters of the 2025 Ballot Integrity Act vowed to bring it back."
                ),
            )
        ]
    )[0]

    names = [entity["text"] for entity in features.entities]
    assert "Ballot Integrity Act" in names
    assert not [name for name in names if not any(character.isalpha() for character in name)]


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


def test_it_explains_loaded_language_with_lexicon_words_but_not_plain_reporting_or_quotes() -> None:
    assert tone.lexicon_words("Critics slammed the reckless, disastrous scheme.") == [
        "slammed",
        "reckless",
        "disastrous",
        "scheme",
    ]
    assert tone.lexicon_words("Two people were killed in the attack on Tuesday.") == []
    assert tone.lexicon_words('The mayor called it "a disastrous scheme" in a statement.') == []


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


def test_it_marks_a_flagged_headline_s_loaded_words_like_a_sentence_s(client: Client, loaded_story: Story) -> None:
    left = ArticleAnalysis.objects.get(article__title="Board slams riders")
    left.loaded_sentences = [{"headline": True, "words": ["slams"]}, *left.loaded_sentences]
    left.save(update_fields=["loaded_sentences"])

    html = client.get(loaded_story.get_absolute_url()).content.decode()
    row = html.split('id="articles-heading"')[1]

    assert "Loaded language: the headline and 1 sentence" in row
    assert "Headline: Board <mark>slams</mark> riders" in row


def test_it_shows_loaded_language_the_article_quotes_as_its_source_s_not_the_outlet_s(
    client: Client, loaded_story: Story
) -> None:
    left = ArticleAnalysis.objects.get(article__title="Board slams riders")
    left.sentences = [*left.sentences, '"This is a shameful betrayal of riders," said Mayor Jo Ortiz.']
    left.loaded_sentences = [*left.loaded_sentences, {"sentence": 2, "words": ["shameful"], "quoted": True}]
    left.save(update_fields=["sentences", "loaded_sentences"])

    html = client.get(loaded_story.get_absolute_url()).content.decode()
    row = html.split('id="articles-heading"')[1]

    # The outlet's own loaded sentence is counted alone; the quotation is shown apart, as its speaker's.
    assert "Loaded language: 1 sentence</summary>" in row
    quoted = row.split("Loaded language it quotes: 1 sentence</summary>")[1].split("</details>")[0]
    assert "The words of the people it quotes, not the outlet's own." in quoted
    assert "&quot;This is a <mark>shameful</mark> betrayal of riders,&quot; said Mayor Jo Ortiz." in quoted
    assert "disastrous" not in quoted


def test_it_shows_the_sentences_that_carry_a_frame_on_the_article_s_tag(client: Client, story: Story) -> None:
    html = client.get(story.get_absolute_url()).content.decode()
    row = html.split('id="articles-heading"')[1]

    # In text a keyboard or touch reader can open, not only in a tooltip.
    assert "<summary>Why these frames</summary>" in row
    assert "Fairness &amp; equality: “Low-income riders will pay the most.”" in row


def test_a_frame_s_sentences_are_escaped_once(client: Client, story: Story) -> None:
    """The demo showed "Hurricane Imogen&#x27;s floodwaters" under "Why these frames": the sentences were
    escaped when joined and again when quoted."""
    left = ArticleAnalysis.objects.get(article__title="Fare hike hits riders hardest")
    left.sentences = ["The transit board raised the fare to $2.75.", "Riders' fares <rise> & the poor pay most."]
    left.save(update_fields=["sentences"])

    html = client.get(story.get_absolute_url()).content.decode()
    row = html.split('id="articles-heading"')[1]

    assert "Fairness &amp; equality: “Riders&#x27; fares &lt;rise&gt; &amp; the poor pay most.”" in row
    assert "&amp;#x27;" not in html
    assert "&amp;amp;" not in html


def test_it_counts_one_actor_across_a_story_s_spellings(loaded_story: Story) -> None:
    left = loaded_story.viewpoints.get(side="left")

    assert left.entities == [{"text": "Volodymyr Zelensky", "count": 1, "label": "PERSON"}]


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
                tone_label="positive",
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


def fetched_article_make(outlet: Outlet, title: str) -> Article:
    article, _created = article_discover(
        outlet=outlet,
        url=f"https://{outlet.domains.first()}/2026/11/{title.lower().replace(' ', '-')}",
        title=title,
        text=f"{title}, the council said on Tuesday.",
        published_at=STORY_TIME,
        language="en",
    )
    assert article.state == Article.State.FETCHED
    return article


@pytest.mark.parametrize("count", [1, 6])
def test_it_writes_a_batch_of_analyses_in_queries_that_do_not_grow_with_the_batch(
    left_outlet: Outlet, new_models: FakeAnalyser, django_assert_num_queries: Any, count: int
) -> None:
    articles = [fetched_article_make(left_outlet, f"Harbour report number {index}") for index in range(count)]

    # Read the articles, lock those still waiting, one INSERT for every analysis, one UPDATE of their states.
    with django_assert_num_queries(4 + 2):  # and the savepoint's begin and end
        analysed = services.articles_analyse(article_ids=[article.pk for article in articles])

    assert analysed == sorted(article.pk for article in articles)
    assert set(Article.objects.filter(pk__in=analysed).values_list("state", flat=True)) == {Article.State.ANALYSED}
    assert ArticleAnalysis.objects.filter(article_id__in=analysed, model_versions=new_models.current).count() == count


def test_it_analyses_only_articles_still_waiting_and_rewrites_a_leftover_analysis(
    left_outlet: Outlet, new_models: FakeAnalyser
) -> None:
    waiting = fetched_article_make(left_outlet, "Harbour dredging begins")
    leftover = fetched_article_make(left_outlet, "Harbour fees rise")
    done = fetched_article_make(left_outlet, "Harbour master retires")
    Article.objects.filter(pk=done.pk).update(state=Article.State.CLUSTERED)
    # An analysis row left by an interrupted run, its article still waiting: rewritten, not duplicated.
    ArticleAnalysis.objects.create(article=leftover, embedding=b"", model_versions={"encoder": "old"})

    analysed = services.articles_analyse(article_ids=[waiting.pk, leftover.pk, done.pk])

    assert analysed == [waiting.pk, leftover.pk]
    assert ArticleAnalysis.objects.get(article=leftover).model_versions == new_models.current
    assert not ArticleAnalysis.objects.filter(article=done).exists()
    assert Article.objects.get(pk=done.pk).state == Article.State.CLUSTERED
    assert services.articles_analyse(article_ids=[waiting.pk, leftover.pk]) == []  # idempotent


def test_an_outlet_page_cached_before_an_analysis_shows_it_after(
    client: Client, left_outlet: Outlet, new_models: FakeAnalyser
) -> None:
    article = fetched_article_make(left_outlet, "Harbour dredging begins")
    before = client.get(f"/outlets/{left_outlet.slug}/").content.decode()

    services.articles_analyse(article_ids=[article.pk])
    after = client.get(f"/outlets/{left_outlet.slug}/").content.decode()

    # The page's key is the outlet's latest article change: the analysis moved it, so the page is new.
    assert "No analysed articles with frames yet." in before
    assert "Share of its 1 analysed article tagged with each frame" in after


class FakeConsumer:
    def __init__(self, queues: list[str], pool: object) -> None:
        self.task_consumer = SimpleNamespace(queues=[SimpleNamespace(name=name) for name in queues])
        self.pool = pool


@pytest.mark.parametrize(
    ("queues", "pool", "loads"),
    [
        (["ingest", "analysis", "clustering"], SoloPool(), True),
        (["ingest", "clustering"], SoloPool(), False),
        (["analysis"], object(), False),  # a prefork pool: its children load on first use
    ],
)
def test_a_worker_of_the_analysis_queue_loads_the_models_when_it_starts(
    monkeypatch: pytest.MonkeyPatch, queues: list[str], pool: object, loads: bool
) -> None:
    fake = FakeAnalyser({"encoder": "test-vectors"})
    loaded: list[FakeAnalyser] = []
    monkeypatch.setattr(services, "analyser", lambda: loaded.append(fake) or fake)

    analysis_tasks.analyser_preload(sender=FakeConsumer(queues, pool))

    assert bool(loaded) is loads


def test_it_cuts_encoder_batches_by_padded_size_keeping_every_text_once() -> None:
    lengths = [12, 80, 9, 40, 300, 11, 10, 39, 12]

    batches = token_budget_batches(lengths, budget=100, most=3)

    assert sorted(index for batch in batches for index in batch) == list(range(len(lengths)))
    assert batches[0] == [4]  # longer than the budget: alone
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or len(batch) * max(lengths[index] for index in batch) <= 100
    assert [lengths[index] for batch in batches for index in batch] == sorted(lengths, reverse=True)


@pytest.mark.models
def test_its_budgeted_batches_give_the_encoder_s_own_vectors() -> None:
    engine = services.analyser()
    texts = ["Short one here.", "A much longer sentence about the budget vote in the state senate on Tuesday."] * 40
    texts += ["Lead: " + " ".join(["word"] * 300)]

    vectors = engine.encode(texts)
    plain = engine.encoder.encode(texts, batch_size=32, normalize_embeddings=True)

    assert vectors.shape == plain.shape
    assert np.abs(vectors - plain).max() < 1e-5


@pytest.mark.parametrize("seed", range(20))
def test_a_penalty_asked_only_where_it_could_matter_chooses_what_every_penalty_would(seed: int) -> None:
    """The overview's selection with the tone penalty asked lazily (only rows that could be chosen) is the
    selection with every row's penalty known first, and it asks far fewer rows of a large pool."""
    from analysis.nlp.summarise import sentences_select

    generator = np.random.default_rng(seed)
    matrix = generator.normal(size=(300, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    target = matrix[:40].mean(axis=0)
    target /= np.linalg.norm(target)
    bonus = (0.15 * (generator.random(300) < 0.3)).astype(np.float32)
    penalties = (0.4 * generator.random(300)).astype(np.float32)
    asked: list[int] = []

    def penalty(rows: list[int]) -> np.ndarray:
        asked.extend(rows)
        return penalties[rows]

    eager = sentences_select(matrix, target, count=6, bonus=bonus - penalties)
    lazy = sentences_select(matrix, target, count=6, bonus=bonus, penalty=penalty)

    assert lazy == eager
    assert len(asked) == len(set(asked)) < 150


@pytest.mark.models
def test_the_analysis_keeps_the_tone_of_each_sentence() -> None:
    """What the overview's polarity penalty reads: the score ``tone.sentence_tones`` gives, from the
    analysis's own pass, for every kept sentence, those naming a main actor and the others alike
    (the clustering worker then encodes none of them again)."""
    engine = services.analyser()
    text = (
        "Governor Elena Marsh signed the emergency budget on Tuesday. "
        "Critics said Governor Elena Marsh had ignored the flooded towns. "
        "The river crested at 19.4 feet overnight."
    )

    [features] = engine.analyse([ArticleText(title="Budget signed", text=text)])

    assert len(features.sentence_tones) == len(features.sentences)
    read = [index for index, value in enumerate(features.sentence_tones) if value is not None]
    assert read == list(range(len(features.sentences)))
    assert not any("Marsh" in features.sentences[index] for index in read[2:])
    expected = tone.sentence_tones([features.sentences[index] for index in read])
    assert np.allclose([features.sentence_tones[index] for index in read], expected, atol=2e-3)


def test_an_article_s_tone_tag_says_whom_it_is_toward(client: Client, story: Story) -> None:
    """The demo tagged "Shameful Ruling Leaves Calder Elections Wide Open to Fraud" a bare "positive tone":
    it is the law the article defends, and the justice who wrote for it, that it speaks well of."""
    left = ArticleAnalysis.objects.get(article__title="Fare hike hits riders hardest")
    left.tone_class = "positive"
    left.actor_tones = [
        {"actor": "Transit Board", "tone": 0.2, "label": "neutral", "sentences": [0], "in_headline": False},
        {"actor": "Ballot Integrity Act", "tone": 0.88, "label": "positive", "sentences": [1], "in_headline": False},
        {"actor": "Riders <Alliance>", "tone": 0.5, "label": "positive", "sentences": [1], "in_headline": False},
        {"actor": "Miriam Solberg", "tone": 0.86, "label": "positive", "sentences": [1], "in_headline": False},
    ]
    left.save(update_fields=["tone_class", "actor_tones"])

    html = client.get(story.get_absolute_url()).content.decode()

    assert ">positive tone toward Ballot Integrity Act and Miriam Solberg</span>" in html
    # A neutral article's tag names no one.
    assert ">neutral tone</span>" in html
