"""Ask: a reader's question answered only with quotes from the story's own articles, or refused.

Nothing is generated: the answer is the sentences that support it, each cited to its
article. Every question is logged (StoryQuestion) so the often-asked, supported ones
become the story's FAQ.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Field
from django.shortcuts import get_object_or_404
from django.utils import timezone

from analysis.models import ArticleAnalysis
from analysis.nlp.answer import (
    Passage,
    answer_labels,
    answer_vetoed,
    content_words,
    passages_answering,
    passages_candidates,
    passages_judged,
    passages_retrieve,
    passages_spoken,
    passages_typed,
    question_normalise,
    question_speaker,
    question_speaker_topic,
    question_wants_value,
    value_asked,
    value_labels,
    words_missing,
)
from analysis.nlp.answer_cross import answer_cross_encoder, answer_probabilities
from analysis.nlp.same_claim_cross import CrossEncoder
from analysis.services import encoder_configured
from clustering.models import Membership
from stories.models import Story, StoryQuestion

logger = logging.getLogger(__name__)

REFUSAL = "The coverage of this story does not answer that question."
# A speaker's quote is dropped when the answer model finds it this unlikely to say anything of the topic
# asked about: only near-certain mismatches (docs/models.md, Ask, session 17).
SPEAKER_TOPIC_MIN_PROBABILITY = 0.05


@dataclass(frozen=True)
class Quote:
    text: str
    article_id: int
    number: int
    outlet: str
    side: str | None
    score: float


@dataclass(frozen=True)
class AnswerSection:
    """A short headed part of an answer to a broad question, each sentence quoted and cited."""

    heading: str
    quotes: list[Quote]


@dataclass
class AskAnswer:
    question: str
    is_supported: bool
    refusal_reason: str = ""
    # Why the sentences closest to the question do not answer it, when a rule can say: "None of the
    # sentences closest to it states a sum."
    refusal_detail: str = ""
    quotes: list[Quote] = field(default_factory=list)
    # A broad question ("What happened?") is answered with the story's overview, in headed sections;
    # ``quotes`` then holds the same quotes in order.
    sections: list[AnswerSection] = field(default_factory=list)
    # When the coverage does not answer: what it does say on the question's topic, shown as not an answer.
    related: list[Quote] = field(default_factory=list)
    # Words of the question that no article of the story uses: shown beside an answer, so a reader
    # can tell whether the quotes answer the question as asked.
    missing_words: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def question_clean(question: object) -> str:
    """The question with its spaces tidied; raises ValidationError when empty or too long."""
    if not isinstance(question, str):
        raise ValidationError("The question must be text.", code="invalid")
    cleaned = " ".join(question.split())
    if not cleaned:
        raise ValidationError("Please type a question.", code="empty")
    limit = settings.NEWSROOM_ASK_MAX_CHARS
    if len(cleaned) > limit:
        raise ValidationError(
            f"Questions are limited to {limit} characters (this one has {len(cleaned)}).", code="too_long"
        )
    return cleaned


# The web process loads the encoder in a background thread at start (newsroom.warmup): a question
# asked meanwhile waits for that load instead of starting a second one.
_ENCODER_LOAD = threading.Lock()


def ask_int8() -> bool:
    """Whether Ask encodes questions with the encoder's 8-bit graph (NEWSROOM_ASK_INT8, on the ONNX backend
    only; the answer model stays in float)."""
    return settings.NEWSROOM_ASK_INT8 and settings.NEWSROOM_ENCODER_BACKEND == "onnx"


def question_encode(question: str) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The question's unit vector from the same encoder the articles' sentences went through (and backend;
    with ``ask_int8``, its graph with 8-bit weights: the vector within cosine 0.99 of the float one's)."""
    with _ENCODER_LOAD:
        encoder = encoder_configured(int8=ask_int8())
    return np.asarray(encoder.encode([question]).vectors[0], dtype=np.float32)


