"""Answering a reader's question from a story's own sentences: retrieval only, never generated text.

Pure functions over unit sentence vectors and the sentences' text; the caller supplies both
(the stored analyses) and the question's vector (the same encoder).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Matrix = np.ndarray[Any, np.dtype[np.float32]]

# Hyphenated words count by their parts: "25-year-old" answers "how old".
WORD = re.compile(r"[a-z0-9][a-z0-9'$.%]*[a-z0-9%]|[a-z0-9]")
# Words that say nothing about what is asked: a question sharing only these with a sentence
# has not been answered by it.
_STOP_TEXT = """
a about above after again all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our
out over own same she should so some such than that the their them then there these they this those through to
too under until up very was we were what when where which while who whom why will with would you your yours
say said says tell told according report reported story article news did does many much happen happened
happening going get got make made people thing things think new also
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
# Words are compared on their first letters once common endings are cut: "voted" and "vote",
# "workers" and "worker" agree; a longer prefix would split "effect" from "effective" less often
# than it would split a word from its own forms.
STEM_LENGTH = 5
SUFFIXES = ("ing", "ed", "es", "s")


def word_stem(word: str) -> str:
    """A crude stem, enough to match a question's words with a sentence's: no dictionary needed."""
    word = word.removesuffix("'s")
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3:
        word = word.rstrip("e")
    return word[:STEM_LENGTH]


