"""Extractive selection: choose central, non-redundant sentences (maximal marginal relevance).

Pure numpy over unit sentence vectors; the callers decide what counts as central.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Matrix = np.ndarray[Any, np.dtype[np.float32]]


def unit(vector: Matrix) -> Matrix:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def sentences_select(
    matrix: Matrix,
    target: Matrix,
    *,
    count: int,
    bonus: Matrix | None = None,
    diversity: float = 0.3,
    redundant_above: float = 0.8,
) -> list[int]:
    """Indices of up to ``count`` rows of ``matrix`` central to ``target`` and unlike each other.

    ``bonus`` adds to a row's relevance (for example, for facts more than one side reported).
    Rows more similar than ``redundant_above`` to a chosen row are never chosen.
    """
    if matrix.size == 0 or count <= 0:
        return []
    relevance = matrix @ target
    if bonus is not None:
        relevance = relevance + bonus
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
        chosen.append(best)
        available[best] = False
    return chosen