def answer_judge() -> CrossEncoder | None:
    """The answer cross-encoder the settings name (NEWSROOM_ASK_CROSS_ENCODER), loaded once per process;
    None when it is "off" (the word rules of ``passages_retrieve`` and ``passages_answering`` decide)."""
    name = settings.NEWSROOM_ASK_CROSS_ENCODER
    if name == "off":
        return None
    with _ENCODER_LOAD:
        return answer_cross_encoder(
            name,
            settings.NEWSROOM_EMBEDDING_MODEL,
            settings.NEWSROOM_ENCODER_BACKEND,
            settings.NEWSROOM_ENCODER_ONNX_DIR,
        )


# The sentences, their vectors, (article, citation number) of each, and the labels of the article's
# entities each sentence names (PERSON, DATE, ...).
StorySentences = tuple[list[str], np.ndarray[Any, Any], list[tuple[Any, int]], list[frozenset[str]]]


def _story_sentences(story: Story) -> StorySentences:
    """Every analysed sentence of the story's articles, their vectors, (article, citation number) of each,
    and the labels of the article's entities each sentence names.

    Kept in this process's memory by the story's version (its refresh and re-clustering times, as
    the story page's cache is): reading and decoding a 100-article story's 600 sentences and
    vectors was most of the time of a question, and a story's askers ask about the same sentences
    until it changes. A changed story has a new version, so what was kept is never stale.
    """
    return story_sentences_kept(story.pk, f"{story.refreshed_at}-{story.cluster.reclustered_at}")


# About 1 MB for a story of 100 articles: the stories asked about lately in each web process.
@functools.lru_cache(maxsize=32)
def story_sentences_kept(story_id: int, version: str) -> StorySentences:
    """The story's sentences; ``version`` only keys what is kept."""
    analyses = list(
        ArticleAnalysis.objects.filter(article__membership__cluster_id=story_id)
        .select_related("article__outlet")
        .only(
            "sentences",
            "sentence_embeddings",
            "entities",
            "article__id",
            "article__title",
            "article__published_at",
            "article__outlet__name",
            "article__outlet__lean",
        )
    )
    # Citation numbers follow the story page's article list: time order, then id.
    numbers = {
        pk: position
        for position, pk in enumerate(
            Membership.objects.filter(cluster_id=story_id)
            .order_by("article__published_at", "article__pk")
            .values_list("article_id", flat=True),
            start=1,
        )
    }
    sentences: list[str] = []
    rows: list[np.ndarray[Any, Any]] = []
    owners: list[tuple[Any, int]] = []
    labels: list[frozenset[str]] = []
    for analysis in analyses:
        if not analysis.sentences or not analysis.sentence_embeddings:
            continue
        rows.append(analysis.sentence_matrix)
        sentences.extend(analysis.sentences)
        owners.extend((analysis.article, numbers.get(analysis.article_id, 0)) for _ in analysis.sentences)
        labels.extend(_entity_labels(analysis.sentences, analysis.entities))
    matrix = np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
    return sentences, matrix, owners, labels


def _entity_labels(sentences: list[str], entities: object) -> list[frozenset[str]]:
    """For each sentence, the labels of the article's entities (as the analysis found them) it names,
    and those of the values it states (dates, numbers, sums: ``value_labels``).

    A person is a name of two words or more, named in full or by the last ("Raman said"): the small
    spaCy model tags a lone capitalised word as a person now and then ("Riverton", "Fares"), which
    would make every sentence naming the city answer "Who ...?".
    """
    known: list[tuple[re.Pattern[str], str]] = []
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict) or not entity.get("text"):
            continue
        text, label = str(entity["text"]), str(entity.get("label", ""))
        if label == "PERSON":
            words = text.split()
            if len(words) < 2:
                continue
            known.append((re.compile(rf"\b(?:{re.escape(text)}|{re.escape(words[-1])})\b"), label))
        else:
            known.append((re.compile(re.escape(text)), label))
    return [
        frozenset(label for pattern, label in known if pattern.search(sentence)) | value_labels(sentence)
        for sentence in sentences
    ]


