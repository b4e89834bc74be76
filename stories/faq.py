"""The story's FAQ: questions written from the story itself, plus readers' questions a curator approved.

Nothing a reader types reaches the page by itself. The generated questions (what happened,
when, who is involved, what each side emphasises, what only one side reported) are answered
from the page's own cited values; a reader's question is shown only after a curator approves
it in the admin, under a neutral wording when the one asked is loaded. Every entry cites: an
entry left without a citation is not shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import dateformat, timezone

from analysis.nlp.tone import lexicon_words
from stories.models import StoryQuestion
from stories.pages import (
    CLAIM_KIND_ONE,
    Claim,
    FaqEntry,
    FaqQuote,
    OverviewSentence,
    SideColumn,
    StoryArticle,
    frame_label,
)

# Accusations a question can carry as if they were facts ("Why did corrupt X ...", "... took
# bribes?"): never published as asked, whatever the tone lexicon says of them.
ACCUSING_WORDS = frozenset(
    """
    corrupt corruption crook crooked crooks bribe bribes bribed bribery liar liars lie lied lies lying
    waste wasted wastes wasting squander squandered steal stole stolen stealing thief thieves scam scams
    scammed con conned cheat cheated cheating rigged traitor traitors treason incompetent idiot idiots
    stupid evil criminal criminals illegal illegally fraud fraudulent
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*")

OVERVIEW_SENTENCES = 3
ACTORS = 4
ONE_SIDE_CLAIMS = 4


def question_wording_problems(wording: str) -> list[str]:
    """The words that keep a question from being published as worded: loaded or accusing ones."""
    # Every charged word of the lexicon: a reader's wording is published only when it has none.
    found = [word for word in lexicon_words(wording) if word not in ACCUSING_WORDS]
    for word in _WORD.findall(wording):
        lower = word.lower().replace("\u2019", "'")
        if lower in ACCUSING_WORDS and lower not in found:
            found.append(lower)
    return found


@transaction.atomic
def story_question_review(
    *, question_id: int, approve: bool, actor: object | None, wording: str = "", now: datetime | None = None
) -> StoryQuestion:
    """A curator's decision on a reader's question: approve it for the FAQ, or reject it.

    Approval needs an answer that cites (a supported one) and a wording without loaded or accusing
    words: the question as asked, or ``wording`` (the curator's rewording, kept in
    ``published_question``). Raises ValidationError otherwise, and changes nothing.
    """
    question = StoryQuestion.objects.select_for_update().get(pk=question_id)
    wording = " ".join(wording.split()) or question.published_question
    if approve:
        if not question.is_supported:
            raise ValidationError("The coverage does not answer it with citations: it cannot join the FAQ.")
        problems = question_wording_problems(wording or question.question)
        if problems:
            raise ValidationError(
                "Loaded or accusing words (%(words)s): write a neutral wording before approving.",
                params={"words": ", ".join(problems)},
            )
    question.review = StoryQuestion.Review.APPROVED if approve else StoryQuestion.Review.REJECTED
    question.published_question = wording[:300]
    question.reviewed_by = actor if actor is not None and getattr(actor, "pk", None) else None  # type: ignore[assignment]
    question.reviewed_at = now or timezone.now()
    question.save(update_fields=["review", "published_question", "reviewed_by", "reviewed_at"])
    return question


# --- Questions written from the story itself -----------------------------------------------------


def _quote(text: str, article: StoryArticle, *, label: str = "") -> FaqQuote:
    return FaqQuote(text=text, article_id=article.id, number=article.number, outlet=article.outlet.name, label=label)


def _first(article_ids: Iterable[int | None], articles: Mapping[int, StoryArticle]) -> StoryArticle | None:
    """The article a quoted sentence is credited to: the first id (whose wording it is) when it is
    still in the story, else the earliest of the others that state the same."""
    article_ids = tuple(article_ids)
    ids = [pk for pk in article_ids if pk is not None and pk in articles]
    if not ids:
        return None
    own = next(iter(article_ids), None)
    if own is not None and own in articles:
        return articles[own]
    return min((articles[pk] for pk in ids), key=lambda article: article.number)


def _what_happened(overview: Sequence[OverviewSentence], articles: Mapping[int, StoryArticle]) -> list[FaqQuote]:
    quotes = []
    for sentence in overview:
        article = _first((sentence.article_id, *sentence.cited_article_ids), articles)
        if article is not None and not sentence.is_generated:
            quotes.append(_quote(sentence.text, article))
        if len(quotes) == OVERVIEW_SENTENCES:
            break
    return quotes


def _when(articles: Sequence[StoryArticle]) -> list[FaqQuote]:
    dated = [article for article in articles if article.published_at is not None and not article.is_syndicated]
    if not dated:
        return []
    first, last = dated[0], dated[-1]

    def day(article: StoryArticle) -> str:
        assert article.published_at is not None
        return dateformat.format(timezone.localtime(article.published_at), "j F Y")

    def headline(article: StoryArticle) -> str:
        # A headline the loaded-language model flagged, or one with a charged word the page's own wording
        # avoids ("Disastrous Plant Closure: ... Policies Drive 1,150 Jobs Out"), is not quoted as the
        # answer: the article is cited by its outlet alone, so the story's dates are not told in one
        # outlet's words.
        flagged = article.analysis is not None and bool(
            article.analysis.loaded_headline or article.analysis.quoted_headline
        )
        return "" if flagged or lexicon_words(article.title) else article.title

    quotes = [_quote(headline(first), first, label=f"First reported on {day(first)}")]
    if last.id != first.id:
        quotes.append(_quote(headline(last), last, label=f"Latest article on {day(last)}"))
    return quotes


