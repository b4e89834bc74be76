"""Ask: answers quoted from the story's own sentences with citations, refusals, the question log and FAQ.

The sentences are encoded with the real MiniLM encoder, as the analysis stores them, so
retrieval and its thresholds are tested as they run.
"""

from __future__ import annotations

import functools
import io
import json
import operator
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import Client

import stories.ask
from analysis.models import ArticleAnalysis
from analysis.nlp.answer import (
    Passage,
    answer_labels,
    answer_vetoed,
    asked_words,
    content_words,
    passages_answering,
    passages_candidates,
    passages_judged,
    passages_retrieve,
    passages_spoken,
    passages_typed,
    question_asks_unnamed_speaker,
    question_is_yes_no,
    question_normalise,
    question_role,
    question_speaker,
    question_speaker_topic,
    question_wants_value,
    value_labels,
    words_missing,
)
from sources.models import Article, Outlet
from stories.ask import REFUSAL, AskAnswer, question_encode, story_ask
from stories.faq import story_question_review
from stories.models import Story, StoryQuestion
from tests.conftest import STORY_TIME, analysed_article_make, story_build, unit_vector

SENTENCES = {
    "left": [
        "The Riverton transit board voted 5-2 to raise the bus fare to $2.75.",
        "Night-shift nurses and warehouse workers will pay about $240 more a year.",
    ],
    "center": [
        "The transit authority approved the fare increase to close a $38 million budget gap.",
        "The new fare takes effect on January 4.",
    ],
    "right": [
        "The board raised the fare after years of overspending on consultants.",
        "The monthly pass will climb from $80 to $95.",
    ],
}


def encoded_article_make(
    *, outlet: Outlet, title: str, sentences: list[str], hours: int, vector: np.ndarray[Any, Any]
) -> Article:
    """An analysed article whose sentence vectors come from the real encoder (the article's own, for
    clustering, is the fixture's: this is about answering, not grouping)."""
    matrix = np.vstack([question_encode(sentence) for sentence in sentences])
    article = analysed_article_make(
        outlet=outlet,
        title=title,
        vector=vector,
        published_at=STORY_TIME + timedelta(hours=hours),
        sentences=sentences,
    )
    ArticleAnalysis.objects.filter(article=article).update(sentence_embeddings=matrix.astype(np.float16).tobytes())
    return article


STORM_SENTENCES = {
    "left": [
        "About 1,800 residents spent the night in 14 emergency shelters after the storm.",
        "Volunteers at the shelters were short on cots and baby formula.",
    ],
    "center": [
        "Governor Elena Marsh formally requested a federal major disaster declaration on Monday.",
        "The storm knocked out power to about 42,000 homes and businesses.",
    ],
    "right": [
        "The state will release $120 million from its emergency reserve fund.",
        "Police arrested 11 people overnight on suspicion of burglary.",
    ],
}


def encoded_story_build(
    title: str, sentences_by_side: dict[str, list[str]], outlets: dict[str, Outlet], near: np.ndarray[Any, Any]
) -> Story:
    """A story of one article a side, "<title> (<side>)", each with its sentences encoded, an hour apart."""
    return story_build(
        [
            encoded_article_make(
                outlet=outlets[side],
                title=f"{title} ({side})",
                sentences=sentences,
                hours=hours,
                vector=unit_vector(hours + 2, near=near),
            )
            for hours, (side, sentences) in enumerate(sentences_by_side.items())
        ]
    )


@pytest.fixture
def storm_story(outlets_by_side: dict[str, Outlet], story_vector: np.ndarray[Any, Any]) -> Story:
    return encoded_story_build("Storm story", STORM_SENTENCES, outlets_by_side, story_vector)


@pytest.fixture
def fare_story(outlets_by_side: dict[str, Outlet], story_vector: np.ndarray[Any, Any]) -> Story:
    return encoded_story_build("Fare story", SENTENCES, outlets_by_side, story_vector)


def test_it_answers_with_quotes_cited_to_the_articles(fare_story: Story) -> None:
    answer = story_ask(story_id=fare_story.pk, question="When does the new fare take effect?")

    assert isinstance(answer, AskAnswer)
    assert answer.is_supported
    assert answer.refusal_reason == ""
    best = answer.quotes[0]
    center = Article.objects.get(title="Fare story (center)")
    assert (best.text, best.article_id, best.number, best.outlet, best.side) == (
        "The new fare takes effect on January 4.",
        center.pk,
        2,
        "Center Courier",
        "center",
    )
    assert all(quote.text in functools.reduce(operator.iadd, SENTENCES.values(), []) for quote in answer.quotes)


def test_a_second_question_reads_the_story_s_sentences_from_memory(
    fare_story: Story, django_assert_num_queries: Any
) -> None:
    story_ask(story_id=fare_story.pk, question="When does the new fare take effect?")

    # The story and its version, then the log's one INSERT: no sentences, vectors or citation
    # numbers are read again.
    with django_assert_num_queries(2):
        answer = story_ask(story_id=fare_story.pk, question="How much will the monthly pass cost?")
    # Asked again: the story, and the same INSERT, which counts the asking on the existing row.
    with django_assert_num_queries(2):
        story_ask(story_id=fare_story.pk, question="How much will the monthly pass cost?")

    assert answer.is_supported
    assert answer.quotes[0].text == "The monthly pass will climb from $80 to $95."
    logged = StoryQuestion.objects.get(story=fare_story, normalised="how much will the monthly pass cost")
    assert (logged.count, logged.question, logged.review, logged.published_question) == (
        2,
        "How much will the monthly pass cost?",
        StoryQuestion.Review.PENDING,
        "",
    )
    assert logged.answer["quotes"][0]["text"] == answer.quotes[0].text
    assert logged.first_asked_at <= logged.last_asked_at


