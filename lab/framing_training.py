"""Training the framing classifier (scikit-learn): what ``python -m lab.train_framing`` runs.

Protocol, so that a cross-validated score is an honest estimate: every choice
learnt from labels (feature standardisation, the lexical vocabulary, the
regularisation strengths, the per-frame stack of the two models, each frame's
decision threshold) is made inside the training folds, by an inner cross-validation
over the training part only; the held-out fold is scored once.

The building blocks (one logistic regression per frame, each model's held-out logits, the
stack, the thresholds) are public so that the benchmarks in ``lab/bench/`` score other models
under the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold

from analysis.evaluation import Scores, scores
from analysis.nlp.framing import FRAMES, FramingModel, LexicalModel, idf_of, segment_terms

Matrix = np.ndarray[Any, np.dtype[Any]]
Segments = Sequence[Sequence[str]]  # per article: its headline, then its sentences

EMBEDDING_C_GRID = (0.001, 0.003, 0.01)
LEXICAL_C_GRID = (10.0,)  # one value: each lexical fit is the slow part of training
STACK_C_GRID = (0.03, 0.1, 0.3, 1.0)
THRESHOLD_GRID = np.round(np.arange(0.1, 0.8, 0.025), 3)
THRESHOLD_ROUNDS = 2  # passes of the joint (micro-F1 + macro-F1) threshold search over the frames
INNER_FOLDS = 4
MAX_TERMS = 20_000
MIN_DOCUMENTS = 2  # a term in fewer training articles than this is left out of the vocabulary


def f1_objective(labels: Matrix, decided: Matrix) -> float:
    """micro-F1 + macro-F1 (what the inner choices maximise), in numpy: it is computed thousands of times."""
    true_positive = (labels & decided).sum(axis=0)
    errors = (labels ^ decided).sum(axis=0)  # false positives and false negatives
    denominator = 2 * true_positive + errors
    per_frame = np.divide(2 * true_positive, denominator, out=np.zeros(len(denominator)), where=denominator > 0)
    total = denominator.sum()
    return float((2 * true_positive.sum() / total if total else 0.0) + per_frame.mean())


# --- the two models' fitting, on one set of training rows


def _standardise(features: Matrix) -> tuple[Matrix, Matrix]:
    return features.mean(axis=0), features.std(axis=0) + 1e-6


def frames_logistic_fit(
    features: Matrix | sparse.csr_matrix, labels: Matrix, regularisation: float
) -> tuple[Matrix, Matrix]:
    """Coefficients and intercepts of one balanced logistic regression per frame.

    Balanced class weights, so that the rare frames (a few dozen articles) are not
    simply never predicted.
    """
    coef = np.zeros((labels.shape[1], features.shape[1]), dtype=np.float64)
    intercept = np.zeros(labels.shape[1], dtype=np.float64)
    for index in range(labels.shape[1]):
        column = labels[:, index]
        if column.all() or not column.any():
            # A frame always (or never) present in the training data: a constant.
            intercept[index] = 8.0 if column.all() else -8.0
            continue
        # liblinear is several times faster than lbfgs on the sparse, wide TF-IDF rows (its penalised
        # intercept matters little there); the dense embedding model keeps lbfgs.
        solver = "liblinear" if sparse.issparse(features) else "lbfgs"
        model = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=3000, solver=solver)
        model.fit(features, column)
        coef[index], intercept[index] = model.coef_[0], model.intercept_[0]
    return coef, intercept


def sigmoid(logits: Matrix) -> Matrix:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))


def embedding_logits(train_features: Matrix, labels: Matrix, regularisation: float, test_features: Matrix) -> Matrix:
    """The embedding model fitted on the training rows (pooled vectors): its per-frame logits of the test rows."""
    mean, scale = _standardise(train_features)
    coef, intercept = frames_logistic_fit((train_features - mean) / scale, labels, regularisation)
    return ((test_features - mean) / scale) @ coef.T + intercept


def lexical_vocabulary(segments: Segments, *, max_terms: int = MAX_TERMS) -> tuple[list[str], Matrix]:
    """The vocabulary (terms in at least MIN_DOCUMENTS articles, the most widespread first) and its IDF."""
    document_frequency: dict[str, int] = {}
    for article in segments:
        for term in {term for text in article for term in segment_terms(text)}:
            document_frequency[term] = document_frequency.get(term, 0) + 1
    kept = [term for term, count in document_frequency.items() if count >= MIN_DOCUMENTS]
    kept.sort(key=lambda term: (-document_frequency[term], term))
    vocabulary = sorted(kept[:max_terms])
    return vocabulary, idf_of(np.array([document_frequency[term] for term in vocabulary]), len(segments))


def lexical_matrix(model: LexicalModel, segments: Segments) -> sparse.csr_matrix:
    """The TF-IDF rows of articles, computed by the model's own code (as at analysis time)."""
    indices, values, pointers = [], [], [0]
    for article in segments:
        present, counts = model.segment_counts(article)
        indices.append(present)
        values.append(model.weights(present, counts))
        pointers.append(pointers[-1] + len(present))
    return sparse.csr_matrix(
        (np.concatenate(values or [np.zeros(0)]), np.concatenate(indices or [np.zeros(0, dtype=np.int64)]), pointers),
        shape=(len(segments), len(model.vocabulary)),
    )