def _sentences(
    overview: Sequence[OverviewSentence], columns: Sequence[SideColumn], claims: Sequence[Claim]
) -> list[tuple[str, tuple[int | None, ...]]]:
    """Every cited sentence the page shows, with the articles it cites: the overview's and the claims'
    first (worded for neutrality: several sides' facts, plain wording, no loaded language), then each
    side's own representative sentences."""
    found: list[tuple[str, tuple[int | None, ...]]] = [
        (sentence.text, (sentence.article_id, *sentence.cited_article_ids))
        for sentence in overview
        if not sentence.is_generated
    ]
    found.extend(
        (claim.text, (claim.article_id, *(pk for ids in claim.articles_by_side.values() for pk in ids)))
        for claim in claims
    )
    for column in columns:
        if column.viewpoint is not None:
            found.extend((sentence.text, (sentence.article_id,)) for sentence in column.viewpoint.summary)
    return found


def _who(
    columns: Sequence[SideColumn],
    sentences: Sequence[tuple[str, tuple[int | None, ...]]],
    articles: Mapping[int, StoryArticle],
) -> list[FaqQuote]:
    counts: dict[str, int] = {}
    for column in columns:
        if column.viewpoint is not None:
            for entity in column.viewpoint.entities:
                # Who: people, bodies and groups, not the places, laws or events the story names.
                if not entity.is_actor:
                    continue
                counts[entity.text] = counts.get(entity.text, 0) + entity.count
    # Each actor's first sentence naming it that no actor before it was quoted with, else its first one;
    # actors quoted with one sentence share it ("Calder Senate, House: ..."), so no sentence shows twice.
    named: dict[str, tuple[list[str], StoryArticle]] = {}
    found = 0
    for name in sorted(counts, key=lambda text: (-counts[text], text)):
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        naming = [
            (text, article)
            for text, cited in sentences
            if pattern.search(text) and (article := _first(cited, articles)) is not None
        ]
        if not naming:
            continue
        text, article = next(((text, article) for text, article in naming if text not in named), naming[0])
        named.setdefault(text, ([], article))[0].append(name)
        found += 1
        if found == ACTORS:
            break
    return [_quote(text, article, label=", ".join(names)) for text, (names, article) in named.items()]


def _emphasis(columns: Sequence[SideColumn], articles: Mapping[int, StoryArticle]) -> list[FaqQuote]:
    quotes = []
    for column in columns:
        viewpoint = column.viewpoint
        if viewpoint is None or not viewpoint.is_available:
            continue
        sentence = next((sentence for sentence in viewpoint.summary if _first((sentence.article_id,), articles)), None)
        if sentence is None:
            continue
        article = _first((sentence.article_id,), articles)
        assert article is not None
        distinctive = [frame.frame for frame in viewpoint.frames if frame.distinctive][:2]
        label = column.label
        if distinctive:
            label += ": more about " + " and ".join(frame_label(frame) for frame in distinctive) + " than other sides"
        elif viewpoint.frames:
            label += ": mostly " + frame_label(viewpoint.frames[0].frame)
        quotes.append(_quote(sentence.text, article, label=label))
    return quotes


def _one_side(claims: Sequence[Claim], articles: Mapping[int, StoryArticle]) -> list[FaqQuote]:
    quotes = []
    for claim in claims:
        if claim.kind != CLAIM_KIND_ONE or not claim.covering:
            continue
        side = next(entry for entry in claim.sides if entry.numbered)
        article = _first((citation.article_id for citation in side.numbered), articles)
        if article is not None:
            quotes.append(_quote(claim.text, article, label=f"Only the {side.label.lower()}"))
        if len(quotes) == ONE_SIDE_CLAIMS:
            break
    return quotes


def faq_generated(
    *,
    overview: Sequence[OverviewSentence],
    columns: Sequence[SideColumn],
    claims: Sequence[Claim],
    articles: Sequence[StoryArticle],
) -> tuple[FaqEntry, ...]:
    """The questions every story page answers from its own cited values; one without a citation is left out."""
    by_id = {article.id: article for article in articles}
    sentences = _sentences(overview, columns, claims)
    candidates = [
        ("What happened?", _what_happened(overview, by_id)),
        ("When did it happen?", _when(articles)),
        ("Who is involved?", _who(columns, sentences, by_id)),
        ("What does each side emphasise?", _emphasis(columns, by_id)),
        ("What did only one side report?", _one_side(claims, by_id)),
    ]
    return tuple(
        FaqEntry(question=question, quotes=tuple(quotes), is_generated=True)
        for question, quotes in candidates
        if quotes
    )