# Words that take the "no" side of a vote or a decision count as one word: "Who voted against the
# fare increase?" is answered by "Ferreira and Hollis cast the two dissenting votes" (issue 20).
AGAINST = "against"
_AGAINST_STEMS = frozenset(
    word_stem(word)
    for word in """
    against oppose opposed opposes opposing opposition opponent opponents dissent dissented dissenting dissents
    dissenter dissenters reject rejected rejects rejecting objected objecting objection objections
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def content_words(text: str, *, skip: frozenset[str] = frozenset()) -> set[str]:
    """The question-bearing words of a text, lower case and stemmed, without stop words (nor ``skip``'s)."""
    words = (match.group().strip(".'") for match in WORD.finditer(text.lower().replace("\u2019", "'")))
    stems = {word_stem(word) for word in words if word and word not in STOP_WORDS and word not in skip}
    return {AGAINST if stem in _AGAINST_STEMS else stem for stem in stems}


@functools.lru_cache(maxsize=65536)
def sentence_words(sentence: str) -> frozenset[str]:
    """``content_words`` of a story's sentence, kept: every question about a story reads the same
    few hundred sentences' words (stemming them took 6 ms of each question at 600 sentences)."""
    return frozenset(content_words(sentence))


# Words that say what kind of answer is wanted, not what it is about: a story answers "What year ..."
# without the word "year". Left out as words, before stemming: the stem of "fare" is that of "far".
ANSWER_TYPE_WORDS = frozenset(
    """
    year years time date day month age ages many much number amount
    long soon old big large small high tall far deep wide often
    percent percentage name named kind type
    place city country reason cost price size first last main largest biggest
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def asked_words(question: str) -> set[str]:
    """What the question is about: its content words less those of the kind of answer wanted."""
    return content_words(question, skip=ANSWER_TYPE_WORDS)


@dataclass(frozen=True)
class Passage:
    """A sentence that answers the question: its row in the pool, its cosine, the share of the
    question's words it contains, and the score it was ranked by."""

    row: int
    similarity: float
    coverage: float
    score: float


# What a question word asks for, as spaCy's entity labels (OntoNotes): a sentence naming one can
# answer it. "Who voted against ...?" is answered by a sentence that names people, not by the vote.
_ANSWER_LABELS = {
    # People only: nearly every sentence of a story names an organisation or a place.
    "who": frozenset({"PERSON"}),
    "whom": frozenset({"PERSON"}),
    "whose": frozenset({"PERSON"}),
    "when": frozenset({"DATE", "TIME"}),
    "where": frozenset({"GPE", "LOC", "FAC"}),
    "how many": frozenset({"CARDINAL", "QUANTITY", "PERCENT", "MONEY"}),
    "how much": frozenset({"MONEY", "QUANTITY", "PERCENT"}),
    "what year": frozenset({"DATE"}),
    # Time, or a length ("How long will the new rail extension be?": "a 6.2-mile extension").
    "how long": frozenset({"DATE", "TIME", "QUANTITY"}),
    "how soon": frozenset({"DATE", "TIME"}),
    "how old": frozenset({"DATE", "CARDINAL"}),
    "what age": frozenset({"DATE", "CARDINAL"}),
    "which age": frozenset({"DATE", "CARDINAL"}),
}
# The question word that says what is asked opens the question or a clause of it, after at most a
# preposition or a hedge ("In what year ...", "By how much ...", "About how many ..."): a "when" or
# "who" further on opens a clause about something else ("What share of the revenue will go when
# the mill shuts?", "What did the man who found it say?").
_ANSWER_CUE = re.compile(
    r"(?:^|[,;:]\s*)(?P<lead>(?:(?:and|but|so|then|in|on|at|by|for|since|until|from|to|of|about|roughly|"
    r"approximately|around|nearly|exactly|just)\s+)*)"
    r"(?P<cue>how many|how much|how long|how soon|how old|what age|which age|what year|who|whom|whose|when|where)\b"
)
# "How much" asks for a sum, unless it asks by how much something changed, or how much more time or
# notice ("How much longer would each school day be?", "How much advance warning must the union give?").
_CHANGE = frozenset({"CARDINAL", "QUANTITY", "PERCENT", "MONEY", "DATE", "TIME"})
_MUCH_MORE = re.compile(
    r"\s+(?:more|less|longer|shorter|earlier|later|sooner|faster|slower|higher|lower|larger|smaller|bigger|"
    r"(?:\w+\s+)?(?:time|notice|warning|delay))\b"
)
# "How much will it cost?", "How much did the county spend ...?": a sum, not a share or a weight.
_MONEY_ASKED = re.compile(
    r"\b(?:cost|costs|costing|pay|pays|paid|paying|spend|spends|spent|charge|charges|charged|earn|earns|earned|"
    r"owe|owes|owed|money|revenue|funding|worth|price|fee|fees|fine|fines|salary|wages)\b"
)
# The kinds of value a question can ask for: dates, times, numbers, sums (not people or places).
VALUE_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "QUANTITY", "PERCENT", "MONEY"})


_DATE_WORDS = frozenset(
    """
    january february march april june july august september october november december
    jan feb apr jun jul aug sep sept oct nov dec
    monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow tonight
    day days week weeks weekend month months year years decade decades spring summer fall autumn winter
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_TIME_WORDS = frozenset({"hour", "hours", "minute", "minutes", "noon", "midnight"})
_NUMBER_WORDS = frozenset(
    """
    one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands
    million millions billion billions trillion dozen dozens half halve halved halves twice double doubled
    triple tripled quadrupled
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_MONEY_WORDS = frozenset(
    """
    dollars dollar euros euro pounds cents yen yuan rupees rupee francs franc crowns kronor krona pesos peso
    rubles roubles shillings
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# A digit counts where a number starts: not inside a name ("COVID-19", "#COVID19", "G7").
_LETTERS_OR_DIGITS = re.compile(r"[a-z]+|(?<![a-z0-9-])\d")
_YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")
# Years of any age where the words around say so: "begun in 366,", "the Great Schism of 1054.", "from
# 527 to 565", "around 1475 in southern Europe", "330 AD", "the 14th century"; not "of 300 workers".
_EARLIER_YEAR = re.compile(
    r"\b(?:in|of|to|since|around|from|until|till|by|after|before|circa|c\.)\s+\d{3,4}"
    r"(?=\s*(?:[.,;:)!?]|$)|\s+(?:and|to|when|in|on|at|with|after|before|as|under|during|while|until|the|but|which)\b)"
    r"|\b\d{1,4}\s*(?:ad|bc|bce|ce)\b|\b\d{1,2}(?:st|nd|rd|th)[- ]centur"
)
# A number with a unit of measure: "about 360 kilograms", "a capacity of up to 200 tons".
_QUANTITY = re.compile(
    r"\d(?:[\d,.]*)\s*(?:-\s*)?(?:thousand\s+|million\s+|billion\s+)?"
    r"(?:tons?|tonnes?|kilograms?|kg|grams?|pounds|lb|ounces?|kilomet(?:er|re)s?|km|met(?:er|re)s?|miles?|feet|foot|"
    r"ft|inch(?:es)?|centimet(?:er|re)s?|cm|millimet(?:er|re)s?|mm|yards?|acres?|hectares?|lit(?:er|re)s?|gallons?|"
    r"barrels?|square|cubic|degrees?|kilowatts?|megawatts?|gigawatts?|watts?|volts?|calories?|knots?|mph|km/h)\b"
)
_CLOCK_TIME = re.compile(r"\d\s?(?:a\.m\.|p\.m\.)")
_MAY_DATE = re.compile(r"\bmay \d")  # the month, not the verb


def value_labels(sentence: str) -> frozenset[str]:
    """The kinds of value ``sentence`` states (MONEY, PERCENT, DATE, TIME, QUANTITY, CARDINAL), by its words alone.

    The analysis keeps only the entities that can be actors (people, organisations, places), so
    the dates, numbers and sums a question asks for are read here: a few word lists and patterns,
    cheap enough for every sentence of a story when it is first asked about.
    """
    text = sentence.lower()
    words = set(_LETTERS_OR_DIGITS.findall(text))
    has_digit = any(word.isdigit() for word in words)
    labels = set()
    if has_digit or words & _NUMBER_WORDS:
        labels.add("CARDINAL")
    if "%" in text or "percent" in words or "per cent" in text:
        labels.add("PERCENT")
    if words & _MONEY_WORDS or (has_digit and any(sign in text for sign in "$\u00a3\u20ac")):
        labels.add("MONEY")
    if words & _DATE_WORDS or (
        has_digit and (_YEAR.search(text) or _MAY_DATE.search(text) or _EARLIER_YEAR.search(text))
    ):
        labels.add("DATE")
    if has_digit and _QUANTITY.search(text):
        labels.add("QUANTITY")
    if words & _TIME_WORDS or (has_digit and _CLOCK_TIME.search(text)):
        labels.add("TIME")
    return frozenset(labels)


def answer_labels(question: str) -> frozenset[str]:
    """The entity labels an answer to ``question`` names (empty when no question word at the start of
    the question or of one of its clauses says what is asked)."""
    text = question.lower().strip()
    cue = _ANSWER_CUE.search(text)
    if not cue:
        return frozenset()
    word = cue.group("cue")
    if word == "how much" and ("by" in cue.group("lead").split() or _MUCH_MORE.match(text, cue.end())):
        return _CHANGE
    if word == "how much" and _MONEY_ASKED.search(text, cue.end()):
        return frozenset({"MONEY"})
    return _ANSWER_LABELS[word]


# What a refusal says the closest sentences lack, by what the question asks for.
_VALUE_WORDS = {
    frozenset({"DATE", "TIME"}): "a date or a time",
    frozenset({"DATE"}): "a date",
    frozenset({"MONEY"}): "a sum",
    frozenset({"MONEY", "QUANTITY", "PERCENT"}): "an amount",
    frozenset({"CARDINAL", "QUANTITY", "PERCENT", "MONEY"}): "a number",
    frozenset({"DATE", "TIME", "QUANTITY"}): "a duration or a length",
    frozenset({"DATE", "CARDINAL"}): "an age",
    _CHANGE: "a figure",
}


def value_asked(question: str) -> str:
    """What kind of value the question asks for, in words ("a date", "a sum", ...); empty for another question."""
    return _VALUE_WORDS.get(answer_labels(question), "") if question_wants_value(question) else ""


def question_wants_value(question: str) -> bool:
    """True when the question asks for a date, a time, a number or a sum (when, how many, how much, ...)."""
    wanted = answer_labels(question)
    return bool(wanted) and wanted <= VALUE_LABELS


def passages_retrieve(
    question: str,
    question_vector: Matrix,
    sentences: Sequence[str],
    matrix: Matrix,
    *,
    min_similarity: float,
    min_coverage: float,
    count: int,
    labels: Sequence[frozenset[str]] | None = None,
    coverage_weight: float = 0.3,
    type_weight: float = 0.2,
    redundant_above: float = 0.9,
) -> list[Passage]:
    """Up to ``count`` sentences that support an answer, best first; an empty list means refuse.

    A sentence supports an answer when its cosine to the question is at least ``min_similarity``
    and it contains at least ``min_coverage`` of the question's content words (and one at the
    least). The encoder alone scores a sentence on the topic as high as one that answers:
    "How many were injured in the fire at the plant?" is close to every sentence about the
    plant, so the words asked about must be there too. Supported sentences are ranked by
    cosine plus ``coverage_weight`` times coverage, plus ``type_weight`` when ``labels`` (the
    entity labels each sentence names) show it names what the question asks for (a person for
    "who", a date for "when": ``answer_labels``); near-duplicates (wire copies, shared quotes)
    are given once.
    """
    if not len(sentences) or matrix.size == 0:
        return []
    # "How big is the budget gap?" is answered by "a $38 million budget gap": the words for the
    # kind of answer wanted need not be in the sentence.
    asked = asked_words(question) or content_words(question)
    wanted = answer_labels(question) if labels is not None else frozenset()
    similarity = matrix @ question_vector
    candidates: list[Passage] = []
    for row in np.argsort(-similarity):
        cosine = float(similarity[row])
        if cosine < min_similarity:
            break
        shared = len(asked & sentence_words(sentences[row]))
        coverage = shared / len(asked) if asked else 0.0
        if asked and (shared == 0 or coverage < min_coverage):
            continue
        score = cosine + coverage_weight * coverage
        if wanted and labels is not None and wanted & labels[row]:
            score += type_weight
        candidates.append(Passage(row=int(row), similarity=cosine, coverage=round(coverage, 3), score=round(score, 4)))
    candidates.sort(key=lambda passage: -passage.score)
    chosen: list[Passage] = []
    for passage in candidates:
        if len(chosen) >= count:
            break
        if any(float(matrix[passage.row] @ matrix[other.row]) >= redundant_above for other in chosen):
            continue
        chosen.append(passage)
    return chosen


def passages_candidates(similarity: Matrix, *, min_similarity: float, count: int) -> list[int]:
    """The rows of the ``count`` sentences closest to the question, at or above ``min_similarity``, closest first:
    what the answer cross-encoder reads (a sentence far from the question is never an answer)."""
    order = np.argsort(-similarity)[:count]
    return [int(row) for row in order if float(similarity[row]) >= min_similarity]


def passages_judged(
    rows: Sequence[int],
    probabilities: Matrix,
    similarity: Matrix,
    matrix: Matrix,
    *,
    min_probability: float,
    count: int,
    named: Sequence[bool] = (),
    type_weight: float = 0.2,
    redundant_above: float = 0.9,
) -> list[Passage]:
    """Up to ``count`` of ``rows`` that answer the question by the answer cross-encoder, best first; none: refuse.

    ``probabilities[i]`` is the cross-encoder's probability that the sentence of ``rows[i]`` answers
    the question. A sentence at or above ``min_probability`` is an answer. They are ranked by it, plus
    ``type_weight`` where ``named[i]`` says the sentence names what the question asks for (a person
    for "who": ``answer_labels``); near-duplicates (wire copies, shared quotes) are given once.
    ``Passage.score`` is the probability.
    """
    bonus = [type_weight if index < len(named) and named[index] else 0.0 for index in range(len(rows))]
    ranked = sorted(range(len(rows)), key=lambda index: -(float(probabilities[index]) + bonus[index]))
    chosen: list[Passage] = []
    for index in ranked:
        probability = float(probabilities[index])
        if len(chosen) >= count:
            break
        if probability < min_probability:
            continue
        row = rows[index]
        if any(float(matrix[row] @ matrix[other.row]) >= redundant_above for other in chosen):
            continue
        chosen.append(Passage(row=row, similarity=float(similarity[row]), coverage=0.0, score=round(probability, 4)))
    return chosen


def passages_typed(chosen: Sequence[Passage], rows: Sequence[int], named: Sequence[bool]) -> list[Passage]:
    """Of the answers ``chosen`` (``passages_judged``), those that name what the question asks for, when
    one does (``named[i]`` for ``rows[i]``); all of them otherwise.

    "Who voted against the fare increase?" is answered by the sentence naming the two dissenters, not
    by "The board voted 5-2 ...", however probable the model finds the vote.
    """
    naming = {row for row, names in zip(rows, named, strict=False) if names}
    typed = [passage for passage in chosen if passage.row in naming]
    return typed or list(chosen)


_WORD_AS_WRITTEN = re.compile(WORD.pattern, re.IGNORECASE)
_YES_NO = re.compile(r"^(is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|may|might|must)\b")


def question_is_yes_no(question: str) -> bool:
    """True when the question asks yes or no ("Has the government approved ...?")."""
    return bool(_YES_NO.match(question.strip().lower()))


def words_missing(question: str, pool: Sequence[str]) -> list[str]:
    """The words of the question (as asked) that appear in no text of ``pool`` (the story's sentences and
    titles), by stem; the words for the kind of answer wanted do not count."""
    vocabulary: set[str] = set()
    for text in pool:
        vocabulary |= sentence_words(text)
    missing: list[str] = []
    for match in _WORD_AS_WRITTEN.finditer(question.replace("\u2019", "'")):
        word = match.group().strip(".'")
        lowered = word.lower()
        if not lowered or lowered in STOP_WORDS or lowered in ANSWER_TYPE_WORDS:
            continue
        if not content_words(lowered) <= vocabulary and word not in missing:
            missing.append(word)
    return missing


def answer_vetoed(question: str, missing: Sequence[str]) -> bool:
    """True when words of the question the story never uses (``words_missing``) mean it is not answered,
    whatever the sentences found say.

    A yes-or-no question's missing word is what it asks ("Has the federal government approved the
    disaster declaration?" of a story that says the governor requested one); two names the story
    never mentions ("What did the United Nations say about the ruling?") are someone it never quotes.
    A wh-question's one missing word is as often the question's own wording of what a sentence says
    ("When was the company established?" of "founded in 1602"): the answer model decides those, but
    for a name the story never mentions in a question about what someone said
    (``question_asks_unnamed_speaker``).
    """
    if not missing:
        return False
    if question_is_yes_no(question):
        return True
    names = [word for word in missing if word[:1].isupper() and not question.startswith(word)]
    return len(names) >= 2 or question_asks_unnamed_speaker(question, missing)


# Verbs of what someone said or thought: "What did Biden say about ...?", "How did Merck respond?".
_SPEECH = re.compile(
    r"\b(?:say|says|said|think|thinks|thought|respond|responds|responded|react|reacts|reacted|comment|comments|"
    r"commented|tell|tells|told|argue|argues|argued|claim|claims|claimed|warn|warns|warned|promise|promises|"
    r"promised|announce|announces|announced|describe|describes|described|write|writes|wrote)\b"
)


def question_asks_unnamed_speaker(question: str, missing: Sequence[str]) -> bool:
    """True when the question asks what someone said or thought, and names someone the story never
    mentions ("What did Biden say about the cost-of-living increase?" of a story that never names
    him): no sentence can be their words."""
    names = [word for word in missing if word[:1].isupper() and not question.startswith(word)]
    return bool(names) and bool(_SPEECH.search(question.lower()))


# "What did Mayor Teodora Vance say about ...?", "How did Korvath's foreign ministry describe ...?": who is asked
# about, between the auxiliary and the verb of speech.
_ASKED_SPEAKER = re.compile(
    r"^\s*(?:what|how)\s+(?:did|does|do|has|have|had|will|would)\s+(?P<who>.+?)\s+"
    r"(?:say|think|respond|react|comment|tell|argue|claim|warn|promise|announce|describe|write)\b",
    re.IGNORECASE,
)
_WRITTEN = re.compile(
    r"\b(?:treaty|law|act|bill|report|study|constitution|article|document|agreement|survey|ruling|decision|book|"
    r"text|letter|statement|order|plan|policy|rule|rules|code|charter|declaration|verdict|poll|data|census)\b"
)
_POSSESSED = re.compile(r"(?:'s|\u2019s)\s+(?P<role>[a-z][a-z ]*)$")
# A sentence that gives someone's words: a verb of speech, "according to", or a quotation.
_SPOKEN = re.compile(
    r"\b(?:says?|said|saying|told|tells?|according to|added|adds|noted|notes|stated|states|insisted|insists|explained|"
    r"explains|called|calls|asked|asks|argued|argues|warned|warns|claimed|claims|wrote|writes|described|describes|"
    r"responded|responds|replied|replies|commented|comments|announced|announces|promised|promises|thinks?|thought)\b"
    r"|[\"\u201c\u201d]"
)


def question_speaker(question: str) -> list[str]:
    """The words by which a sentence names whom the question asks about, when it asks what a named
    speaker said or thought: the speaker's last name ("What did Mayor Teodora Vance say ...?": "Vance"),
    or for "Korvath's foreign ministry" the place and the role ("Korvath", "foreign ministry"); empty
    for any other question."""
    asked = _ASKED_SPEAKER.match(question)
    if not asked:
        return []
    who = asked.group("who")
    if _WRITTEN.search(who.lower()):  # "What does the treaty say ...?": a text, not a speaker
        return []
    names = [word for word in re.findall(r"[A-Z][\w-]*(?:(?:'|\u2019)s)?", who) if word != "The"]
    if not names:
        return []
    owner = _POSSESSED.search(who)
    last = re.sub(r"(?:'|\u2019)s$", "", names[-1])
    return [last, owner.group("role").strip()] if owner else [last]


# What a question about someone's words asks them about: "What did Tomas Quill say about tax increases?"
_SPOKEN_ABOUT = re.compile(r"\s(?:about|on|of)\s+(?P<topic>.+?)[?.!]*$")


def question_speaker_topic(question: str) -> str:
    """What a question about a named speaker's words asks them about ("tax increases"); empty when it
    names no speaker or no topic ("What did Quellan say its forces had hit?")."""
    asked = _ASKED_SPEAKER.match(question)
    if not asked or not question_speaker(question):
        return ""
    about = _SPOKEN_ABOUT.search(question, asked.end())
    return about.group("topic").strip() if about else ""


def passages_spoken(question: str, chosen: Sequence[Passage], pool: Sequence[str]) -> list[Passage]:
    """Of the answers ``chosen``, those that give the words of the speaker the question names (``question_speaker``):
    a sentence naming them with a verb of speech or a quotation. "What did Tomas Quill say about tax
    increases?" is not answered by "Vance said residents could not absorb another tax increase". All of
    them for a question that names no speaker."""
    speaker = question_speaker(question)
    if speaker:
        return [
            passage
            for passage in chosen
            if _SPOKEN.search(pool[passage.row]) and any(word in pool[passage.row] for word in speaker)
        ]
    # Someone asked about by role ("What did the mayor say about the plant?"): the sentences giving the
    # words of someone so called come first and alone, when any does; the model's answers otherwise
    # (the company may be quoted by its name).
    role = question_role(question)
    if not role:
        return list(chosen)
    called = re.compile(rf"\b{re.escape(role)}s?\b", re.IGNORECASE)
    spoken = [passage for passage in chosen if _SPOKEN.search(pool[passage.row]) and called.search(pool[passage.row])]
    return spoken or list(chosen)


def question_role(question: str) -> str:
    """The role by which a question asks what someone said, when it names no one ("What did the mayor
    say ...?": "mayor"; "How did hospital officials respond?": "official"); empty otherwise."""
    asked = _ASKED_SPEAKER.match(question)
    if not asked or question_speaker(question) or _WRITTEN.search(asked.group("who").lower()):
        return ""
    words = re.findall(r"[a-z]+", asked.group("who").lower())
    if not words or words[-1] in STOP_WORDS:
        return ""
    last = words[-1]
    return last[:-1] if last.endswith("s") and not last.endswith("ss") else last


def question_normalise(question: str) -> str:
    """One wording per question for counting: lower case, single spaces, no end punctuation."""
    return " ".join(question.lower().split()).rstrip(" ?!.")


def sentences_match(generated: Matrix, sources: Matrix, *, min_similarity: float) -> list[int | None]:
    """For each generated sentence, the source sentence it restates (the most similar one at or above
    ``min_similarity``), or None: a sentence no source supports."""
    if generated.size == 0:
        return []
    if sources.size == 0:
        return [None] * len(generated)
    similarity = generated @ sources.T
    best = similarity.argmax(axis=1)
    return [int(source) if similarity[row, source] >= min_similarity else None for row, source in enumerate(best)]


def passages_unanswered(question: str, pool: Sequence[str], *, max_missing: float = 0.2, tolerated: int = 0) -> bool:
    """True when the sentences found share the question's topic but not what it asks.

    "Has the federal government approved the disaster declaration?" shares "disaster declaration"
    with "The governor requested a disaster declaration", yet nothing in the story says
    "federal" or "approved": when at least ``max_missing`` of the question's content words occur
    in no sentence of the story (``pool``), the coverage does not answer the question as asked,
    however close its sentences are. ``tolerated`` of the missing words are not counted.
    """
    asked = asked_words(question)
    if len(asked) < 2:
        return False
    vocabulary: set[str] = set()
    for sentence in pool:
        vocabulary |= sentence_words(sentence)
    missing = len(asked - vocabulary) - tolerated
    return missing > 0 and missing / len(asked) >= max_missing


def passages_answering(
    question: str,
    passages: Sequence[Passage],
    pool: Sequence[str],
    labels: Sequence[frozenset[str]],
    *,
    max_missing: float = 0.2,
) -> list[Passage]:
    """The passages found (``passages_retrieve``) that answer the question as asked; none means refuse.

    All of them when the story has the question's words (``passages_unanswered``). When it lacks
    one, only those that name what the question asks for (``answer_labels``, and ``labels``: what
    each sentence of the pool names): "How many cases did the court decide?" by "in two cases the
    court ruled"; "When will the FDA advisers meet?" by "a meeting on Oct. 26". A question that asks
    for a person, a date or a number, found in a sentence that names one, has its missing word in
    other words more often than not. A yes-or-no question ("Has the federal government approved
    the disaster declaration?") names no kind of answer: its missing word is what it asks, and it
    is refused.
    """
    if not passages or not passages_unanswered(question, pool, max_missing=max_missing):
        return list(passages)
    wanted = answer_labels(question)
    named = [passage for passage in passages if wanted & labels[passage.row]]
    # One word in other words, and at least two found: "Who wrote the book?" is not answered by a
    # sentence naming someone and the book.
    if not named or len(asked_words(question)) < 3:
        return []
    return [] if passages_unanswered(question, pool, max_missing=max_missing, tolerated=1) else named
