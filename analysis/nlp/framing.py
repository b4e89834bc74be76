"""Framing over the 14 generic policy frames (Boydstun et al., Policy Frames Codebook).

The shipped model (since issue 18) is the embedding model alone, chosen on folds grouped by
topic, with a display threshold below which a tag is kept but not shown to readers. The
format also carries two linear models per frame, stacked (each frame's logit a weighted sum
of the two models' logits of that frame), as shipped before:

- an *embedding* logistic regression over the mean of the article's unit sentence
  vectors (the same MiniLM vectors the analysis stores);
- a *lexical* logistic regression over TF-IDF word unigrams and bigrams of the
  headline and the same sentences (a capped vocabulary).

Each frame has its own decision threshold, chosen by cross-validation on the
training data (jointly, for micro-F1 + macro-F1); an article that passes none gets
its most probable frame. The weights are a small ``.npz`` (arrays only, no pickles)
shipped in ``weights/`` with a model card; ``python -m lab.train_framing`` writes a new one.

Both models are linear in quantities that add up over sentences (the mean of the
sentence vectors; the term counts), and so is their stack, so each sentence's share
of a frame's score is exact: the sentences that push it up the most are the evidence
a page shows.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Sequence
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
FORMAT = 3  # of the weights file: 2 added the lexical model (and a blend, since retired), 3 the per-frame stack

Matrix = np.ndarray[Any, np.dtype[Any]]
# The weight of a blend of the two models' probabilities that format-2 files carried (1.0: none).
RETIRED_BLEND = 1.0

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def segment_terms(text: str) -> list[str]:
    """The lexical model's terms of one segment (a headline or a sentence): lower-cased words and word pairs.

    Pairs never cross a segment boundary, so a sentence's terms are its own.
    """
    words = _TOKEN.findall(text.lower())
    return words + [f"{first} {second}" for first, second in itertools.pairwise(words)]


def article_features(sentence_matrix: Matrix) -> Matrix:
    """The pooled vector the embedding model reads: the mean of the article's unit sentence vectors."""
    matrix = np.asarray(sentence_matrix, dtype=np.float32)
    return matrix.mean(axis=0) if matrix.size else np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class FrameTag:
    frame: str
    score: float
    sentences: list[int]
    # Confident enough to show a reader (the model's display threshold, see its card).
    shown: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "score": round(self.score, 3), "sentences": self.sentences, "shown": self.shown}


@dataclass
class LexicalModel:
    """Per-frame logistic regressions over sublinear, L2-normalised TF-IDF of word unigrams and bigrams."""

    vocabulary: list[str]
    idf: Matrix  # terms
    coef: Matrix  # frames x terms
    intercept: Matrix  # frames

    @functools.cached_property
    def index(self) -> dict[str, int]:
        return {term: position for position, term in enumerate(self.vocabulary)}

    def segment_counts(self, segments: Sequence[str]) -> tuple[Matrix, Matrix]:
        """The vocabulary terms present (their indices) and each segment's count of each (segments x terms)."""
        per_segment = [
            Counter(position for term in segment_terms(text) if (position := self.index.get(term)) is not None)
            for text in segments
        ]
        present = np.array(sorted(set().union(*per_segment)), dtype=np.int64)
        column = {int(position): number for number, position in enumerate(present)}
        counts = np.zeros((len(segments), len(present)), dtype=np.float32)
        for row, counter in enumerate(per_segment):
            for position, count in counter.items():
                counts[row, column[position]] = count
        return present, counts

    def weights(self, present: Matrix, counts: Matrix) -> Matrix:
        """The article's TF-IDF values of the present terms, from the summed counts of its segments."""
        total = counts.sum(axis=0)
        values = (1.0 + np.log(np.maximum(total, 1.0))) * self.idf[present]
        norm = float(np.linalg.norm(values))
        return values / norm if norm else values

    def logits(self, segments: Sequence[str]) -> Matrix:
        present, counts = self.segment_counts(segments)
        return self.weights(present, counts) @ self.coef[:, present].T + self.intercept

    def contributions(self, segments: Sequence[str]) -> Matrix:
        """Each segment's exact share of each frame's logit (segments x frames): a term's share splits by count."""
        present, counts = self.segment_counts(segments)
        if not len(present):
            return np.zeros((len(segments), len(self.intercept)), dtype=np.float32)
        shares = counts / counts.sum(axis=0)
        return (shares * self.weights(present, counts)) @ self.coef[:, present].T