def _lexical_fit(
    segments: Segments, labels: Matrix, regularisation: float, frames: int
) -> tuple[LexicalModel, sparse.csr_matrix]:
    vocabulary, idf = lexical_vocabulary(segments)
    model = LexicalModel(
        vocabulary=vocabulary,
        idf=idf.astype(np.float32),
        coef=np.zeros((frames, len(vocabulary)), dtype=np.float32),
        intercept=np.zeros(frames, dtype=np.float32),
    )
    rows = lexical_matrix(model, segments)
    coef, intercept = frames_logistic_fit(rows, labels, regularisation)
    model.coef, model.intercept = coef.astype(np.float32), intercept.astype(np.float32)
    return model, rows


def lexical_logits(train_segments: Segments, labels: Matrix, regularisation: float, test_segments: Segments) -> Matrix:
    """The lexical model fitted on the training articles (segments): its per-frame logits of the test articles."""
    model, _rows = _lexical_fit(train_segments, labels, regularisation, labels.shape[1])
    return np.asarray(lexical_matrix(model, test_segments) @ model.coef.T) + model.intercept


# --- choices made by inner cross-validation


def frames_decide(probabilities: Matrix, thresholds: Matrix) -> Matrix:
    """Frames at or above their threshold; an article with none gets its most probable frame (as ``FramingModel``)."""
    decided = probabilities >= thresholds
    empty = ~decided.any(axis=1)
    decided[empty, probabilities[empty].argmax(axis=1)] = True
    return decided


def frame_thresholds(probabilities: Matrix, labels: Matrix) -> Matrix:
    """Frame thresholds that maximise micro-F1 + macro-F1 on out-of-fold probabilities.

    Each frame starts at the threshold maximising its own F1 (0.5 for a frame never
    seen); then passes over the frames move one threshold at a time while the sum of
    micro-F1 and macro-F1 improves (per-frame F1 alone over-tags, at micro-F1's cost).
    """
    thresholds = np.full(labels.shape[1], 0.5)
    for index in range(labels.shape[1]):
        if not labels[:, index].any():
            continue
        f1s = [
            f1_score(labels[:, index], probabilities[:, index] >= value, zero_division=0) for value in THRESHOLD_GRID
        ]
        thresholds[index] = float(THRESHOLD_GRID[int(np.argmax(f1s))])
    best = f1_objective(labels, frames_decide(probabilities, thresholds))
    for _round in range(THRESHOLD_ROUNDS):
        for index in range(labels.shape[1]):
            for value in THRESHOLD_GRID:
                trial = thresholds.copy()
                trial[index] = value
                objective = f1_objective(labels, frames_decide(probabilities, trial))
                if objective > best + 1e-9:
                    best, thresholds = objective, trial
    return thresholds


def stack_fit(logits: Matrix, labels: Matrix, regularisation: float) -> tuple[Matrix, Matrix]:
    """Per frame, a balanced logistic regression on that frame's logits from each model.

    ``logits`` is articles x (models · frames): each model's logits side by side (the shipped
    model has two, the embedding model's then the lexical model's). The standardisation is
    folded into the weights: frames x models weights, and intercepts.
    """
    frames = labels.shape[1]
    models = logits.shape[1] // frames
    mean, scale = _standardise(logits)
    weights = np.zeros((frames, models))
    intercept = np.zeros(frames)
    for index in range(frames):
        column = labels[:, index]
        if column.all() or not column.any():
            intercept[index] = 8.0 if column.all() else -8.0
            continue
        own = [model * frames + index for model in range(models)]
        model = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=3000)
        model.fit((logits[:, own] - mean[own]) / scale[own], column)
        weights[index] = model.coef_[0] / scale[own]
        intercept[index] = model.intercept_[0] - float(weights[index] @ mean[own])
    return weights, intercept


def stack_apply(logits: Matrix, weights: Matrix, intercept: Matrix) -> Matrix:
    """The stacked per-frame probabilities of models' logits side by side (as ``stack_fit`` takes them)."""
    frames = len(intercept)
    combined = sum(
        logits[:, model * frames : (model + 1) * frames] * weights[:, model] for model in range(weights.shape[1])
    )
    return sigmoid(combined + intercept)


@dataclass(frozen=True)
class Recipe:
    """What inner cross-validation chose."""

    embedding_c: float
    lexical_c: float | None
    stack_c: float | None
    thresholds: Matrix
    objective: float
    stack_logits: Matrix | None = None  # the out-of-fold logits the stack is fitted on (articles x 2 · frames)


def _inner_folds(rows: int, seed: int) -> list[tuple[Matrix, Matrix]]:
    return list(KFold(INNER_FOLDS, shuffle=True, random_state=seed).split(np.zeros(rows)))


