"""Framing over the 14 generic policy frames (Boydstun et al., Policy Frames Codebook).

A trained linear classifier, one logistic regression per frame, over features
pooled from the article's sentence embeddings (the same unit MiniLM vectors the
analysis stores). Its weights are a small ``.npz`` shipped in ``weights/`` with a
model card; ``manage.py train_framing`` writes a new one.

Because the model is linear in the mean of the sentence vectors, an article's
score for a frame is the mean of its sentences' scores, so the sentences that
carry a frame are the ones that push its score up the most: they are the
evidence a page shows next to the tag.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FRAMES = [
    "Economic",
    "Capacity_and_resources",
    "Morality",
    "Fairness_and_equality",
    "Legality_Constitutionality_and_jurisprudence",
    "Policy_prescription_and_evaluation",
    "Crime_and_punishment",
    "Security_and_defense",
    "Health_and_safety",
    "Quality_of_life",
    "Cultural_identity",
    "Public_opinion",
    "Political",
    "External_regulation_and_reputation",
]
WEIGHTS_PATH = Path(__file__).parent / "weights" / "framing.npz"
EVIDENCE_SENTENCES = 3

Matrix = np.ndarray[Any, np.dtype[Any]]


@dataclass(frozen=True)
class FrameTag:
    frame: str
    score: float
    sentences: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "score": round(self.score, 3), "sentences": self.sentences}


def article_features(sentence_matrix: Matrix) -> Matrix:
    """The pooled article vector the classifier reads: the mean of its unit sentence vectors.

    (Max-pooling beside the mean, TF-IDF words and 200-word chunk vectors were tried and did
    not score better in nested cross-validation; see the model card.)
    """
    matrix = np.asarray(sentence_matrix, dtype=np.float32)
    return matrix.mean(axis=0) if matrix.size else np.zeros(0, dtype=np.float32)


@dataclass
class FramingModel:
    """Per-frame logistic regressions on standardised pooled features, with a decision threshold each."""

    frames: list[str]
    mean: Matrix  # feature standardisation, learnt on the training data
    scale: Matrix
    coef: Matrix  # frames x features
    intercept: Matrix  # frames
    thresholds: Matrix  # frames
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        # The coefficients as stored (float16), so a model and its saved file share one version.
        digest.update(np.ascontiguousarray(self.coef, dtype=np.float16).tobytes())
        for array in (self.mean, self.scale, self.intercept, self.thresholds):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        return f"linear-{self.meta.get('name', 'framing')}-{digest.hexdigest()[:8]}"

    def probabilities(self, features: Matrix) -> Matrix:
        """Rows of features in, rows of per-frame probabilities out."""
        features = np.atleast_2d(np.asarray(features, dtype=np.float32))
        logits = ((features - self.mean) / self.scale) @ self.coef.T + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def decide(self, probabilities: Matrix) -> Matrix:
        """Frames above their threshold; an article with none gets its most likely frame."""
        probabilities = np.atleast_2d(probabilities)
        decided = probabilities >= self.thresholds
        empty = ~decided.any(axis=1)
        decided[empty, probabilities[empty].argmax(axis=1)] = True
        return decided

    def tag(self, sentence_matrix: Matrix, *, evidence: bool = True) -> list[FrameTag]:
        """The article's frames, most probable first, each with the sentences that carry it (with ``evidence``)."""
        if np.asarray(sentence_matrix).size == 0:
            return []
        matrix = np.asarray(sentence_matrix, dtype=np.float32)
        probabilities = self.probabilities(article_features(matrix))[0]
        decided = self.decide(probabilities)[0]
        # The logit is linear in the mean of the sentences: each sentence's share of a frame's logit.
        contributions = (matrix / self.scale) @ self.coef.T  # sentences x frames
        tags = []
        for index in np.flatnonzero(decided):
            column = contributions[:, index]
            above = np.flatnonzero(column > column.mean())
            strongest = sorted(above, key=lambda row: -column[row])[:EVIDENCE_SENTENCES] if evidence else []
            tags.append(
                FrameTag(
                    frame=self.frames[index],
                    score=float(probabilities[index]),
                    sentences=sorted(int(row) for row in strongest),
                )
            )
        tags.sort(key=lambda tag: -tag.score)
        return tags

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                frames=np.array(self.frames),
                mean=self.mean.astype(np.float32),
                scale=self.scale.astype(np.float32),
                coef=self.coef.astype(np.float16),
                intercept=self.intercept.astype(np.float32),
                thresholds=self.thresholds.astype(np.float32),
                meta_keys=np.array(list(self.meta)),
                meta_values=np.array(list(self.meta.values())),
            )

    @classmethod
    def load(cls, path: Path) -> FramingModel:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                frames=[str(frame) for frame in data["frames"]],
                mean=data["mean"].astype(np.float32),
                scale=data["scale"].astype(np.float32),
                coef=data["coef"].astype(np.float32),
                intercept=data["intercept"].astype(np.float32),
                thresholds=data["thresholds"].astype(np.float32),
                meta=dict(zip(map(str, data["meta_keys"]), map(str, data["meta_values"]), strict=True)),
            )


@functools.cache
def framing_model(path: str = "") -> FramingModel:
    """The process's framing model, loaded once (``path`` empty: the weights shipped with the project)."""
    return FramingModel.load(Path(path) if path else WEIGHTS_PATH)