# Words a question can have and still ask about the whole story: "Why does it matter?", "Any background?".
_BROAD_WORDS = content_words(
    "matter matters important importance significance summary summarise summarize overview "
    "background context main key point points gist explain basics about"
)
# The overview's parts in a broad answer, at most this many sentences each.
BROAD_OVERVIEW, BROAD_CLAIMS = 3, 2


def question_is_broad(question: str) -> bool:
    """True when the question names nothing in particular: it asks what the story is."""
    return content_words(question) <= _BROAD_WORDS


def _quote(text: str, owner: tuple[Any, int], score: float = 0.0) -> Quote:
    article, number = owner
    return Quote(
        text=text,
        article_id=article.pk,
        number=number,
        outlet=article.outlet.name,
        side=article.outlet.side,
        score=score,
    )


def _broad_answer(story: Story, question: str, owners: list[tuple[Any, int]]) -> AskAnswer:
    """The story's overview as the answer, in short headed sections of cited sentences (none generated)."""
    by_article = {owner[0].pk: owner for owner in owners}
    present = set(by_article)

    def cited(ids: list[Any]) -> tuple[Any, int] | None:
        """The first id's article (whose wording the sentence is) if still in the story, else the earliest."""
        if ids and isinstance(ids[0], int) and ids[0] in present:
            return by_article[ids[0]]
        known = [by_article[pk] for pk in ids if isinstance(pk, int) and pk in present]
        return min(known, key=lambda owner: owner[1]) if known else None

    overview = []
    for sentence in story.overview if isinstance(story.overview, list) else []:
        if not isinstance(sentence, dict):
            continue
        owner = cited([sentence.get("article"), *(sentence.get("citations") or [])])
        text = str(sentence.get("source") or "") if sentence.get("is_generated") else str(sentence.get("text") or "")
        if owner and text:
            overview.append(_quote(text, owner))
    by_sides: dict[int, list[Quote]] = {}
    for claim in story.claims if isinstance(story.claims, list) else []:
        if not isinstance(claim, dict) or not isinstance(claim.get("sides"), dict):
            continue
        sides = [ids for ids in claim["sides"].values() if isinstance(ids, list) and set(ids) & present]
        owner = cited([claim.get("article"), *(pk for ids in sides for pk in ids)])
        if owner and claim.get("text"):
            by_sides.setdefault(len(sides), []).append(_quote(str(claim["text"]), owner))
    sections = []
    shown: set[str] = set()
    for heading, candidates, limit in (
        ("What happened", overview, BROAD_OVERVIEW),
        ("Reported by every side", by_sides.get(3, []), BROAD_CLAIMS),
        ("Reported by one side only", by_sides.get(1, []), BROAD_CLAIMS),
    ):
        # A sentence already quoted above is not quoted again (a story one outlet covered has its
        # overview's sentences among its one-sided facts).
        quotes = [quote for quote in candidates if quote.text not in shown][:limit]
        shown.update(quote.text for quote in quotes)
        if quotes:
            sections.append(AnswerSection(heading, quotes))
    if not overview:
        return AskAnswer(question=question, is_supported=False, refusal_reason=REFUSAL)
    quotes = [quote for section in sections for quote in section.quotes]
    return AskAnswer(question=question, is_supported=True, quotes=quotes, sections=sections)


