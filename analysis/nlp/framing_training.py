"""Training and evaluating the framing classifier (scikit-learn; only the training command imports this).

Protocol, so that a cross-validated score is an honest estimate: every choice
learnt from labels (feature standardisation, the regularisation strength, each
frame's decision threshold) is made inside the training folds, by an inner
cross-validation over the training part only; the held-out fold is scored once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold

from analysis.nlp.framing import FRAMES, FramingModel

Matrix = np.ndarray[Any, np.dtype[Any]]

C_GRID = (0.001, 0.003, 0.01)
THRESHOLD_GRID = np.round(np.arange(0.1, 0.8, 0.025), 3)
INNER_FOLDS = 4


@dataclass(frozen=True)
class LabelledArticle:
    title: str
    text: str
    frames: list[str]


@dataclass(frozen=True)
class Scores:
    micro_f1: float
    macro_f1: float
    per_frame: dict[str, float]


def labelled_read(path: Path) -> Iterator[LabelledArticle]:
    """Articles of a JSONL file with ``title``, ``text`` and ``gold_frames`` (names from FRAMES)."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            frames = record.get("gold_frames")
            if not isinstance(frames, list) or not all(frame in FRAMES for frame in frames):
                raise ValueError(f"line {number}: gold_frames must be a list of frames from the codebook")
            yield LabelledArticle(
                title=str(record.get("title") or ""), text=str(record.get("text") or ""), frames=frames
            )


def labels_matrix(articles: list[LabelledArticle], frames: list[str] = FRAMES) -> Matrix:
    return np.array([[frame in article.frames for frame in frames] for article in articles], dtype=bool)


def scores(gold: Matrix, predicted: Matrix, frames: list[str] = FRAMES) -> Scores:
    per_frame = f1_score(gold, predicted, average=None, zero_division=0)
    return Scores(
        micro_f1=float(f1_score(gold, predicted, average="micro", zero_division=0)),
        macro_f1=float(f1_score(gold, predicted, average="macro", zero_division=0)),
        per_frame={frame: float(value) for frame, value in zip(frames, per_frame, strict=True)},
    )


def _standardise(features: Matrix) -> tuple[Matrix, Matrix]:
    return features.mean(axis=0), features.std(axis=0) + 1e-6


def _fit(features: Matrix, labels: Matrix, regularisation: float) -> tuple[Matrix, Matrix]:
    """Coefficients and intercepts of one balanced logistic regression per frame (standardised features)."""
    coef = np.zeros((labels.shape[1], features.shape[1]), dtype=np.float64)
    intercept = np.zeros(labels.shape[1], dtype=np.float64)
    for index in range(labels.shape[1]):
        column = labels[:, index]
        if column.all() or not column.any():
            # A frame always (or never) present in the training data: a constant.
            intercept[index] = 8.0 if column.all() else -8.0
            continue
        model = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=3000)
        model.fit(features, column)
        coef[index], intercept[index] = model.coef_[0], model.intercept_[0]
    return coef, intercept


def _probabilities(features: Matrix, coef: Matrix, intercept: Matrix) -> Matrix:
    return 1.0 / (1.0 + np.exp(-(features @ coef.T + intercept)))


def _decide(probabilities: Matrix, thresholds: Matrix) -> Matrix:
    decided = probabilities >= thresholds
    empty = ~decided.any(axis=1)
    decided[empty, probabilities[empty].argmax(axis=1)] = True
    return decided


def _out_of_fold(features: Matrix, labels: Matrix, regularisation: float, seed: int) -> Matrix:
    """Probabilities for each training article from models that did not see it (the inner folds)."""
    probabilities = np.zeros(labels.shape, dtype=np.float64)
    for train, held_out in KFold(INNER_FOLDS, shuffle=True, random_state=seed).split(features):
        mean, scale = _standardise(features[train])
        coef, intercept = _fit((features[train] - mean) / scale, labels[train], regularisation)
        probabilities[held_out] = _probabilities((features[held_out] - mean) / scale, coef, intercept)
    return probabilities


def _thresholds(probabilities: Matrix, labels: Matrix) -> Matrix:
    """Each frame's threshold maximising its F1 on out-of-fold probabilities."""
    thresholds = np.full(labels.shape[1], 0.5)
    for index in range(labels.shape[1]):
        if not labels[:, index].any():
            continue
        f1s = [
            f1_score(labels[:, index], probabilities[:, index] >= value, zero_division=0) for value in THRESHOLD_GRID
        ]
        thresholds[index] = float(THRESHOLD_GRID[int(np.argmax(f1s))])
    return thresholds


def framing_fit(
    features: Matrix, labels: Matrix, *, frames: list[str] = FRAMES, seed: int = 0, meta: dict[str, str] | None = None
) -> FramingModel:
    """A framing model with its regularisation and thresholds chosen by inner cross-validation on this data."""
    features = np.asarray(features, dtype=np.float64)
    best: tuple[float, float, Matrix] | None = None
    for regularisation in C_GRID:
        probabilities = _out_of_fold(features, labels, regularisation, seed)
        thresholds = _thresholds(probabilities, labels)
        result = scores(labels, _decide(probabilities, thresholds), frames)
        objective = result.micro_f1 + result.macro_f1
        if best is None or objective > best[0]:
            best = (objective, regularisation, thresholds)
    assert best is not None
    _objective, regularisation, thresholds = best
    mean, scale = _standardise(features)
    coef, intercept = _fit((features - mean) / scale, labels, regularisation)
    return FramingModel(
        frames=list(frames),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        coef=coef.astype(np.float32),
        intercept=intercept.astype(np.float32),
        thresholds=thresholds.astype(np.float32),
        meta={**(meta or {}), "C": str(regularisation)},
    )


def framing_cross_validate(features: Matrix, labels: Matrix, *, folds: int = 5, seed: int = 0) -> Scores:
    """Scores over held-out folds, each model fitted (with its nested choices) on the other folds only."""
    predicted = np.zeros(labels.shape, dtype=bool)
    for train, held_out in KFold(folds, shuffle=True, random_state=seed).split(features):
        model = framing_fit(features[train], labels[train], seed=seed)
        predicted[held_out] = model.decide(model.probabilities(features[held_out]))
    return scores(labels, predicted)


def majority_cross_validate(labels: Matrix, *, folds: int = 5, seed: int = 0) -> Scores:
    """The baseline that tags every article with the k most common frames of the training folds.

    k is the one that scores best (micro-F1) on the training folds.
    """
    predicted = np.zeros(labels.shape, dtype=bool)
    for train, held_out in KFold(folds, shuffle=True, random_state=seed).split(labels):
        order = np.argsort(-labels[train].sum(axis=0), kind="stable")

        def tagged(rows: int, count: int, order: Matrix = order) -> Matrix:
            result = np.zeros((rows, labels.shape[1]), dtype=bool)
            result[:, order[:count]] = True
            return result

        count = max(
            range(1, labels.shape[1] + 1),
            key=lambda count: scores(labels[train], tagged(len(train), count)).micro_f1,
        )
        predicted[held_out] = tagged(len(held_out), count)
    return scores(labels, predicted)
