"""Tone and loaded language from the VADER lexicon (Hutto and Gilbert, 2014).

VADER is a transparent baseline: each score can be traced to the words that made
it, which is what a reader needs to see on a highlighted sentence.
"""

from __future__ import annotations

import functools
import re

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

VERSION = "vader-3.3.2"
# Words whose lexicon valence is at least this strong read as loaded, not neutral reporting.
LOADED_VALENCE = 2.2
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


@functools.cache
def analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def tone_of(sentences: list[str]) -> float:
    """Mean compound score of the sentences, from -1 (negative) to 1 (positive)."""
    if not sentences:
        return 0.0
    scores = [analyzer().polarity_scores(sentence)["compound"] for sentence in sentences]
    return sum(scores) / len(scores)


def loaded_words(sentence: str) -> list[str]:
    lexicon = analyzer().lexicon
    found = []
    for word in WORD.findall(sentence):
        valence = lexicon.get(word.lower())
        if valence is not None and abs(valence) >= LOADED_VALENCE and word.lower() not in found:
            found.append(word.lower())
    return found