def test_a_question_asked_again_is_answered_from_memory_and_logged_again(
    fare_story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = story_ask(story_id=fare_story.pk, question="How much will the monthly pass cost?")
    monkeypatch.setattr("stories.ask.question_encode", lambda question: pytest.fail("encoded again"))

    again = story_ask(story_id=fare_story.pk, question="How much will the monthly pass cost?")
    Story.objects.filter(pk=fare_story.pk).update(refreshed_at=F("refreshed_at") + timedelta(minutes=1))
    with pytest.raises(pytest.fail.Exception, match="encoded again"):
        story_ask(story_id=fare_story.pk, question="How much will the monthly pass cost?")  # a new version

    assert again.quotes == first.quotes
    assert StoryQuestion.objects.get(story=fare_story, normalised="how much will the monthly pass cost").count == 2


def test_a_refreshed_story_is_answered_from_its_new_sentences(
    fare_story: Story, right_outlet: Outlet, story_vector: np.ndarray[Any, Any]
) -> None:
    question = "When will the council vote on the transit budget?"
    assert not story_ask(story_id=fare_story.pk, question=question).is_supported
    added = encoded_article_make(
        outlet=right_outlet,
        title="Fare story (budget vote)",
        sentences=["The council will vote on the transit budget on March 3."],
        hours=5,
        vector=unit_vector(9, near=story_vector),
    )

    assert story_build([added]).pk == fare_story.pk  # it joins the story, which is refreshed
    answer = story_ask(story_id=fare_story.pk, question=question)

    assert answer.is_supported
    assert answer.quotes[0].article_id == added.pk


def test_it_refuses_when_the_coverage_does_not_answer(fare_story: Story) -> None:
    for question in ("Who won the football match on Sunday?", "What is the recipe for banana bread?"):
        answer = story_ask(story_id=fare_story.pk, question=question)

        assert not answer.is_supported
        assert answer.quotes == []
        assert answer.refusal_reason == REFUSAL == "The coverage of this story does not answer that question."


@pytest.mark.parametrize(
    ("question", "message"),
    [("   ", "Please type a question."), ("why " * 100, "Questions are limited to 300 characters (this one has 399).")],
)
def test_it_rejects_an_empty_or_too_long_question(fare_story: Story, question: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        story_ask(story_id=fare_story.pk, question=question)

    assert raised.value.messages == [message]
    assert not StoryQuestion.objects.exists()


def test_it_answers_on_the_story_page_without_javascript(client: Client, fare_story: Story) -> None:
    page = client.get(f"/stories/{fare_story.pk}/").content.decode()
    assert f'<form class="ask-form" method="post" action="/stories/{fare_story.pk}/ask/#ask">' in page

    response = client.post(f"/stories/{fare_story.pk}/ask/", {"question": "How much will the monthly pass cost?"})

    html = response.content.decode()
    assert response.status_code == 200
    answer = re.search(r'<div class="answer".*?</div>', html, re.DOTALL)
    assert answer
    right = Article.objects.get(title="Fare story (right)")
    assert f'“The monthly pass will climb from $80 to $95.” <a class="cite" href="#article-{right.pk}">[3]</a>' in (
        answer.group(0)
    )
    assert f'id="article-{right.pk}"' in html
    # A reader who finds the answer wrong can report it.
    assert f'href="/stories/{fare_story.pk}/report/?target=ask" rel="nofollow">Report an issue' in answer.group(0)


def test_it_shows_the_refusal_and_input_errors_on_the_page(client: Client, fare_story: Story) -> None:
    refused = client.post(f"/stories/{fare_story.pk}/ask/", {"question": "Who won the football match?"})
    empty = client.post(f"/stories/{fare_story.pk}/ask/", {"question": ""})

    assert (
        '<p class="refusal">The coverage of this story does not answer that question.</p>' in refused.content.decode()
    )
    assert empty.status_code == 400
    # The error takes the focus (the page's script), so a screen reader reads it at once.
    assert (
        '<p class="ask-error" id="ask-error" role="alert" tabindex="-1" data-focus>Please type a question.</p>'
        in empty.content.decode()
    )
    assert 'aria-describedby="ask-help ask-error"' in empty.content.decode()
    assert client.get(f"/stories/{fare_story.pk}/ask/").status_code == 302
    assert client.post(f"/stories/{fare_story.pk + 1000}/ask/", {"question": "Why?"}).status_code == 404


def test_it_logs_questions_and_shows_only_the_ones_a_curator_approved(client: Client, fare_story: Story) -> None:
    client.get(f"/stories/{fare_story.pk}/")  # cached without a FAQ
    for question in ("When does the new fare take effect?", "when does the new fare  take effect"):
        client.post(f"/stories/{fare_story.pk}/ask/", {"question": question})
    for _ in range(3):
        client.post(f"/stories/{fare_story.pk}/ask/", {"question": "Who won the football match?"})
    client.post(f"/stories/{fare_story.pk}/ask/", {"question": "How much will the monthly pass cost?"})

    logged = {row.normalised: (row.count, row.is_supported) for row in StoryQuestion.objects.all()}
    assert logged == {
        "when does the new fare take effect": (2, True),
        "who won the football match": (3, False),
        "how much will the monthly pass cost": (1, True),
    }
    # Asked often, answered with citations: still not on the page until a curator approves it.
    assert "faq-readers" not in client.get(f"/stories/{fare_story.pk}/").content.decode()

    question = StoryQuestion.objects.get(normalised="when does the new fare take effect")
    story_question_review(question_id=question.pk, approve=True, actor=None)

    html = client.get(f"/stories/{fare_story.pk}/").content.decode()
    faq = re.search(r'<dl class="faq faq-readers".*?</dl>', html, re.DOTALL)
    assert faq
    assert re.findall(r"<dt>(.*?)</dt>", faq.group(0)) == ["When does the new fare take effect?"]
    assert "January 4" in faq.group(0)


def test_it_retrieves_only_sentences_sharing_words_with_the_question() -> None:
    sentences = ["The fare rises to $2.75.", "Riders protested loudly.", "The fare rises to $2.75!"]
    matrix = np.eye(3, 4, dtype=np.float32)
    matrix[2] = matrix[0]
    question = np.array([0.8, 0.6, 0.0, 0.0], dtype=np.float32)

    passages = passages_retrieve(
        "What will the fare be?", question, sentences, matrix, min_similarity=0.5, min_coverage=0.5, count=3
    )

    # The second sentence is similar enough but shares no word; the third repeats the first.
    assert [passage.row for passage in passages] == [0]
    assert (
        passages_retrieve(
            "What will the fare be?", question, sentences, matrix, min_similarity=0.9, min_coverage=0.5, count=3
        )
        == []
    )
    assert content_words("What is the Fare, in 2027?") == {"far", "2027"}
    assert question_normalise("  When does it  START?? ") == "when does it start"


def test_the_answer_model_reads_the_closest_sentences_and_quotes_those_it_judges_to_answer() -> None:
    matrix = np.eye(4, 4, dtype=np.float32)
    matrix[3] = matrix[0]  # a wire copy of the first sentence
    similarity = np.array([0.6, 0.7, 0.1, 0.6], dtype=np.float32)

    rows = passages_candidates(similarity, min_similarity=0.3, count=3)
    # Closest first; the far sentence is never read; at most ``count`` are.
    assert rows == [1, 0, 3]
    judged = passages_judged(
        rows, np.array([0.2, 0.9, 0.9], dtype=np.float32), similarity, matrix, min_probability=0.5, count=3
    )
    # The closest sentence does not answer; of the two that do, the copy is given once.
    assert [(passage.row, passage.score) for passage in judged] == [(0, 0.9)]
    assert (
        passages_judged(
            rows, np.array([0.2, 0.4, 0.4], dtype=np.float32), similarity, matrix, min_probability=0.5, count=3
        )
        == []
    )
    assert passages_candidates(similarity, min_similarity=0.8, count=3) == []


def test_words_the_story_never_uses_refuse_a_yes_or_no_question_or_two_unknown_names() -> None:
    pool = ["The Calder Supreme Court ruled 4-3 that the voter ID law violates the constitution.", "Voter ID ruling"]

    def vetoed(question: str) -> tuple[list[str], bool]:
        missing = words_missing(question, pool)
        return missing, answer_vetoed(question, missing)

    assert vetoed("Has the federal government approved the ruling?") == (["federal", "government", "approved"], True)
    assert vetoed("What did the United Nations say about the voter ID ruling?") == (["United", "Nations"], True)
    # Someone the story never names cannot be quoted; a missing name in another question is the model's call.
    assert vetoed("What did Biden say about the voter ID ruling?") == (["Biden"], True)
    assert vetoed("How did Calder's governor react to the ruling?") == (["governor", "react"], False)
    assert vetoed("Which Calder Supreme Court justices dissented in Marsh?") == (
        ["justices", "dissented", "Marsh"],
        False,
    )
    # A wh-question's word in other words is the answer model's call; the kind of answer wanted never counts.
    assert vetoed("When was the voter ID law struck down?") == (["struck"], False)
    assert vetoed("What year did the Calder Supreme Court rule?") == ([], False)
    assert question_is_yes_no("Did the court rule?")
    assert not question_is_yes_no("Who ruled?")


def test_the_answer_model_answers_in_other_words_and_names_the_words_the_coverage_never_uses(
    client: Client, fare_story: Story
) -> None:
    answer = story_ask(story_id=fare_story.pk, question="Why did the transit board hike the fare?")
    assert answer.is_supported
    assert any("$38 million budget gap" in quote.text for quote in answer.quotes)
    assert answer.missing_words == ["hike"]
    page = client.post(
        f"/stories/{fare_story.pk}/ask/", {"question": "Why did the transit board hike the fare?"}, follow=True
    ).content.decode()
    # Marked as possibly not an answer, before its quotes: the question's own word is in no article.
    caveat = re.search(r'<p class="answer-caveat">(.*?)</p>', page, re.DOTALL)
    assert caveat
    assert caveat.group(1).startswith("<strong>These sentences may not answer your question.</strong>")
    assert "No article of this story uses the word “hike” from your question" in caveat.group(1)
    assert page.index('class="answer-caveat"') < page.index('<ul class="quotes">', page.index('id="answer"'))

    refused = story_ask(story_id=fare_story.pk, question="Has the federal government approved the fare increase?")
    assert not refused.is_supported
    assert refused.related, "what the coverage does say is shown apart"
    # The refusal says why: what the question asks is in no article.
    page = client.post(
        f"/stories/{fare_story.pk}/ask/",
        {"question": "Has the federal government approved the fare increase?"},
        follow=True,
    ).content.decode()
    assert "No article of this story uses the words “federal”, “government” from your question." in page


def test_with_the_answer_model_off_the_word_rules_decide(fare_story: Story, settings: Any) -> None:
    settings.NEWSROOM_ASK_CROSS_ENCODER = "off"

    answer = story_ask(story_id=fare_story.pk, question="How much will the monthly pass cost?")

    assert answer.is_supported
    assert "$95" in answer.quotes[0].text
    assert not story_ask(story_id=fare_story.pk, question="Did the governor veto the fare increase?").is_supported


def test_a_vote_against_is_found_in_other_words() -> None:
    """ "Who voted against ...?" is answered by the dissenting votes, not by the vote that passed it."""
    sentences = [
        "The board voted 5-2 on Friday to raise the fare.",
        "Board members Luis Ferreira and Janet Hollis cast the two dissenting votes.",
    ]
    matrix = np.array([[1.0, 0.0], [0.8, 0.6]], dtype=np.float32)
    question = np.array([0.9, 0.436], dtype=np.float32)

    passages = passages_retrieve(
        "Who voted against the fare increase?",
        question,
        sentences,
        matrix,
        min_similarity=0.4,
        min_coverage=0.5,
        count=3,
    )

    assert 1 in [passage.row for passage in passages]
    assert content_words("Who opposed it?") == content_words("They dissented.") == {"against"}
    # "fare" is what is asked about, though its stem is that of "how far".
    assert asked_words("How far did the fare rise?") == {"far", "ris"}


def test_a_who_question_ranks_first_the_sentence_that_names_people() -> None:
    sentences = ["The board voted 5-2 to raise the fare.", "Luis Ferreira and Janet Hollis voted against the fare."]
    # The vote that passed is the closer sentence: only what the question asks for puts the names first.
    matrix = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    question = np.array([0.9, 0.436], dtype=np.float32)
    labels = [frozenset({"CARDINAL"}), frozenset({"PERSON"})]

    def rows(question_text: str) -> list[int]:
        found = passages_retrieve(
            question_text, question, sentences, matrix, min_similarity=0.4, min_coverage=0.3, count=3, labels=labels
        )
        return [passage.row for passage in found]

    assert rows("Who voted on the fare?") == [1, 0]
    assert rows("How did the board vote on the fare?") == [0, 1]
    assert answer_labels("When does it start?") == {"DATE", "TIME"}
    assert answer_labels("What happened?") == frozenset()


def test_a_who_question_quotes_only_the_sentences_naming_people_when_one_answers() -> None:
    vote, dissent, hearing = (
        Passage(row=row, similarity=0.5, coverage=0.0, score=score) for row, score in ((0, 0.9), (1, 0.4), (2, 0.6))
    )

    # The vote that passed is the more probable, but it names nobody: the dissenters' sentence is the answer.
    assert passages_typed([vote, hearing, dissent], [0, 1, 2], [False, True, False]) == [dissent]
    # When no answer names what is asked for, the answers stand.
    assert passages_typed([vote, hearing], [0, 1, 2], [False, True, False]) == [vote, hearing]


def test_a_person_is_a_name_of_two_words_found_in_full_or_by_the_last() -> None:
    from stories.ask import _entity_labels

    entities = [
        {"text": "Priya Raman", "label": "PERSON"},
        {"text": "Riverton", "label": "PERSON"},  # the small spaCy model's slip: the city
        {"text": "Riverton Metropolitan Transit Authority", "label": "ORG"},
    ]
    sentences = [
        "Fares cover 27 percent of costs, Raman said.",
        "The last fare increase in Riverton took effect in 2019.",
        "The Riverton Metropolitan Transit Authority board voted.",
        "Priya Raman spoke first.",
        "Ramanujan was a mathematician.",
    ]

    persons = ["PERSON" in labels for labels in _entity_labels(sentences, entities)]

    assert persons == [True, False, False, True, False]
    assert "ORG" in _entity_labels(sentences, entities)[2]


def test_who_voted_against_is_answered_with_the_dissenters(
    outlets_by_side: dict[str, Outlet], story_vector: np.ndarray[Any, Any]
) -> None:
    """The real answer model and rules: the demo's "Who voted against the fare increase?"."""
    story = encoded_story_build(
        "Dissent story",
        {
            "left": [
                "The Riverton transit board voted 5-2 late Friday to raise the base fare from $2.25 to $2.75.",
                "Riders who packed the hearing were overwhelmingly opposed to the increase.",
            ],
            "center": [
                "Board members Luis Ferreira and Janet Hollis voted no on the fare increase.",
                "The new fare takes effect on January 4.",
            ],
            "right": ["The authority faces a $38 million budget gap.", "The monthly pass will climb from $80 to $95."],
        },
        outlets_by_side,
        story_vector,
    )
    ArticleAnalysis.objects.filter(article__title="Dissent story (center)").update(
        entities=[
            {"text": "Luis Ferreira", "label": "PERSON", "count": 1},
            {"text": "Janet Hollis", "label": "PERSON", "count": 1},
        ]
    )

    answer = story_ask(story_id=story.pk, question="Who voted against the fare increase?")

    assert answer.is_supported
    # The vote that passed and the riders' opposition are as probable to the model, and name nobody.
    assert [quote.text for quote in answer.quotes] == [
        "Board members Luis Ferreira and Janet Hollis voted no on the fare increase."
    ]


def test_it_measures_ask_on_a_question_file(fare_story: Story, tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [
        {"story_title": "Fare story", "question": "When does the new fare take effect?", "answer": "January 4"},
        {
            "url": Article.objects.get(title="Fare story (left)").url,
            "question": "What was the transit board's vote on the bus fare?",
            "answer": "5-2",
        },
        # Answered, but not with what the file expects: a miss.
        {"story_title": "Fare story", "question": "How much will the monthly pass cost?", "answer": "$3.00"},
        # Answered in other words: marked on the page as possibly not an answer ("hike" is in no article).
        {"story_title": "Fare story", "question": "Why did the transit board hike the fare?", "answer": "$38 million"},
        {"story_title": "Fare story", "question": "Who won the football match?", "unanswerable": True},
    ]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows))
    out = io.StringIO()

    call_command("evaluate_ask", str(path), stdout=out)

    assert "Answerable: 3/4 = 0.750 whose returned sentences contain the answer" in out.getvalue()
    assert "Unanswerable: 1/1 = 1.000 refused" in out.getvalue()
    assert "Answerable: answered 3, refused 0, wrong 1; of the 4 answers given, 1 marked as possibly not one" in (
        out.getvalue()
    )
    assert "Unanswerable: answered 0, refused 1, wrong 0; of the 0 answers given, 0 marked as possibly not one; " in (
        out.getvalue()
    )
    assert not StoryQuestion.objects.exists()
    path.write_text(json.dumps({"story_title": "Fare story", "question": "Why?"}))
    with pytest.raises(CommandError, match='a row needs an answer, or "unanswerable", "related_only" or "broad"'):
        call_command("evaluate_ask", str(path), stdout=out)


# --- The FAQ: nothing a reader types is published by itself -------------------------------------


def test_it_answers_questions_written_from_the_story_itself_each_with_citations(
    client: Client, fare_story: Story
) -> None:
    html = client.get(f"/stories/{fare_story.pk}/").content.decode()

    faq = re.search(r'<dl class="faq faq-generated".*?</dl>', html, re.DOTALL)
    assert faq, "no FAQ written from the story"
    questions = re.findall(r"<dt>(.*?)</dt>", faq.group(0))
    assert questions[:2] == ["What happened?", "When did it happen?"]
    for answer in re.findall(r"<dd>(.*?)</dd>", faq.group(0), re.DOTALL):
        items = re.findall(r"<li>(.*?)</li>", answer, re.DOTALL)
        assert items
        assert all('<a class="cite" href="#article-' in item for item in items)
    assert "First reported on" in faq.group(0)


def test_the_faq_does_not_tell_the_story_s_dates_in_a_loaded_headline(client: Client, fare_story: Story) -> None:
    """ "When did it happen?" cites the first and latest articles; a headline the loaded-language model
    flagged is not quoted there (the article is cited by its outlet alone)."""
    articles = list(Article.objects.filter(membership__cluster_id=fare_story.pk))
    loaded = articles[0]
    ArticleAnalysis.objects.filter(article=loaded).update(loaded_sentences=[{"headline": True, "words": []}])

    html = client.get(f"/stories/{fare_story.pk}/").content.decode()

    faq = re.search(r'<dl class="faq faq-generated".*?</dl>', html, re.DOTALL)
    assert faq
    when = re.search(r"<dt>When did it happen\?</dt>\s*<dd>(.*?)</dd>", faq.group(0), re.DOTALL)
    assert when
    items = re.findall(r"<li>(.*?)</li>", when.group(1), re.DOTALL)
    assert items
    assert all('<a class="cite" href="#article-' in item for item in items)
    assert loaded.title not in when.group(1)
    assert any(article.title in when.group(1) for article in articles[1:]), "the others' headlines are quoted"


def test_the_faq_does_not_tell_the_story_s_dates_in_a_headline_with_a_charged_word(
    client: Client, fare_story: Story
) -> None:
    """Nor a headline the model did not flag, with a word the page's own wording avoids."""
    articles = list(Article.objects.filter(membership__cluster_id=fare_story.pk))
    for article in articles:
        Article.objects.filter(pk=article.pk).update(title=f"Disastrous Fare Hike Squeezes Riders ({article.pk})")

    html = client.get(f"/stories/{fare_story.pk}/").content.decode()

    when = re.search(r"<dt>When did it happen\?</dt>\s*<dd>(.*?)</dd>", html, re.DOTALL)
    assert when
    assert "First reported on" in when.group(1)
    assert "Disastrous" not in when.group(1)


def test_a_loaded_question_is_never_published_as_asked(client: Client, fare_story: Story) -> None:
    loaded = "Why did the corrupt transit board raise the bus fare?"
    for _ in range(4):
        client.post(f"/stories/{fare_story.pk}/ask/", {"question": loaded})
    question = StoryQuestion.objects.get(story=fare_story)
    assert question.count == 4
    assert question.is_supported
    assert loaded not in client.get(f"/stories/{fare_story.pk}/").content.decode()

    with pytest.raises(ValidationError, match="corrupt"):
        story_question_review(question_id=question.pk, approve=True, actor=None)
    with pytest.raises(ValidationError, match="corrupt"):
        story_question_review(question_id=question.pk, approve=True, actor=None, wording="Was the corrupt board paid?")
    question.refresh_from_db()
    assert question.review == StoryQuestion.Review.PENDING

    story_question_review(
        question_id=question.pk, approve=True, actor=None, wording="Why did the board raise the fare?"
    )

    html = client.get(f"/stories/{fare_story.pk}/").content.decode()
    assert "<dt>Why did the board raise the fare?</dt>" in html
    assert loaded not in html
    assert "corrupt" not in html


def test_a_question_the_coverage_does_not_answer_cannot_be_approved(client: Client, fare_story: Story) -> None:
    client.post(f"/stories/{fare_story.pk}/ask/", {"question": "Who won the football match?"})
    question = StoryQuestion.objects.get(story=fare_story)

    with pytest.raises(ValidationError, match="does not answer it with citations"):
        story_question_review(question_id=question.pk, approve=True, actor=None)

    rejected = story_question_review(question_id=question.pk, approve=False, actor=None)
    assert rejected.review == StoryQuestion.Review.REJECTED
    assert "Who won the football match?" not in client.get(f"/stories/{fare_story.pk}/").content.decode()


@pytest.mark.parametrize("question", ["What happened?", "What is this about?", "Why does it matter?"])
def test_it_answers_a_broad_question_with_the_cited_overview_in_headed_sections(
    client: Client, fare_story: Story, question: str
) -> None:
    answer = story_ask(story_id=fare_story.pk, question=question)

    assert answer.is_supported
    assert answer.sections[0].heading == "What happened"
    assert all(quote.number >= 1 for section in answer.sections for quote in section.quotes)
    html = client.post(f"/stories/{fare_story.pk}/ask/", {"question": question}).content.decode()
    assert "<h4>What happened</h4>" in html


def test_a_broad_answer_quotes_each_sentence_once(left_outlet: Outlet) -> None:
    """A story one outlet covered has its overview's sentences among its one-sided facts: the demo's
    looting story answered "What happened?" with its first sentence twice."""
    story_vector = unit_vector(1)
    article = analysed_article_make(
        outlet=left_outlet,
        title="Looters strike",
        vector=story_vector,
        published_at=STORY_TIME,
        sentences=["Looters moved in as floodwater filled homes.", "Police arrested 11 people overnight."],
    )
    story = story_build([article])

    answer = story_ask(story_id=story.pk, question="What happened?")

    texts = [quote.text for quote in answer.quotes]
    assert answer.is_supported
    assert texts
    assert len(texts) == len(set(texts))


def test_it_says_when_the_coverage_does_not_answer_and_shows_related_facts_apart(
    client: Client, fare_story: Story
) -> None:
    answer = story_ask(story_id=fare_story.pk, question="Did the governor veto the fare increase?")

    assert not answer.is_supported
    assert answer.quotes == []
    assert answer.related, "the fare sentences are on the topic"
    html = client.post(
        f"/stories/{fare_story.pk}/ask/", {"question": "Did the governor veto the fare increase?"}
    ).content.decode()
    assert '<p class="refusal">The coverage of this story does not answer that question.</p>' in html
    assert "Not an answer: what the coverage does say on this topic" in html


def test_a_question_with_one_word_in_other_words_is_answered_with_a_cited_quote(storm_story: Story) -> None:
    # Nobody "took" anything in the coverage: the residents "spent the night" in shelters.
    answer = story_ask(story_id=storm_story.pk, question="How many residents took shelter after the storm?")

    assert answer.is_supported
    best = answer.quotes[0]
    left = Article.objects.get(title="Storm story (left)")
    assert (best.text, best.article_id, best.number, best.side) == (STORM_SENTENCES["left"][0], left.pk, 1, "left")


def test_a_question_the_coverage_answers_only_in_part_stays_refused(
    client: Client, storm_story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The governor requested a declaration; nothing says it was approved: refused, the request shown apart."""
    question = "Has the federal government approved the disaster declaration?"
    judged: list[str] = []
    probabilities = stories.ask.answer_probabilities
    monkeypatch.setattr(
        stories.ask,
        "answer_probabilities",
        lambda judge, asked, sentences: judged.append(asked) or probabilities(judge, asked, sentences),
    )

    answer = story_ask(story_id=storm_story.pk, question=question)

    # A yes-or-no question with a word no article uses is refused whatever the answer model says: it is not run.
    assert judged == []

    assert not answer.is_supported
    assert answer.quotes == []
    assert answer.related[0].text == STORM_SENTENCES["center"][0]
    html = client.post(f"/stories/{storm_story.pk}/ask/", {"question": question}).content.decode()
    assert '<p class="refusal">The coverage of this story does not answer that question.</p>' in html
    assert "Not an answer: what the coverage does say on this topic" in html


@pytest.mark.parametrize(
    "question",
    [
        "How many cots were the volunteers short of?",
        "When will power be restored to the homes?",
        "When did the storm knock out power?",
    ],
)
def test_a_question_asking_for_a_value_is_refused_when_no_sentence_found_states_one(
    storm_story: Story, monkeypatch: pytest.MonkeyPatch, question: str
) -> None:
    """The answer model finds the sentence on the question's topic probable (0.77 to 0.99), but it states no
    number or date: refused, the sentence shown apart as what the coverage does say."""
    best: list[float] = []
    probabilities = stories.ask.answer_probabilities

    def spied(judge: Any, asked: str, sentences: list[str]) -> Any:
        found = probabilities(judge, asked, sentences)
        best.append(float(max(found)))
        return found

    monkeypatch.setattr(stories.ask, "answer_probabilities", spied)

    answer = story_ask(story_id=storm_story.pk, question=question)

    assert best[0] >= django_settings.NEWSROOM_ASK_MIN_ANSWER_PROBABILITY, "the model alone would have answered"
    assert not answer.is_supported
    assert answer.quotes == []
    assert answer.related[0].text in (STORM_SENTENCES["left"][1], STORM_SENTENCES["center"][1])
    kind = "a number" if question.startswith("How many") else "a date or a time"
    assert answer.refusal_detail == f"None of the sentences closest to it states {kind}."


def test_what_a_question_asks_for_is_read_from_the_word_that_opens_it_or_a_clause() -> None:
    assert answer_labels("In what year did the court rule?") == {"DATE"}
    assert answer_labels("According to the report, how many died?") == {"CARDINAL", "QUANTITY", "PERCENT", "MONEY"}
    # A "when" or "who" further on opens a clause about something else.
    assert answer_labels("What share of the town's tax revenue will disappear when the mill shuts?") == frozenset()
    assert answer_labels("What did the man who found the wreck say?") == frozenset()
    # "How much" asks for a sum, unless it asks for a change, more time or notice: then any value.
    # A cost, a payment or a fee is a sum, not a share ("costs 40 percent more to run").
    assert answer_labels("How much will the closure cost the town in tax revenue?") == {"MONEY"}
    assert answer_labels("How much cargo could a cog hold?") == {"MONEY", "QUANTITY", "PERCENT"}
    assert "CARDINAL" in answer_labels("By how much did the pill cut hospitalizations?")
    assert "TIME" in answer_labels("How much longer would each school day be?")
    assert "DATE" in answer_labels("How much advance warning must the union give?")
    assert question_wants_value("How long is the new bridge?")
    assert not question_wants_value("Who voted against the fare increase?")
    assert not question_wants_value("Where did the storm make landfall?")
    assert value_labels("The drug would cost 4,200 crowns for a seven-day course.") >= {"MONEY"}
    assert "CARDINAL" in value_labels("The pill halved the risk of hospitalization.")
    assert "DATE" in value_labels("Historians date its beginning to 330, when Constantine dedicated the city.")


def test_a_question_about_what_someone_said_is_answered_only_by_their_words() -> None:
    pool = [
        "Vance said residents on fixed incomes could not absorb another tax increase.",
        "Council member Tomas Quill voted against the bond.",
        '"We cannot keep asking residents to pay more," Quill told reporters.',
    ]
    other, named, spoken = (Passage(row=row, similarity=0.5, coverage=0.0, score=0.9) for row in range(3))

    assert question_speaker("What did council member Tomas Quill say about tax increases?") == ["Quill"]
    # Someone else's words on the topic, or the speaker named without words of theirs, do not answer.
    assert passages_spoken("What did Tomas Quill say about tax increases?", [other, named, spoken], pool) == [spoken]
    assert passages_spoken("What did Tomas Quill say about tax increases?", [other, named], pool) == []
    assert passages_spoken("Why did the council raise taxes?", [other, named], pool) == [other, named]
    assert question_speaker("How did Korvath's foreign ministry describe the sanctions?") == [
        "Korvath",
        "foreign ministry",
    ]
    # A text says things without a verb of speech; a speaker the question does not name is anyone's.
    assert question_speaker("What does the Treaty of Paris say about the borders?") == []
    assert question_speaker("What did the board say about the fare?") == []


def library_bond_story(outlets: dict[str, Outlet], near: np.ndarray[Any, Any], center: str) -> Story:
    """A council's library bond, in which Tomas Quill is named by the left and the center says ``center``."""
    return encoded_story_build(
        "Library bond",
        {
            "left": ["Council members Harriet Vance and Tomas Quill voted against the library bond."],
            "center": [center],
            "right": ["The council voted 5-2 to put a $38 million library bond on the November ballot."],
        },
        outlets,
        near,
    )


def test_a_question_about_what_someone_said_is_refused_when_no_article_gives_their_words(
    outlets_by_side: dict[str, Outlet], story_vector: np.ndarray[Any, Any]
) -> None:
    story = library_bond_story(
        outlets_by_side, story_vector, "Vance said residents on fixed incomes could not absorb another tax increase."
    )

    answer = story_ask(story_id=story.pk, question="What did Tomas Quill say about tax increases?")

    assert not answer.is_supported
    assert answer.refusal_detail == "No article of this story gives Quill's words on it."
    assert "Vance said residents on fixed incomes could not absorb another tax increase." in [
        quote.text for quote in answer.related
    ]


def test_a_speaker_s_words_on_something_else_do_not_answer_what_they_said_about_the_topic(
    outlets_by_side: dict[str, Outlet], story_vector: np.ndarray[Any, Any]
) -> None:
    story = library_bond_story(
        outlets_by_side,
        story_vector,
        "Quill said the town should renovate the existing library building rather than demolish it.",
    )

    assert question_speaker_topic("What did Tomas Quill say about tax increases?") == "tax increases"
    # The model finds Quill's sentence answers the question (0.3 or more), but not that it says anything
    # of the bond's cost (0.04, the speaker left out): refused.
    off_topic = story_ask(story_id=story.pk, question="What did Tomas Quill say about the bond's cost?")
    on_topic = story_ask(story_id=story.pk, question="What did Tomas Quill say about the library building?")

    assert not off_topic.is_supported
    assert off_topic.refusal_detail == "No article of this story gives Quill's words on it."
    assert on_topic.is_supported
    assert [quote.text for quote in on_topic.quotes] == [
        "Quill said the town should renovate the existing library building rather than demolish it."
    ]


def test_a_question_about_what_someone_said_by_role_prefers_their_words() -> None:
    pool = [
        'Millbrook Mayor Frank Ostrowski called the announcement "a gut punch".',
        "Workers said that undercuts the company's claim that the plant costs too much.",
        "Halvorsen said the plant costs 40 percent more to run than its newer ones.",
    ]
    mayor, workers, company = (Passage(row=row, similarity=0.5, coverage=0.0, score=0.9) for row in range(3))

    assert question_role("What did the mayor say about the plant?") == "mayor"
    assert passages_spoken("What did the mayor say about the plant?", [workers, mayor, company], pool) == [mayor]
    # The company quoted by its name: none of its sentences says "company", so the model's answers stand.
    assert passages_spoken("What did the company say about the costs?", [company], pool) == [company]
    # A role the story never uses is no veto, as a name is: "the defense" may be "Esterhaus's attorney".
    assert not question_asks_unnamed_speaker("What did the defense claim the auditors had done?", ["defense"])


def test_a_missing_word_is_forgiven_only_where_the_sentence_names_what_is_asked() -> None:
    pool = [
        "About 1,800 residents spent the night in shelters after the storm.",
        "Residents in the shelters described the storm as frightening.",
        "The governor requested a federal disaster declaration.",
    ]
    labels = [value_labels(sentence) for sentence in pool]
    found = [Passage(row=row, similarity=0.6, coverage=0.75, score=0.8) for row in range(len(pool))]

    # "took" is nowhere in the story: only the sentence that names a number answers "how many".
    assert [passage.row for passage in passages_answering("How many residents took shelter?", found, pool, labels)] == [
        0
    ]
    # Nothing in the story names a person: "who" is not answered by a number.
    assert passages_answering("Who took the residents to shelter?", found, pool, labels) == []
    # A yes-or-no question asks for no kind of value: its missing word is what it asks.
    assert (
        passages_answering("Has the federal government approved the disaster declaration?", found, pool, labels) == []
    )
    # Two words missing are not forgiven, nor one of two.
    assert passages_answering("How many residents took buses to shelter?", found, pool, labels) == []
    assert passages_answering("How many drowned residents?", found, pool, labels) == []
    # Every word in the story: every passage found.
    assert passages_answering("How many residents were in shelters?", found, pool, labels) == found


def test_it_reads_the_kind_of_value_a_sentence_states() -> None:
    assert value_labels("The fare rises to $2.75 on January 4.") == {"MONEY", "CARDINAL", "DATE"}
    assert value_labels("Tests are due no later than 72 hours before the flight.") == {"CARDINAL", "TIME"}
    assert value_labels("Support fell 5 percent in 2021.") == {"CARDINAL", "PERCENT", "DATE"}
    # A modal verb is not the month, nor a name with digits a number.
    assert value_labels("It may rain, officials said of the COVID-19 rules and the G7 summit.") == frozenset()
    # Years before 1800 where the words around make them years; not a count of things.
    assert "DATE" in value_labels("Tensions culminated in the Great Schism of 1054.")
    assert "DATE" in value_labels("The cave temples at Dunhuang, begun in 366, eventually held thousands.")
    assert "DATE" in value_labels("Justinian I reigned from 527 to 565.")
    assert "DATE" in value_labels("By the middle of the 14th century the associations had become a league.")
    assert "DATE" not in value_labels("A fleet of 300 ships sailed.")
    assert "DATE" not in value_labels("Nobles seized a shipment of about 360 kilograms.")
    # A number with a unit is a quantity ("How much cargo could a cog hold?").
    assert value_labels("Cogs had a capacity of up to 200 tons.") == {"CARDINAL", "QUANTITY"}
    assert "QUANTITY" not in value_labels("The board voted 5-2 in favour.")
    assert answer_labels("How soon must travellers be tested?") == {"DATE", "TIME"}
    assert "soon" not in asked_words("How soon must travellers be tested?")


def test_a_web_process_loads_the_encoder_when_it_starts(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    import importlib

    import newsroom.warmup
    import newsroom.wsgi

    loaded: list[str] = []
    monkeypatch.setattr(newsroom.warmup, "models_warm", lambda: loaded.append("encoder"))
    started: list[Any] = []
    real_start = newsroom.warmup.models_warm_start
    monkeypatch.setattr(newsroom.warmup, "models_warm_start", lambda: started.append(real_start()))

    settings.NEWSROOM_WARM_MODELS = True
    importlib.reload(newsroom.wsgi)  # what runserver and gunicorn import to serve
    started[0].join(5)
    assert loaded == ["encoder"]

    settings.NEWSROOM_WARM_MODELS = False
    importlib.reload(newsroom.wsgi)
    assert started[1] is None


def test_a_curator_approves_a_question_in_the_admin_queue_under_a_neutral_wording(
    client: Client, fare_story: Story, django_user_model: Any
) -> None:
    from django.contrib.auth.models import Group

    curator = django_user_model.objects.create_user("curator", "curator@newsroom.example", "pw", is_staff=True)
    curator.groups.add(Group.objects.get(name="curator"))
    loaded = "Why did the corrupt transit board raise the bus fare?"
    client.post(f"/stories/{fare_story.pk}/ask/", {"question": loaded})
    question = StoryQuestion.objects.get(story=fare_story)
    client.force_login(curator)
    queue = client.get("/admin/stories/storyquestion/")
    assert queue.status_code == 200
    assert loaded in queue.content.decode()

    action = {"action": "approve_selected", "_selected_action": [question.pk]}
    refused = client.post("/admin/stories/storyquestion/", action, follow=True).content.decode()
    assert "Loaded or accusing words (corrupt)" in refused
    question.refresh_from_db()
    assert question.review == StoryQuestion.Review.PENDING

    change = f"/admin/stories/storyquestion/{question.pk}/change/"
    client.post(change, {"published_question": "Why did the transit board raise the fare?"})
    client.post("/admin/stories/storyquestion/", action)

    question.refresh_from_db()
    assert (question.review, question.reviewed_by) == (StoryQuestion.Review.APPROVED, curator)
    client.logout()
    html = client.get(f"/stories/{fare_story.pk}/").content.decode()
    assert "<dt>Why did the transit board raise the fare?</dt>" in html
    assert "corrupt" not in html
