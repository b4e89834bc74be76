"""Whether two sentences state the same fact: a trained head over the shared encoder's vectors and the words.

The head is a logistic regression over the cosine of the two unit sentence vectors (the ones
the analysis stores) and lexical comparisons a paraphrase model misses: do the numbers agree
(figures, dates), the names, a negation; how many words, word n-grams, word stems and
character n-grams the two share. Fitted on MRPC (``python -m lab.train_claims``), where the
cosine alone gave precision 0.74 at recall 0.82.

On top of the probability, hard checks veto a match whatever the head says: two sentences that
both give numbers must share one, and one may not negate what the other asserts. Two thresholds
ship with the weights: ``precise`` (citations: a sentence cites an article only at or above
it) and ``recall`` (omissions: a fact is one side's alone only when no other side's sentence
reaches it). The weights are a small ``.npz`` (arrays only, no pickles); see
``weights/SAME_CLAIM_MODEL_CARD.md``.

Citations are then a cross-encoder's call (``analysis.nlp.same_claim_cross``), where its adapter file
is installed: it reads only the pairs the head passes at ``recall``, so a page refresh stays bounded,
and the hard checks still veto first. Without the file the head alone decides, as before.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.nlp.same_claim_cross import CROSS_WEIGHTS_PATH, CrossEncoder

logger = logging.getLogger(__name__)

WEIGHTS_PATH = Path(__file__).parent / "weights" / "same_claim.npz"
FORMAT = 1

Matrix = np.ndarray[Any, np.dtype[np.float32]]

# Pairs of sentences less similar than this are never the same fact (checked on the training
# data: no true pair falls below it); the lexical features are computed only above it.
COSINE_FLOOR = 0.35

_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019.-]*[A-Za-z]|[A-Za-z]|\$?\d[\d,.]*%?")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20", "thirty": "30",
    "forty": "40", "fifty": "50", "hundred": "100", "dozen": "12", "half": "0.5",
}  # fmt: skip
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 1_000_000_000_000}
# Grammatical negation only: "without power" and "refused" state facts, they do not deny one.
NEGATIONS = frozenset("not no never none nobody nothing neither nor cannot".split())  # noqa: SIM905
# One-sided negation vetoes a match only between sentences this alike: "the board approved the fare"
# against "the board did not approve the fare" (a paraphrase model's blind spot), not a long sentence
# whose other clause says what something did not do.
NEGATION_CHECK_COSINE = 0.7
# Opposite outcomes in other words: "the governor signed the budget" and "the governor vetoed the
# budget" share every other word, and a paraphrase model trained on MRPC scores them alike (0.995).
# Of two sentences, when one says an outcome of a pair and the other the opposite one (and neither
# says both), neither is cited for the other (``outcomes_differ``); they still report the same
# event, so for "did another side report it?" they stay a ``recall`` match.
OPPOSITES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(yes.split()), frozenset(no.split()))
    for yes, no in (
        ("approve approved approves approving approval", "reject rejected rejects rejecting rejection"),
        ("sign signed signs signing", "veto vetoed vetoes vetoing"),
        ("uphold upheld upholds upholding", "overturn overturned overturns overturning struck strikes"),
        ("pass passed passes passing", "fail failed fails failing defeated"),
        ("win won wins winning", "lose lost loses losing"),
        (
            "rise rose risen rises rising increase increased increases",
            "fall fell fallen falls falling decrease decreased decreases",
        ),
        ("accept accepted accepts accepting", "refuse refused refuses refusing decline declined declines"),
        ("support supported supports supporting", "oppose opposed opposes opposing"),
        ("confirm confirmed confirms confirming", "deny denied denies denying"),
        ("allow allowed allows allowing", "ban banned bans banning forbid forbade prohibit prohibited"),
        ("convicted convicts guilty", "acquitted acquits acquittal"),
        ("open opened opens reopen reopened", "close closed closes closing shut"),
    )
)
# Capitalised words that name nothing: sentence openers, pronouns, titles, words of every headline.
NOT_NAMES = frozenset(
    """
    a an the this that these those it its he she they we i you his her their our my your there here
    but and or so if as at by for from in into of on to with after before when while where why how what who
    mr mrs ms dr sen rep gov president said says according also however meanwhile some many most all
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
STOP_WORDS = NOT_NAMES | frozenset(
    """
    is are was were be been being has have had do does did will would can could should may might must
    than then more less about over under up down out not no also just only very its which whom whose
    """.split()  # noqa: SIM905
)
FEATURES = (
    "cosine",
    "cosine_squared",
    "word_jaccard",
    "word_containment",
    "numbers_in_both",
    "numbers_unshared",
    "numbers_in_one",
    "names_unshared",
    "negation_differs",
    "length_ratio",
    "unigram_jaccard",
    "bigram_jaccard",
    "trigram_jaccard",
    "fourgram_jaccard",
    "stem_jaccard",
    "stem_containment",
    "character_jaccard",
    "unmatched_most",
    "unmatched_least",
    "length_difference",
    "unmatched_words",
)
_TOKEN = re.compile(r"[a-z0-9]+(?:[.,'][a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class SentenceFacts:
    """What the features and checks compare of one sentence."""

    words: frozenset[str]
    numbers: frozenset[str]
    names: frozenset[str]
    negated: bool
    length: int
    # The stems of the first two words a negation denies ("did not approve the bill": "appro", "bill").
    denied: frozenset[str]
    # The distinctive figures among the numbers: a decimal, or 100 and above that is not a year.
    figures: frozenset[str]
    # For each pair of OPPOSITES: 1 the sentence says its first outcome only, -1 the second only, else 0.
    outcomes: tuple[int, ...]
    grams: tuple[frozenset[tuple[str, ...]], ...]  # its word 1- to 4-grams, stop words included
    stems: frozenset[str]
    characters: frozenset[str]  # character 4-grams of the lower-cased words


def _number_normal(token: str, following: str) -> str:
    digits = token.replace(",", "")
    try:
        value = float(digits)
    except ValueError:
        return token
    if following in SCALES:
        value *= SCALES[following]
    return f"{value:g}"


def sentence_facts(text: str) -> SentenceFacts:
    """The words, numbers (figures, dates, number words; "$2.5 billion" and "2,500,000,000" agree),
    capitalised names (outside the first word) and negation of a sentence."""
    tokens = _WORD.findall(text.replace("\u2019", "'"))
    lower = [token.lower().strip(".") for token in tokens]
    numbers: set[str] = set()
    names: set[str] = set()
    for position, (token, word) in enumerate(zip(tokens, lower, strict=True)):
        following = lower[position + 1] if position + 1 < len(lower) else ""
        if match := _NUMBER.search(token):
            numbers.add(_number_normal(match.group(0).rstrip(".,"), following))
        elif word in NUMBER_WORDS:
            numbers.add(_number_normal(NUMBER_WORDS[word], following))
        elif position and token[:1].isupper() and word not in NOT_NAMES and len(word) > 1:
            names.add(word)
    negations = [position for position, word in enumerate(lower) if word in NEGATIONS or word.endswith("n't")]
    negated = bool(negations)
    denied: set[str] = set()
    for position in negations:
        following = [word for word in lower[position + 1 :] if word not in STOP_WORDS and word != "one"]
        denied.update(word[:5] for word in following[:2])
    words = frozenset(word for word in lower if word not in STOP_WORDS and not _NUMBER.search(word))
    plain = _TOKEN.findall(text.lower().replace("\u2019", "'"))
    joined = " ".join(plain)
    return SentenceFacts(
        words=words,
        numbers=frozenset(numbers),
        names=frozenset(names),
        negated=negated,
        length=len(tokens),
        denied=frozenset(denied),
        figures=frozenset(number for number in numbers if _is_figure(number)),
        outcomes=tuple(bool(yes & set(lower)) - bool(no & set(lower)) for yes, no in OPPOSITES),
        grams=tuple(frozenset(tuple(plain[i : i + n]) for i in range(len(plain) - n + 1)) for n in range(1, 5)),
        stems=frozenset(word[:5] for word in plain if word not in STOP_WORDS),
        characters=frozenset(joined[i : i + 4] for i in range(len(joined) - 3)),
    )


def _is_figure(number: str) -> bool:
    try:
        value = float(number)
    except ValueError:
        return False
    return not value.is_integer() or (value >= 100 and not 1900 <= value <= 2100)


def _jaccard(first: frozenset[Any], second: frozenset[Any]) -> float:
    union = len(first | second)
    return len(first & second) / union if union else 0.0


def _containment(first: frozenset[Any], second: frozenset[Any]) -> float:
    smaller = min(len(first), len(second))
    return len(first & second) / smaller if smaller else 0.0


def pair_features(first: SentenceFacts, second: SentenceFacts, cosine: float) -> list[float]:
    """The features of a pair, in ``FEATURES`` order; symmetric in the two sentences."""
    both_numbers = bool(first.numbers) and bool(second.numbers)
    union_numbers = first.numbers | second.numbers
    union_names = first.names | second.names
    unmatched_first = len(first.stems - second.stems) / max(len(first.stems), 1)
    unmatched_second = len(second.stems - first.stems) / max(len(second.stems), 1)
    return [
        cosine,
        cosine * cosine,
        _jaccard(first.words, second.words),
        _containment(first.words, second.words),
        float(both_numbers),
        len(first.numbers ^ second.numbers) / len(union_numbers) if both_numbers else 0.0,
        float(bool(first.numbers) != bool(second.numbers)),
        len(first.names ^ second.names) / len(union_names) if union_names else 0.0,
        float(first.negated != second.negated),
        min(first.length, second.length) / max(first.length, second.length, 1),
        *(_jaccard(one, other) for one, other in zip(first.grams, second.grams, strict=True)),
        _jaccard(first.stems, second.stems),
        _containment(first.stems, second.stems),
        _jaccard(first.characters, second.characters),
        max(unmatched_first, unmatched_second),
        min(unmatched_first, unmatched_second),
        abs(first.length - second.length) / max(first.length, second.length, 1),
        float(len(first.words ^ second.words)),
    ]


def checks_pass(first: SentenceFacts, second: SentenceFacts, cosine: float) -> bool:
    """The hard checks: when both sentences give numbers (figures, dates), they share one; and of two
    close sentences, one does not negate what the other asserts: the words its negation denies are
    in the other ("did not approve the bill" of "approved the bill"), not only somewhere else in a
    longer sentence ("... wiping out 1,150 jobs, and critics say state leaders have no one to blame"
    of the closure it also reports). (Names are a feature, not a check: a report may name fewer people.)"""
    if first.numbers and second.numbers and not first.numbers & second.numbers:
        return False
    if first.negated == second.negated or cosine < NEGATION_CHECK_COSINE:
        return True
    negated, other = (first, second) if first.negated else (second, first)
    return bool(negated.denied) and not negated.denied & other.stems


def outcomes_differ(first: SentenceFacts, second: SentenceFacts) -> bool:
    """True when one sentence says an outcome (approved, signed, rose) and the other its opposite."""
    return any(one * other < 0 for one, other in zip(first.outcomes, second.outcomes, strict=True))


@dataclass(frozen=True)
class SameClaimModel:
    """The trained head: a logistic regression over ``FEATURES`` (weights already scaled to raw features),
    and, where its adapter file is installed, the cross-encoder that decides citations.

    With the cross-encoder, a pair's score is the head's probability below the head's ``recall``
    threshold; at or above it (the only pairs the cross-encoder reads), ``recall + (1 - recall) * q``,
    q the cross-encoder's probability (its logit plus ``cross_weight`` times the head's). So one matrix
    carries both decisions: ``recall`` stays the head's (omissions), and ``precise`` is the
    cross-encoder's threshold mapped the same way (citations). Without the file, the head alone decides.
    """

    weights: Matrix
    intercept: float
    # A match for citations at or above ``precise``; for "did another side say it?" at or above ``recall``.
    precise: float
    recall: float
    checks: bool
    version: str
    cross: CrossEncoder | None = None
    cross_weight: float = 0.0

    @classmethod
    def load(
        cls,
        path: Path | str = "",
        *,
        cross_path: Path | str | None = "",
        encoder_path: Path | str = "",
        backend: str = "torch",
        onnx_dir: Path | str = "",
    ) -> SameClaimModel:
        """The head of ``path`` (default: the shipped one), with the cross-encoder of ``cross_path`` (default:
        the shipped adapters; ``None``: the head alone). A missing adapter file, or one whose thresholds were
        chosen with another head, leaves the head alone (logged): pages keep working, less precisely."""
        with np.load(Path(path or WEIGHTS_PATH), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if int(meta.get("format", 0)) != FORMAT or tuple(meta.get("features", ())) != FEATURES:
                raise ValueError(f"{path or WEIGHTS_PATH}: not format {FORMAT} with this code's features")
            head = cls(
                weights=data["weights"].astype(np.float64),
                intercept=float(data["intercept"]),
                precise=float(meta["precise"]),
                recall=float(meta["recall"]),
                checks=bool(meta.get("checks", True)),
                version=str(meta["version"]),
            )
        if cross_path is None:
            return head
        cross_file = Path(cross_path or CROSS_WEIGHTS_PATH)
        if not cross_file.exists():
            logger.warning("No same-claim cross-encoder at %s: the logistic head alone decides citations", cross_file)
            return head
        if encoder_path == "":
            from analysis.nlp.models import default_encoder_path

            encoder_path = default_encoder_path()
        cross = CrossEncoder.load(cross_file, encoder_path, backend=backend, onnx_dir=onnx_dir)
        if cross.meta.get("gate_model") != head.version:
            logger.warning(
                "The same-claim cross-encoder %s was tuned behind head %s, not %s: the head alone decides citations",
                cross_file,
                cross.meta.get("gate_model"),
                head.version,
            )
            return head
        return dataclasses.replace(
            head,
            precise=head.recall + (1 - head.recall) * float(cross.meta["threshold"]),
            version=f"{head.version}+{cross.version}",
            cross=cross,
            cross_weight=float(cross.meta["lr_weight"]),
        )

    def _cascaded(self, probabilities: Matrix, pairs: Sequence[tuple[str, str]]) -> Matrix:
        """The scores of pairs whose head ``probabilities`` reach ``recall``, the cross-encoder's say mapped
        above ``recall``; the others as they were."""
        if self.cross is None or not len(pairs):
            return probabilities
        head = np.clip(probabilities.astype(np.float64), 1e-6, 1 - 1e-6)
        logits = self.cross.logits(pairs) + self.cross_weight * np.log(head / (1 - head))
        return (self.recall + (1 - self.recall) / (1 + np.exp(-logits))).astype(np.float32)

    def probability(self, first: SentenceFacts, second: SentenceFacts, cosine: float) -> float:
        """P(same fact); 0 below ``COSINE_FLOOR`` or where a hard check fails; at most ``recall`` where
        the two say opposite outcomes (``outcomes_differ``).

        Two sentences that share a distinctive figure ("$240", "19.4 feet", "42,000") are at least a
        ``recall`` match: for "did another side report it?", the figure is the fact. Never a ``precise``
        one by that alone: a citation needs the model's own confidence.
        """
        if cosine < COSINE_FLOOR or (self.checks and not checks_pass(first, second, cosine)):
            return 0.0
        logit = float(self.weights @ np.asarray(pair_features(first, second, cosine))) + self.intercept
        probability = float(1.0 / (1.0 + np.exp(-logit)))
        if first.figures & second.figures:
            probability = max(probability, min(self.recall, self.precise))
        if outcomes_differ(first, second):
            probability = min(probability, self.recall)
        return probability

    def probabilities(
        self,
        first: Matrix,
        second: Matrix,
        first_texts: Sequence[str],
        second_texts: Sequence[str],
        considered: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    ) -> Matrix:
        """P(same fact) of every sentence of ``first`` with every sentence of ``second`` (rows of unit vectors);
        0 outside ``considered`` where given. The same texts on both sides are one pool: the cross-encoder
        reads each pair of it once."""
        cosine = np.asarray(first, dtype=np.float32) @ np.asarray(second, dtype=np.float32).T
        result = np.zeros(cosine.shape, dtype=np.float32)
        eligible = cosine >= COSINE_FLOOR
        if considered is not None:
            eligible &= considered
        rows, columns = np.nonzero(eligible)
        if not len(rows):
            return result
        first_facts = [sentence_facts(text) for text in first_texts]
        second_facts = first_facts if first_texts is second_texts else [sentence_facts(text) for text in second_texts]
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            result[row, column] = self.probability(first_facts[row], second_facts[column], float(cosine[row, column]))
        if self.cross is None:
            return result
        candidates = (result >= self.recall) & (result > 0)
        pool = first_texts is second_texts
        if pool:
            candidates &= np.triu(np.ones(result.shape, dtype=bool), k=1)
        rows, columns = np.nonzero(candidates)
        result[rows, columns] = self._cascaded(
            result[rows, columns],
            [
                (first_texts[row], second_texts[column])
                for row, column in zip(rows.tolist(), columns.tolist(), strict=True)
            ],
        )
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            if outcomes_differ(first_facts[row], second_facts[column]):
                result[row, column] = min(result[row, column], self.recall)
        if pool:
            result[columns, rows] = result[rows, columns]
        return result

    def pair_probabilities(
        self, first: Matrix, second: Matrix, first_texts: Sequence[str], second_texts: Sequence[str]
    ) -> Matrix:
        """P(same fact) of each aligned pair (row i of ``first`` with row i of ``second``)."""
        cosine = (np.asarray(first, dtype=np.float32) * np.asarray(second, dtype=np.float32)).sum(axis=1)
        facts = [
            (sentence_facts(one), sentence_facts(other)) for one, other in zip(first_texts, second_texts, strict=True)
        ]
        result = np.array(
            [
                self.probability(one, other, float(similarity))
                for (one, other), similarity in zip(facts, cosine, strict=True)
            ],
            dtype=np.float32,
        )
        if self.cross is not None:
            (candidates,) = np.nonzero((result >= self.recall) & (result > 0))
            result[candidates] = self._cascaded(
                result[candidates], [(first_texts[index], second_texts[index]) for index in candidates.tolist()]
            )
        opposed = [index for index, (one, other) in enumerate(facts) if outcomes_differ(one, other)]
        result[opposed] = np.minimum(result[opposed], self.recall)
        return result

    def pool_probabilities(
        self, matrix: Matrix, texts: Sequence[str], considered: np.ndarray[Any, np.dtype[np.bool_]] | None = None
    ) -> Matrix:
        """P(same fact) of every pair of sentences of one pool (symmetric; the diagonal is 1); 0 outside
        ``considered`` where given (pairs of one article: no cost spent on them)."""
        result = self.probabilities(matrix, matrix, texts, texts, considered)
        np.fill_diagonal(result, 1.0)
        return result


@functools.cache
def same_claim_model(
    path: str = "", cross_path: str = "", encoder_path: str = "", backend: str = "torch", onnx_dir: str = ""
) -> SameClaimModel:
    """The process's model. ``cross_path`` "off": the logistic head alone; the cross-encoder runs on ``backend``."""
    return SameClaimModel.load(
        path,
        cross_path=None if cross_path == "off" else cross_path,
        encoder_path=encoder_path,
        backend=backend,
        onnx_dir=onnx_dir,
    )