def story_answer(*, story: Story, question: str) -> AskAnswer:
    """The answer to an already cleaned question, without logging it.

    A broad question is answered with the overview. Otherwise the answer is the sentences that pass
    the thresholds (see passages_retrieve). When none does, the answer is a refusal, with the
    sentences on the question's topic that share some of its words as ``related``: what the coverage
    does say, never presented as the answer.
    """
    story_sentences = _story_sentences(story)
    sentences, _, owners, labels = story_sentences
    if not sentences:
        return AskAnswer(question=question, is_supported=False, refusal_reason=REFUSAL)
    if question_is_broad(question):
        return _broad_answer(story, question, owners)
    vector = question_encode(question)
    judge = answer_judge()
    if judge is not None:
        return _judged_answer(question, vector, story_sentences, judge)
    passages = _passages_by_words(question, vector, story_sentences)
    answering = passages_answering(question, passages, sentences, labels)
    if not answering:
        # What was found but does not answer as asked (a word of the question is nowhere in the
        # story) is shown apart; when nothing was found, the sentences on the topic, whatever their words.
        passages_related = passages or _passages_by_words(question, vector, story_sentences, min_coverage=0.0)
        related = [_quote(sentences[passage.row], owners[passage.row], passage.score) for passage in passages_related]
        return AskAnswer(question=question, is_supported=False, refusal_reason=REFUSAL, related=related)
    quotes = [_quote(sentences[passage.row], owners[passage.row], passage.score) for passage in answering]
    return AskAnswer(question=question, is_supported=True, quotes=quotes)


def _passages_by_words(
    question: str, vector: np.ndarray[Any, Any], story_sentences: StorySentences, *, min_coverage: float | None = None
) -> list[Passage]:
    """The sentences the word rules find for the question (``passages_retrieve`` with the settings' thresholds)."""
    sentences, matrix, _, labels = story_sentences
    return passages_retrieve(
        question,
        vector,
        sentences,
        matrix,
        min_similarity=settings.NEWSROOM_ASK_MIN_SIMILARITY,
        min_coverage=settings.NEWSROOM_ASK_MIN_COVERAGE if min_coverage is None else min_coverage,
        count=settings.NEWSROOM_ASK_QUOTES,
        labels=labels,
    )


@dataclass(frozen=True)
class Judged:
    """What the answer cross-encoder read for one question: the candidate sentences' rows, its probability
    that each answers, their cosine to the question, whether each names what the question asks for,
    and the question's words that the story (its sentences and headlines) never uses."""

    rows: list[int]
    probabilities: np.ndarray[Any, Any]
    similarity: np.ndarray[Any, Any]
    named: list[bool]
    missing: list[str]


def judged_candidates(
    question: str,
    vector: np.ndarray[Any, Any],
    story_sentences: StorySentences,
    judge: CrossEncoder,
    *,
    unless_vetoed: bool = False,
) -> Judged:
    """The sentences the answer cross-encoder reads for ``question``, and what it says of each (``Judged``).

    The candidates: the sentences closest to the question (``NEWSROOM_ASK_CANDIDATES``), those the
    word rules rank first (which the cosine alone can miss in a long story), and, for a question that
    asks for a person, a date or a number, the closest sentences that name one. ``unless_vetoed``:
    the model is not run for a question refused whatever it says (``answer_vetoed``); its
    probabilities are then all 0.
    """
    sentences, matrix, owners, labels = story_sentences
    titles = list(dict.fromkeys(owner[0].title for owner in owners))
    missing = words_missing(question, [*sentences, *titles])
    similarity = matrix @ vector
    floor = settings.NEWSROOM_ASK_MIN_SIMILARITY
    rows = passages_candidates(similarity, min_similarity=floor, count=settings.NEWSROOM_ASK_CANDIDATES)
    found = _passages_by_words(question, vector, story_sentences)
    rows += [passage.row for passage in found if passage.row not in rows]
    # "Who voted against the fare increase?" is answered by "... cast the two dissenting votes".
    wanted = answer_labels(question)
    if wanted:
        naming = [row for row in np.argsort(-similarity) if wanted & labels[row] and row not in rows]
        rows += [int(row) for row in naming[: settings.NEWSROOM_ASK_QUOTES] if similarity[row] >= floor]
    if unless_vetoed and answer_vetoed(question, missing):
        probabilities = np.zeros(len(rows), dtype=np.float32)
    else:
        probabilities = answer_probabilities(judge, question, [sentences[row] for row in rows])
    named = [bool(wanted & labels[row]) for row in rows]
    return Judged(rows=rows, probabilities=probabilities, similarity=similarity, named=named, missing=missing)


