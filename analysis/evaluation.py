"""Scoring the framing classifier on labelled articles: what ``manage.py evaluate_framing`` runs.

Labelled files, the features the classifier reads (computed by the analysis itself, so they
match what it reads at run time), and micro- and macro-F1 over the frames, in numpy. The
training code in ``lab/`` reads its data and scores its folds through these same functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.nlp.article import ArticleText
from analysis.nlp.framing import FRAMES, article_features
from analysis.services import analyser

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

Matrix = np.ndarray[Any, np.dtype[Any]]

ENCODE_BATCH = 64


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
    """Micro-F1, macro-F1 and each frame's F1 of multi-label predictions (rows: articles).

    F1 is 2·TP / (2·TP + FP + FN); a frame neither in the gold labels nor predicted scores 0 and
    counts in the macro mean (scikit-learn's ``f1_score`` with ``zero_division=0``, which it matches).
    """
    gold, predicted = np.asarray(gold, dtype=bool), np.asarray(predicted, dtype=bool)
    true_positive = (gold & predicted).sum(axis=0)
    denominator = 2 * true_positive + (gold ^ predicted).sum(axis=0)  # + false positives and false negatives
    per_frame = np.divide(
        2 * true_positive, denominator, out=np.zeros(len(denominator), dtype=np.float64), where=denominator > 0
    )
    total = int(denominator.sum())
    return Scores(
        micro_f1=float(2 * true_positive.sum() / total) if total else 0.0,
        macro_f1=float(per_frame.mean()),
        per_frame={frame: float(value) for frame, value in zip(frames, per_frame, strict=True)},
    )


def scores_write(stream: SupportsWrite[str], name: str, result: Scores, *, per_frame: bool = False) -> None:
    stream.write(f"{name}: micro-F1 {result.micro_f1:.3f}  macro-F1 {result.macro_f1:.3f}\n")
    if per_frame:
        for frame, value in result.per_frame.items():
            stream.write(f"    {frame:<46} F1 {value:.3f}\n")


def sentence_matrices_compute(
    articles: list[LabelledArticle],
) -> tuple[list[np.ndarray[Any, Any]], list[list[str]]]:
    """Each article's unit sentence vectors and its segments (headline, then sentences), as the analysis makes them."""
    engine = analyser()
    matrices, segments = [], []
    for start in range(0, len(articles), ENCODE_BATCH):
        batch = [
            ArticleText(title=article.title, text=article.text) for article in articles[start : start + ENCODE_BATCH]
        ]
        for item, (sentences, matrix) in zip(batch, engine.sentence_matrices(batch), strict=True):
            if not len(matrix):
                # An article with no sentence long enough: its title stands in, as in the pipeline.
                matrix = engine.encode([item.title or " "])
            matrices.append(matrix)
            segments.append([item.title, *sentences])
    return matrices, segments


def features_compute(
    articles: list[LabelledArticle], cache: Path | None = None
) -> tuple[np.ndarray[Any, Any], list[list[str]]]:
    """What the classifier reads of each article, computed by the analysis pipeline itself (so they match).

    The pooled sentence vectors (rows), and each article's segments: its headline, then its sentences.
    ``cache`` (an ``.npz``) keeps them between runs: encoding is the slow part.
    """
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if len(data["features"]) == len(articles):
                offsets = data["offsets"]
                texts = [str(text) for text in data["segments"]]
                return data["features"], [texts[offsets[row] : offsets[row + 1]] for row in range(len(articles))]
    matrices, segments = sentence_matrices_compute(articles)
    rows = [article_features(matrix) for matrix in matrices]
    features = np.vstack(rows)
    if cache is not None:
        np.savez(
            cache,
            features=features,
            segments=np.array([text for article in segments for text in article]),
            offsets=np.cumsum([0] + [len(article) for article in segments]),
        )
    return features, segments
