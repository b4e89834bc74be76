"""Tone and loaded language: the functions other code calls, with the trained models behind them.

Tone is a model's reading of how a sentence speaks of a target it names (``target_tone``,
trained on NewsMTSC); the tone of a sentence alone is its tone toward itself as a whole.
Loaded language is a model's flag on a sentence (``loaded_language``, trained on
SemEval-2023 Task 3), explained by the lexicon's words inside it: words strong in VADER's
lexicon, plus a short list written for this project of words that news-bias research
flags as loaded or subjective although VADER does not score them (verbs of attack
instead of "said", labels such as "regime" or "radical", intensifiers). Words that
report an event plainly ("killed", "war", "crisis") are not loaded however strong their
valence, and words inside quotation marks are the source's, not the outlet's, so they
are not counted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Words whose lexicon valence is at least this strong read as loaded, not neutral reporting.
LOADED_VALENCE = 2.2
WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*[A-Za-z]|[A-Za-z]")
QUOTED = re.compile(r"[\"\u201c][^\"\u201c\u201d]{0,400}[\"\u201d]")

# Loaded or subjective words VADER does not score (or scores weakly), after the categories of
# Recasens et al. (2013, "Linguistic models for analyzing and detecting biased language"):
# attack verbs in place of "said", pejorative labels, subjective intensifiers. Written for this project.
LOADED_WORDS = frozenset(
    """
    slam slams slammed slamming blast blasts blasted blasting lash lashes lashed rip rips ripped
    torch torched skewer skewered eviscerate eviscerated trash trashed bash bashed smear smears
    smeared rant rants ranted tirade meltdown screed diatribe regime radical radicals extremist
    extremists zealot zealots fanatic fanatics thug thugs mob mobs militant militants propaganda
    puppet cronies crony elites elitist woke far-left far-right so-called scheme schemes ploy ploys
    stunt stunts hoax sham charade witch-hunt cover-up draconian reckless radicalized disastrous
    catastrophic shameful shameless outrageous egregious staggering shocking unprecedented bombshell
    explosive scathing blistering furious fury chaos chaotic debacle fiasco crisis-ridden embattled
    beleaguered disgraced notorious infamous massacre slaughter onslaught blatant
    brazen flagrant baseless debunked lavish bloated handout handouts giveaway giveaways socialist
    communist fascist marxist heroic hero heroes brave courageous patriot patriots patriotic
    visionary historic landmark
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# Strong in VADER's lexicon, yet the plain words for what happened: reporting them is not loading.
NEUTRAL_IN_NEWS = frozenset(
    """
    killed kill kills killing death deaths dead die died dies dying war wars attack attacks attacked
    crisis crime crimes criminal murder murdered victim victims injured injury injuries wounded
    violence violent terrorist terrorism terror prison jail arrested arrest disease cancer cancer
    fire fires abuse abused rape raped hostage hostages weapons weapon bomb bombs protest protests
    lost loss losses fraud fraudulent corruption guilty illegal ban banned threat threats risk risks
    poverty hunger pandemic emergency disaster disasters damage damaged destroyed destruction
    conflict sentenced convicted charged suicide hate accident accidents free freedom peace win won
    support supported help helped care safe safety security protect protected justice rights
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


@functools.cache
def analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentence_tones(sentences: Sequence[str]) -> list[float]:
    """The tone model's score of each sentence toward itself, from -1 (negative) to 1 (positive).

    P(positive) - P(negative) of the whole sentence taken as its target; for the tone toward
    an actor the sentence names, ask ``target_tone.tone_model()`` with the actor's span.
    """
    from analysis.nlp.target_tone import tone_model

    items = [(sentence, [(0, len(sentence))] if sentence.strip() else []) for sentence in sentences]
    return [
        round(float(matrix[0, 2] - matrix[0, 0]), 4) if len(matrix) else 0.0
        for matrix in tone_model().probabilities(items)
    ]


def lexicon_words(sentence: str) -> list[str]:
    """The lexicon's loaded or subjective words of a sentence, lowercase, in order, outside quotations.

    The evidence shown inside a sentence the loaded-language model flags; on its own a
    lexicon is a poor judge of loaded language (a third of its hits are wrong on news).
    """
    lexicon = analyzer().lexicon
    unquoted = QUOTED.sub(" ", sentence)
    found: list[str] = []
    for word in WORD.findall(unquoted):
        lower = word.lower().replace("\u2019", "'")
        if lower in found or lower in NEUTRAL_IN_NEWS:
            continue
        valence = lexicon.get(lower)
        if lower in LOADED_WORDS or (valence is not None and abs(valence) >= LOADED_VALENCE):
            found.append(lower)
    return found


def loaded_words(sentence: str) -> list[str]:
    """The loaded words of a sentence in the outlet's own voice: the lexicon's words, if the model flags it.

    Empty when the loaded-language model does not flag the sentence (or it is mostly a
    quotation); a flagged sentence with no lexicon word inside returns its evidence as empty too.
    """
    from analysis.nlp.loaded_language import loaded_language_model
    from analysis.nlp.models import sentence_encoder

    if not sentence.strip():
        return []
    vector = sentence_encoder().encode([sentence], normalize_embeddings=True, convert_to_numpy=True)
    return lexicon_words(sentence) if loaded_language_model().flagged(vector, [sentence])[0] else []