def _their_words(question: str, answering: list[Passage], sentences: list[str], judge: CrossEncoder) -> list[Passage]:
    """Of the answers, for a question about what someone said, those that give their words
    (``passages_spoken``) on what was asked: the model reads each such quote once more against the topic
    alone, the speaker left out, since a quote of Quill's on the library building answers "What did
    Quill say?" as well as it answers "What did Quill say about the bond's cost?". All of them for
    another question."""
    spoken = passages_spoken(question, answering, sentences)
    topic = question_speaker_topic(question)
    if not spoken or not topic:
        return spoken
    on_topic = answer_probabilities(
        judge, f"What was said about {topic}?", [sentences[passage.row] for passage in spoken]
    )
    return [
        passage
        for passage, probability in zip(spoken, on_topic, strict=True)
        if probability >= SPEAKER_TOPIC_MIN_PROBABILITY
    ]


def _judged_answer(
    question: str, vector: np.ndarray[Any, Any], story_sentences: StorySentences, judge: CrossEncoder
) -> AskAnswer:
    """The answer the answer cross-encoder gives: of the sentences closest to the question, those it
    judges to answer it; none, a refusal that shows the closest ones apart as what the coverage does say.

    Words of the question that the story (its sentences and headlines) never uses refuse a yes-or-no
    question, or one naming two things the story never mentions, whatever the model says
    (``answer_vetoed``); beside an answer they are listed, so the reader sees what the quotes do not say.
    """
    sentences, matrix, owners, _ = story_sentences
    judged = judged_candidates(question, vector, story_sentences, judge, unless_vetoed=True)
    rows, similarity, missing = judged.rows, judged.similarity, judged.missing
    answering = passages_judged(
        rows,
        judged.probabilities,
        similarity,
        matrix,
        min_probability=settings.NEWSROOM_ASK_MIN_ANSWER_PROBABILITY,
        count=len(rows),
        named=judged.named,
    )
    # A question that asks for a person, a date or a number is answered by the sentences naming one, when any does.
    answering = passages_typed(answering, rows, judged.named)
    spoken = _their_words(question, answering, sentences, judge)[: settings.NEWSROOM_ASK_QUOTES]
    detail = (
        f"No article of this story gives {question_speaker(question)[0]}'s words on it."
        if answering and not spoken
        else ""
    )
    answering = spoken
    # A question that asks for a date, a number or a sum is not answered by sentences stating none:
    # "How much would it cost to connect the homes?" of a story that says only that they would be connected.
    named = {row for row, names in zip(rows, judged.named, strict=True) if names}
    if answering and question_wants_value(question) and not any(passage.row in named for passage in answering):
        answering, detail = [], f"None of the sentences closest to it states {value_asked(question)}."
    if not answering or answer_vetoed(question, missing):
        related = [
            _quote(sentences[row], owners[row], round(float(similarity[row]), 4))
            for row in rows[: settings.NEWSROOM_ASK_QUOTES]
        ]
        return AskAnswer(
            question=question,
            is_supported=False,
            refusal_reason=REFUSAL,
            refusal_detail=detail,
            related=related,
            missing_words=missing,
        )
    quotes = [_quote(sentences[passage.row], owners[passage.row], passage.score) for passage in answering]
    return AskAnswer(question=question, is_supported=True, quotes=quotes, missing_words=missing)


