"""Framing validated the way the held-out data differs: folds grouped by topic.

The held-out SemEval articles come from another period and other topics than the
training ones, so random folds (which put articles on one topic on both sides) flatter
a model that learns topics. Here articles are grouped by topic cluster (k-means over
their mean sentence vectors: no labels used), and every fold holds whole clusters out.
Every choice (the regularisation, each frame's threshold, the confidence a frame needs to
be shown) is made by an inner grouped cross-validation inside the training folds; each
outer fold is scored once.

The model is the simplest that held up: one balanced logistic regression per frame over
the mean of the article's unit sentence vectors (the embedding model alone, no lexical
model, no stack).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.model_selection import GroupKFold

from analysis.evaluation import Scores, scores
from analysis.nlp.framing import FRAMES, FramingModel
from lab.framing_training import (
    _standardise,
    frame_thresholds,
    frames_decide,
    frames_logistic_fit,
    sigmoid,
)

Matrix = np.ndarray[Any, np.dtype[Any]]

TOPIC_CLUSTERS = 10
EMBEDDING_C_GRID = (0.001, 0.003, 0.01, 0.03)
# Shown frames must be right this often on the inner folds' predictions, a margin above the 0.75 aimed at.
DISPLAY_PRECISION = 0.8
DISPLAY_GRID = np.round(np.arange(0.3, 0.96, 0.01), 3)
INNER_FOLDS = 4


def topic_groups(features: Matrix, *, clusters: int = TOPIC_CLUSTERS, seed: int = 0) -> Matrix:
    """A topic cluster per article: k-means over the unit-normalised mean sentence vectors."""
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-9)
    return KMeans(n_clusters=clusters, n_init=10, random_state=seed).fit_predict(unit)


def _fit(features: Matrix, labels: Matrix, regularisation: float) -> tuple[Matrix, Matrix, Matrix, Matrix]:
    mean, scale = _standardise(features)
    coef, intercept = frames_logistic_fit((features - mean) / scale, labels, regularisation)
    return mean, scale, coef, intercept


def _probabilities(model: tuple[Matrix, Matrix, Matrix, Matrix], features: Matrix) -> Matrix:
    mean, scale, coef, intercept = model
    return sigmoid(((features - mean) / scale) @ coef.T + intercept)


def display_threshold(probabilities: Matrix, decided: Matrix, labels: Matrix) -> float:
    """The lowest confidence at which the tagged frames at or above it are right DISPLAY_PRECISION of the time."""
    for value in DISPLAY_GRID:
        shown = decided & (probabilities >= value)
        if shown.sum() >= 20 and (shown & labels).sum() / shown.sum() >= DISPLAY_PRECISION:
            return float(value)
    return float(DISPLAY_GRID[-1])


@dataclass(frozen=True)
class GroupedRecipe:
    regularisation: float
    thresholds: Matrix
    display: float


def grouped_recipe(features: Matrix, labels: Matrix, groups: Matrix) -> GroupedRecipe:
    """C, thresholds and the display confidence, from out-of-fold predictions of grouped inner folds."""
    folds = list(GroupKFold(min(INNER_FOLDS, len(set(groups.tolist())))).split(features, labels, groups))
    best: tuple[float, float, Matrix] | None = None
    for regularisation in EMBEDDING_C_GRID:
        out_of_fold = np.zeros(labels.shape, dtype=np.float64)
        for train, test in folds:
            out_of_fold[test] = _probabilities(_fit(features[train], labels[train], regularisation), features[test])
        thresholds = frame_thresholds(out_of_fold, labels)
        result = scores(labels, frames_decide(out_of_fold, thresholds))
        objective = result.micro_f1 + result.macro_f1
        if best is None or objective > best[0]:
            best = (objective, regularisation, out_of_fold)
    assert best is not None
    _objective, regularisation, out_of_fold = best
    thresholds = frame_thresholds(out_of_fold, labels)
    display = display_threshold(out_of_fold, frames_decide(out_of_fold, thresholds), labels)
    return GroupedRecipe(regularisation=regularisation, thresholds=thresholds, display=display)


@dataclass(frozen=True)
class GroupedResult:
    tags: Scores
    shown_precision: float
    shown_share: float  # of the tags, the share confident enough to be shown
    articles_with_a_shown_frame: float


def grouped_cross_validate(features: Matrix, labels: Matrix, groups: Matrix, *, folds: int = 5) -> GroupedResult:
    """Outer folds holding whole topic clusters out; each scored once with choices made inside its training part."""
    decided = np.zeros(labels.shape, dtype=bool)
    shown = np.zeros(labels.shape, dtype=bool)
    for train, test in GroupKFold(folds).split(features, labels, groups):
        recipe = grouped_recipe(features[train], labels[train], groups[train])
        model = _fit(features[train], labels[train], recipe.regularisation)
        probabilities = _probabilities(model, features[test])
        decided[test] = frames_decide(probabilities, recipe.thresholds)
        shown[test] = decided[test] & (probabilities >= recipe.display)
    return GroupedResult(
        tags=scores(labels, decided),
        shown_precision=float((shown & labels).sum() / max(shown.sum(), 1)),
        shown_share=float(shown.sum() / max(decided.sum(), 1)),
        articles_with_a_shown_frame=float(shown.any(axis=1).mean()),
    )


def grouped_fit(features: Matrix, labels: Matrix, groups: Matrix, *, meta: dict[str, str]) -> FramingModel:
    """The embedding model fitted on all the articles, its choices made by grouped cross-validation."""
    recipe = grouped_recipe(features, labels, groups)
    mean, scale, coef, intercept = _fit(features, labels, recipe.regularisation)
    return FramingModel(
        frames=list(FRAMES),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        coef=coef.astype(np.float32),
        intercept=intercept.astype(np.float32),
        thresholds=recipe.thresholds.astype(np.float32),
        display_threshold=recipe.display,
        meta=meta | {"embedding_c": str(recipe.regularisation)},
    )