def _sigmoid(logits: Matrix) -> Matrix:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))


@dataclass
class FramingModel:
    """An embedding and a lexical model per frame, stacked, with a threshold per frame.

    ``stack`` (frames x 2: each frame's weights of its embedding and lexical logits,
    ``stack_intercept`` beside): a frame's logit is a weighted sum of the two models' logits
    of that frame, the weights learnt per frame on out-of-fold logits. A model without a
    lexical part (``lexical`` None) is the embedding model alone; one with it needs its stack.
    """

    frames: list[str]
    mean: Matrix  # embedding model: feature standardisation, learnt on the training data
    scale: Matrix
    coef: Matrix  # frames x features
    intercept: Matrix  # frames
    thresholds: Matrix  # frames
    lexical: LexicalModel | None = None
    stack: Matrix | None = None  # frames x 2
    stack_intercept: Matrix | None = None  # frames
    # A tag is shown to readers only at or above this probability (0: every tag is shown).
    display_threshold: float = 0.0
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        # The arrays as stored (float16 coefficients), so a model and its saved file share one version.
        digest.update(np.ascontiguousarray(self.coef, dtype=np.float16).tobytes())
        for array in (self.mean, self.scale, self.intercept, self.thresholds):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        kind = "linear"
        if self.display_threshold:
            digest.update(np.array([self.display_threshold], dtype=np.float32).tobytes())
        if self.lexical is not None:
            kind = "stack"
            stack, stack_intercept = self._stack()
            digest.update("\n".join(self.lexical.vocabulary).encode())
            digest.update(np.ascontiguousarray(self.lexical.coef, dtype=np.float16).tobytes())
            # The 1.0 is the retired blend weight, still hashed so that a model keeps the version its
            # analyses recorded (a changed version re-tags every article).
            for array in (self.lexical.idf, self.lexical.intercept, np.array([RETIRED_BLEND])):
                digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
            for array in (stack, stack_intercept):
                digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        return f"{kind}-{self.meta.get('name', 'framing')}-{digest.hexdigest()[:8]}"

    def _stack(self) -> tuple[Matrix, Matrix]:
        if self.stack is None or self.stack_intercept is None:
            raise ValueError("a framing model with a lexical part needs its per-frame stack")
        return self.stack, self.stack_intercept

    def embedding_logits(self, features: Matrix) -> Matrix:
        features = np.atleast_2d(np.asarray(features, dtype=np.float32))
        return ((features - self.mean) / self.scale) @ self.coef.T + self.intercept

    def combine(self, embedding_logits: Matrix, lexical_logits: Matrix | None) -> Matrix:
        """Combined per-frame probabilities from each model's logits (rows: articles)."""
        if self.lexical is None or lexical_logits is None:
            return _sigmoid(embedding_logits)
        stack, stack_intercept = self._stack()
        return _sigmoid(embedding_logits * stack[:, 0] + lexical_logits * stack[:, 1] + stack_intercept)

    def probabilities(self, features: Matrix, segments: Sequence[Sequence[str]] | None = None) -> Matrix:
        """Per-frame probabilities of articles: their pooled vectors and (for the lexical model) their segments.

        An article's segments are its headline and sentences, as ``tag`` reads them.
        """
        embedding = self.embedding_logits(features)
        if self.lexical is None:
            return _sigmoid(embedding)
        if segments is None or len(segments) != len(embedding):
            raise ValueError("this framing model also reads text: give each article's headline and sentences")
        lexical = np.vstack([self.lexical.logits(article) for article in segments])
        return self.combine(embedding, lexical)

    def decide(self, probabilities: Matrix) -> Matrix:
        """Frames above their threshold; an article with none gets its most likely frame."""
        probabilities = np.atleast_2d(probabilities)
        decided = probabilities >= self.thresholds
        empty = ~decided.any(axis=1)
        decided[empty, probabilities[empty].argmax(axis=1)] = True
        return decided

    def tag(
        self, sentence_matrix: Matrix, sentences: Sequence[str] = (), title: str = "", *, evidence: bool = True
    ) -> list[FrameTag]:
        """The article's frames, most probable first, each with the sentences that carry it (with ``evidence``).

        ``sentences`` are the texts of the rows of ``sentence_matrix`` (the lexical model reads
        them with the headline); evidence indexes them.
        """
        if np.asarray(sentence_matrix).size == 0:
            return []
        matrix = np.asarray(sentence_matrix, dtype=np.float32)
        embedding_logits = self.embedding_logits(article_features(matrix))[0]
        # The embedding logit is linear in the mean of the sentences: each sentence's share of it.
        contributions = (matrix / self.scale) @ self.coef.T / len(matrix)  # sentences x frames
        lexical_logits = None
        if self.lexical is not None:
            segments = [title, *sentences]
            lexical_logits = self.lexical.logits(segments)
            lexical_shares = self.lexical.contributions(segments)[1:]  # the headline is not a sentence
            if len(lexical_shares) == len(matrix):
                # The stacked logit is a weighted sum of the two logits: so are the sentences' shares of it.
                stack, _intercept = self._stack()
                contributions = contributions * stack[:, 0] + lexical_shares * stack[:, 1]
        probabilities = self.combine(embedding_logits[None, :], None if lexical_logits is None else lexical_logits)[0]
        decided = self.decide(probabilities)[0]
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
                    shown=bool(probabilities[index] >= self.display_threshold),
                )
            )
        tags.sort(key=lambda tag: -tag.score)
        return tags

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {
            "format": np.array(FORMAT),
            "frames": np.array(self.frames),
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "coef": self.coef.astype(np.float16),
            "intercept": self.intercept.astype(np.float32),
            "thresholds": self.thresholds.astype(np.float32),
            "display_threshold": np.array(self.display_threshold, dtype=np.float32),
            "meta_keys": np.array(list(self.meta)),
            "meta_values": np.array(list(self.meta.values())),
        }
        if self.lexical is not None:
            arrays |= {
                "lexical_vocabulary": np.array(self.lexical.vocabulary),
                "lexical_idf": self.lexical.idf.astype(np.float32),
                "lexical_coef": self.lexical.coef.astype(np.float16),
                "lexical_intercept": self.lexical.intercept.astype(np.float32),
            }
            stack, stack_intercept = self._stack()
            arrays |= {"stack": stack.astype(np.float32), "stack_intercept": stack_intercept.astype(np.float32)}
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: Path) -> FramingModel:
        with np.load(path, allow_pickle=False) as data:
            # Older files carry the blend weight; at 1.0 (the default, and every stacked model's) it did nothing.
            if "blend" in data and float(data["blend"]) != RETIRED_BLEND:
                raise ValueError(
                    f"{path}: a blended framing model, no longer supported: retrain it (lab.train_framing)"
                )
            if "lexical_vocabulary" in data and "stack" not in data:
                raise ValueError(f"{path}: a lexical model without its stack, no longer supported: retrain it")
            lexical = None
            if "lexical_vocabulary" in data:
                lexical = LexicalModel(
                    vocabulary=[str(term) for term in data["lexical_vocabulary"]],
                    idf=data["lexical_idf"].astype(np.float32),
                    coef=data["lexical_coef"].astype(np.float32),
                    intercept=data["lexical_intercept"].astype(np.float32),
                )
            return cls(
                frames=[str(frame) for frame in data["frames"]],
                mean=data["mean"].astype(np.float32),
                scale=data["scale"].astype(np.float32),
                coef=data["coef"].astype(np.float32),
                intercept=data["intercept"].astype(np.float32),
                thresholds=data["thresholds"].astype(np.float32),
                lexical=lexical,
                stack=data["stack"].astype(np.float32) if "stack" in data else None,
                stack_intercept=data["stack_intercept"].astype(np.float32) if "stack_intercept" in data else None,
                display_threshold=float(data["display_threshold"]) if "display_threshold" in data else 0.0,
                meta=dict(zip(map(str, data["meta_keys"]), map(str, data["meta_values"]), strict=True)),
            )


@functools.cache
def framing_model(path: str = "") -> FramingModel:
    """The process's framing model, loaded once (``path`` empty: the weights shipped with the project)."""
    return FramingModel.load(Path(path) if path else WEIGHTS_PATH)


def idf_of(document_frequency: Matrix, documents: int) -> Matrix:
    """Smoothed inverse document frequency (as scikit-learn's ``TfidfVectorizer``)."""
    return np.log((1.0 + documents) / (1.0 + np.asarray(document_frequency, dtype=np.float64))) + 1.0