# The answers to the questions asked lately in this process (a few KB each).
@functools.lru_cache(maxsize=2048)
def story_answer_kept(story: Story, version: str, question: str, *settings_in_force: object) -> AskAnswer:
    """``story_answer``, kept in this process by the story's version, the cleaned question and the settings it read.

    Readers of a story ask the same questions ("What happened?", the FAQ's): an answer depends only
    on the story's sentences, overview and claims (which change only with its version, as the kept
    sentences do) and on the question, so a question asked again is answered without encoding it.
    Every asking is still logged. The answer is shared between askers: nothing may change it.
    """
    return story_answer(story=story, question=question)


def story_question_log(*, story: Story, answer: AskAnswer) -> None:
    """Count one more asking of the question (by its normalised wording) and keep its latest answer.

    One statement, one round trip: an INSERT that, for a wording asked before (the common case),
    adds one to its count instead (ON CONFLICT on the one-row-per-wording constraint, which
    PostgreSQL and SQLite both run). Two askers of a new question at the same moment are both
    counted, and nothing is read back. It was an UPDATE, then an INSERT in a savepoint for a new
    wording: four round trips for a new question.
    """
    meta = StoryQuestion._meta
    now = timezone.now()
    values = {
        "story": story.pk,
        "question": answer.question[:300],
        "normalised": question_normalise(answer.question)[:300],
        "count": 1,
        "is_supported": answer.is_supported,
        "answer": answer.as_dict(),
        "first_asked_at": now,
        "last_asked_at": now,
        "review": StoryQuestion.Review.PENDING,
        "published_question": "",
    }
    fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in values]
    quote = connection.ops.quote_name
    table, column = quote(meta.db_table), {field.name: quote(str(field.column)) for field in fields}
    latest = ("is_supported", "answer", "last_asked_at")
    kept = ", ".join(f"{column[name]} = EXCLUDED.{column[name]}" for name in latest)
    sql = (
        f"INSERT INTO {table} ({', '.join(column.values())}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({column['story']}, {column['normalised']}) "
        f"DO UPDATE SET {column['count']} = {table}.{column['count']} + 1, {kept}"
    )
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@functools.lru_cache(maxsize=256)
def _story_as_of(story_id: int, version: str) -> Story:
    """The story's row as of ``version`` (a new version is a new key): what Ask reads of it, kept in this
    process. Raises Http404 (not kept) for a story no longer listed."""
    return get_object_or_404(
        Story.objects.listed()
        .select_related("cluster")
        .only("pk", "overview", "claims", "refreshed_at", "cluster__reclustered_at"),
        pk=story_id,
    )


def story_ask(*, story_id: int, question: str) -> AskAnswer:
    """Answer a reader's question about a story from its articles' sentences, and log it.

    Raises ValidationError for an empty or too long question and Http404 for an unknown story.
    The answer quotes sentences whose similarity to the question and shared words pass the
    calibrated thresholds; otherwise it is a refusal (is_supported False), never a guess.
    """
    from stories.selectors import story_version_format, story_version_times

    cleaned = question_clean(question)
    # The version first (kept by the process for NEWSROOM_VERSION_SECONDS), then the story as of it:
    # a question about a story asked about in the last moment reads nothing but the log's INSERT.
    version = story_version_format(story_version_times(story_id=story_id))
    story = _story_as_of(story_id, version)
    answer = story_answer_kept(
        story,
        version,
        cleaned,
        settings.NEWSROOM_ASK_MIN_SIMILARITY,
        settings.NEWSROOM_ASK_MIN_COVERAGE,
        settings.NEWSROOM_ASK_QUOTES,
        settings.NEWSROOM_ENCODER_BACKEND,
        settings.NEWSROOM_ASK_CROSS_ENCODER,
        settings.NEWSROOM_ASK_MIN_ANSWER_PROBABILITY,
        settings.NEWSROOM_ASK_CANDIDATES,
        ask_int8(),
    )
    story_question_log(story=story, answer=answer)
    logger.info("Asked about story %s (supported: %s): %r", story_id, answer.is_supported, cleaned)
    return answer
