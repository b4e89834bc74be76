"""Extractive selection: choose central, non-redundant sentences (maximal marginal relevance).

Pure numpy over unit sentence vectors; the callers decide what counts as central.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from analysis.nlp.lexicon import quotation_fragment

Matrix = np.ndarray[Any, np.dtype[np.float32]]
# Penalties are asked for this many rows at a time (a model reads them in one batch).
PENALTY_BATCH = 4


def states_a_fact(sentence: str) -> bool:
    """Whether a sentence can stand for its article on a page that compares what outlets reported: not
    a question (the outlet's or a source's: "Where was the Guard?" reports nothing), nor a piece of a
    longer quotation cut off from its speaker (``lexicon.quotation_fragment``)."""
    text = sentence.rstrip().rstrip("\"\u201d\u2019')]")
    return bool(text) and not text.endswith("?") and not quotation_fragment(sentence)


# What a sentence cannot be read without the one before it: it opens on a pronoun (after at most a short
# opening phrase: "On Thursday, they learned ..."), or points back with "that" or "those" after a
# preposition ("... repay part of that money"). "This week" and "these days" point at the article's date.
_OPENING_POINTER = re.compile(
    r"^\W*(?:[^,;:\"\u201c\u201d]{1,40},\s+)?(?:he|she|they|it|his|her|their|its|him|them|this|that|these|those)\b"
    r"(?!\s+(?:year|week|month|morning|afternoon|evening|weekend|season|spring|summer|fall|autumn|winter|days)\b)",
    re.IGNORECASE,
)
_POINTER = re.compile(
    r"\b(?:of|to|from|for|with|on|about|in|at|by|over|under|into|after|before)\s+(?:that|those)\s+(?!who\b|whose\b|which\b|that\b)\w",
    re.IGNORECASE,
)


def stands_alone(sentence: str) -> bool:
    """Whether a sentence can be read on its own, out of its article: not when it opens on a pronoun
    ("They learned from a company email ...": who?) or points back at something named before it
    ("... whether the company must repay part of that money": which money?). The page quotes
    sentences apart from their articles (the overview, a claim, a side's summary): where a fact is
    also stated by a sentence that names what it speaks of, that sentence words it."""
    return not (_OPENING_POINTER.search(sentence) or _POINTER.search(sentence))


def unit(vector: Matrix) -> Matrix:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def sentences_select(
    matrix: Matrix,
    target: Matrix,
    *,
    count: int,
    bonus: Matrix | None = None,
    penalty: Callable[[Sequence[int]], Matrix] | None = None,
    diversity: float = 0.3,
    redundant_above: float = 0.8,
) -> list[int]:
    """Indices of up to ``count`` rows of ``matrix`` central to ``target`` and unlike each other.

    ``bonus`` adds to a row's relevance (for example, for facts more than one side reported).
    ``penalty(rows)`` gives what to take off those rows' relevance (0 or more), asked only for rows
    that could be chosen: a row's score without its penalty is an upper bound, so the rows with the
    best bounds are asked, in batches, until the best score is one whose penalty is known. The rows
    chosen are those the penalties of every row would give; a story's overview asked the tone model
    for every sentence of the story on each refresh, most of the clustering worker's time.
    Rows more similar than ``redundant_above`` to a chosen row are never chosen.
    """
    if matrix.size == 0 or count <= 0:
        return []
    relevance = matrix @ target
    if bonus is not None:
        relevance = relevance + bonus
    known = np.full(len(matrix), penalty is None)
    chosen: list[int] = []
    available = np.ones(len(matrix), dtype=bool)
    while len(chosen) < count and available.any():
        if chosen:
            redundancy = (matrix @ matrix[chosen].T).max(axis=1)
            available &= redundancy < redundant_above
            if not available.any():
                break
            score = (1 - diversity) * relevance - diversity * redundancy
        else:
            score = relevance.copy()
        score[~available] = -np.inf
        best = int(np.argmax(score))
        while not known[best]:
            assert penalty is not None
            asked = [int(row) for row in np.argsort(-score, kind="stable") if available[row] and not known[row]]
            asked = asked[:PENALTY_BATCH]
            taken = np.asarray(penalty(asked), dtype=relevance.dtype)
            relevance[asked] -= taken
            score[asked] -= (1 - diversity if chosen else 1.0) * taken
            known[asked] = True
            best = int(np.argmax(score))
        chosen.append(best)
        available[best] = False
    return chosen