def framing_recipe(features: Matrix, segments: Segments | None, labels: Matrix, *, seed: int = 0) -> Recipe:
    """Regularisations, stack and thresholds that score best (micro-F1 + macro-F1) on out-of-fold predictions.

    Only the rows given are used: called on the training folds of an outer
    cross-validation, it never sees the held-out fold. The stack is fitted on the two
    models' out-of-fold logits; its own out-of-fold probabilities (the same inner folds)
    choose its regularisation and the thresholds.
    """
    folds = _inner_folds(len(features), seed)

    def out_of_fold(logits_of: Any) -> Matrix:
        logits = np.zeros(labels.shape, dtype=np.float64)
        for train, held_out in folds:
            logits[held_out] = logits_of(train, held_out)
        return logits

    embedding = {
        regularisation: out_of_fold(
            lambda train, held_out, c=regularisation: embedding_logits(
                features[train], labels[train], c, features[held_out]
            )
        )
        for regularisation in EMBEDDING_C_GRID
    }
    lexical: dict[float, Matrix] = {}
    if segments is not None:
        lexical = {
            regularisation: out_of_fold(
                lambda train, held_out, c=regularisation: lexical_logits(
                    [segments[row] for row in train], labels[train], c, [segments[row] for row in held_out]
                )
            )
            for regularisation in LEXICAL_C_GRID
        }
    best: Recipe | None = None

    def consider(probabilities: Matrix, **choice: Any) -> None:
        nonlocal best
        thresholds = frame_thresholds(probabilities, labels)
        objective = f1_objective(labels, frames_decide(probabilities, thresholds))
        if best is None or objective > best.objective:
            best = Recipe(thresholds=thresholds, objective=objective, **choice)

    for embedding_c, embedding_out_of_fold in embedding.items():
        if not lexical:
            consider(sigmoid(embedding_out_of_fold), embedding_c=embedding_c, lexical_c=None, stack_c=None)
        for lexical_c, lexical_out_of_fold in lexical.items():
            stack_logits = np.hstack([embedding_out_of_fold, lexical_out_of_fold])
            for stack_c in STACK_C_GRID:
                probabilities = np.zeros(labels.shape, dtype=np.float64)
                for train, held_out in folds:
                    weights, intercept = stack_fit(stack_logits[train], labels[train], stack_c)
                    probabilities[held_out] = stack_apply(stack_logits[held_out], weights, intercept)
                consider(
                    probabilities,
                    embedding_c=embedding_c,
                    lexical_c=lexical_c,
                    stack_c=stack_c,
                    stack_logits=stack_logits,
                )
    assert best is not None
    return best


def framing_fit(
    features: Matrix,
    labels: Matrix,
    segments: Segments | None = None,
    *,
    frames: list[str] = FRAMES,
    seed: int = 0,
    meta: dict[str, str] | None = None,
) -> FramingModel:
    """A framing model with its choices made by inner cross-validation on this data, then fitted on all of it.

    Without ``segments`` (the articles' headlines and sentences) it is the embedding model alone.
    """
    features = np.asarray(features, dtype=np.float64)
    recipe = framing_recipe(features, segments, labels, seed=seed)
    mean, scale = _standardise(features)
    coef, intercept = frames_logistic_fit((features - mean) / scale, labels, recipe.embedding_c)
    lexical = None
    stack = stack_intercept = None
    chosen = {"C": str(recipe.embedding_c)}
    if segments is not None and recipe.lexical_c is not None:
        lexical, _rows = _lexical_fit(segments, labels, recipe.lexical_c, len(frames))
        assert recipe.stack_logits is not None
        assert recipe.stack_c is not None
        stack, stack_intercept = stack_fit(recipe.stack_logits, labels, recipe.stack_c)
        chosen |= {"lexical_C": str(recipe.lexical_c), "stack_C": str(recipe.stack_c)}
    return FramingModel(
        frames=list(frames),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        coef=coef.astype(np.float32),
        intercept=intercept.astype(np.float32),
        thresholds=recipe.thresholds.astype(np.float32),
        lexical=lexical,
        stack=None if stack is None else stack.astype(np.float32),
        stack_intercept=None if stack_intercept is None else stack_intercept.astype(np.float32),
        meta={**(meta or {}), **chosen},
    )


def framing_cross_validate(
    features: Matrix, labels: Matrix, segments: Segments | None = None, *, folds: int = 5, seed: int = 0
) -> Scores:
    """Scores over held-out folds, each model fitted (with its nested choices) on the other folds only."""
    predicted = np.zeros(labels.shape, dtype=bool)
    for train, held_out in KFold(folds, shuffle=True, random_state=seed).split(features):
        train_segments = None if segments is None else [segments[row] for row in train]
        model = framing_fit(features[train], labels[train], train_segments, seed=seed)
        held_out_segments = None if segments is None else [segments[row] for row in held_out]
        predicted[held_out] = model.decide(model.probabilities(features[held_out], held_out_segments))
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
