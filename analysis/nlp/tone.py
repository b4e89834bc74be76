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
from typing import TYPE_CHECKING

from analysis.nlp.lexicon import (  # noqa: F401 (the names callers import from here)
    LOADED_VALENCE,
    LOADED_WORDS,
    NEUTRAL_IN_NEWS,
    QUOTED,
    WORD,
    analyzer,
    lexicon_words,
)

if TYPE_CHECKING:
    from analysis.nlp.encoder import TextEncoder


# Sentence tones kept per process, by the tone model's version and the sentence: a story's overview
# reads every sentence of the story on each refresh, and a refresh adds an article's sentences to those
# read before. Emptied when full (a sentence costs about 20 ms to score again, one thread).
_KEPT_TONES: dict[tuple[str, str], float] = {}
KEPT_TONES_MOST = 200_000


def tone_score(probabilities: Sequence[float]) -> float:
    """A (negative, neutral, positive) row as one score, P(positive) - P(negative), as stored and compared."""
    return round(float(probabilities[2] - probabilities[0]), 4)


def sentence_tones(sentences: Sequence[str], encoder: TextEncoder | None = None) -> list[float]:
    """The tone model's score of each sentence toward itself, from -1 (negative) to 1 (positive).

    P(positive) - P(negative) of the whole sentence taken as its target; for the tone toward
    an actor the sentence names, ask ``target_tone.tone_model()`` with the actor's span. A sentence
    scored before in this process is not scored again (re-encoding a story's every sentence on each
    refresh was most of the clustering worker's time, lab/bench/README.md). ``encoder``: the process's
    text encoder (its backend), whose pass the tone model's own top layers read; default PyTorch's.
    """
    from analysis.nlp.target_tone import tone_model

    model = tone_model()
    scored = {sentence: _KEPT_TONES[key] for sentence in sentences if (key := (model.version, sentence)) in _KEPT_TONES}
    missing = list(dict.fromkeys(sentence for sentence in sentences if sentence not in scored))
    if missing:
        items = [(sentence, [(0, len(sentence))] if sentence.strip() else []) for sentence in missing]
        states = None
        if encoder is not None and model.top_layer is not None:
            layers = {model.top_layer.layers}
            encoded = encoder.encode(
                missing, states_for=range(len(missing)), entering_top=dict.fromkeys(range(len(missing)), layers)
            )
            states = [encoded.states[index] for index in range(len(missing))]
        scores = [tone_score(matrix[0]) if len(matrix) else 0.0 for matrix in model.probabilities(items, states)]
        if len(_KEPT_TONES) + len(missing) > KEPT_TONES_MOST:
            _KEPT_TONES.clear()
        _KEPT_TONES.update(((model.version, sentence), score) for sentence, score in zip(missing, scores, strict=True))
        scored.update(zip(missing, scores, strict=True))
    return [scored[sentence] for sentence in sentences]


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
