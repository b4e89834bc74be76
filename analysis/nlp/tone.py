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

from collections.abc import Sequence

from analysis.nlp.lexicon import (  # noqa: F401 (the names callers import from here)
    LOADED_VALENCE,
    LOADED_WORDS,
    NEUTRAL_IN_NEWS,
    QUOTED,
    WORD,
    analyzer,
    lexicon_words,
)


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
