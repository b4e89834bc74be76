"""Scoring the same-claim model on labelled sentence pairs: what ``manage.py evaluate_claims`` runs.

The pairs are encoded by the analysis's own encoder and rounded to float16, as the analysis
stores sentence vectors, so the model reads here what it reads at run time. The training code
in ``lab/`` reads its data and scores its choices through these same functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.nlp.same_claim import SameClaimModel
from analysis.services import analyser

Matrix = np.ndarray[Any, np.dtype[Any]]


@dataclass(frozen=True)
class LabelledPair:
    first: str
    second: str
    same: bool


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    f1: float
    predicted: int
    positives: int
    pairs: int


def pairs_read(path: Path) -> list[LabelledPair]:
    """Pairs of a JSONL file with ``sentence_a``, ``sentence_b`` and ``gold_same_claim`` (true or false)."""
    pairs = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            first, second, same = record.get("sentence_a"), record.get("sentence_b"), record.get("gold_same_claim")
            if not isinstance(first, str) or not isinstance(second, str) or not isinstance(same, bool):
                raise ValueError(
                    f"line {number}: needs sentence_a and sentence_b (text) and gold_same_claim (true/false)"
                )
            pairs.append(LabelledPair(first, second, same))
    return pairs


def pairs_encode(pairs: list[LabelledPair]) -> tuple[Matrix, Matrix]:
    """The unit vectors of each pair's two sentences, as the analysis stores them (float16, read as float32)."""
    texts = sorted({pair.first for pair in pairs} | {pair.second for pair in pairs})
    vectors = analyser().encode(texts).astype(np.float16).astype(np.float32)
    row = {text: index for index, text in enumerate(texts)}
    return (
        vectors[[row[pair.first] for pair in pairs]],
        vectors[[row[pair.second] for pair in pairs]],
    )


def pair_scores(gold: Matrix, predicted: Matrix) -> PairScores:
    gold, predicted = np.asarray(gold, dtype=bool), np.asarray(predicted, dtype=bool)
    true_positive = int((gold & predicted).sum())
    precision = true_positive / int(predicted.sum()) if predicted.any() else 0.0
    recall = true_positive / int(gold.sum()) if gold.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(precision, recall, f1, int(predicted.sum()), int(gold.sum()), len(gold))


def model_probabilities(model: SameClaimModel, pairs: list[LabelledPair], first: Matrix, second: Matrix) -> Matrix:
    return model.pair_probabilities(first, second, [pair.first for pair in pairs], [pair.second for pair in pairs])
