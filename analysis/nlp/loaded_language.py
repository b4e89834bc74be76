"""Loaded language: which sentences speak in loaded terms, and the words that show it.

A logistic regression over the sentence's vector from the shared encoder (the vector the
analysis already computes, so flagging costs no encoding) and a few counts (the
lexicon's loaded words outside quotations, whether the sentence quotes, its length),
trained on SemEval-2023 Task 3 subtask 3 paragraphs labelled Loaded_Language. Its
threshold is chosen for precision: a wrong highlight costs more trust than a missed one.

What a reader sees: a flagged sentence, with the lexicon's words inside it marked as the
evidence (``lexicon.lexicon_words``). Words inside quotation marks are the source's, not the
outlet's: they are neither counted nor marked, and a sentence that is mostly a quotation
is not flagged.

Weights: ``weights/loaded_language.npz`` (arrays only); card ``weights/LOADED_LANGUAGE_MODEL_CARD.md``;
``python -m lab.train_loaded_language`` writes a new one.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.nlp.lexicon import QUOTED, lexicon_words

WEIGHTS_PATH = Path(__file__).parent / "weights" / "loaded_language.npz"
FORMAT = 1
# A sentence whose quotations hold more than this share of its characters speaks in its source's voice.
QUOTED_SHARE = 0.5

Matrix = np.ndarray[Any, np.dtype[Any]]


def counts_features(sentence: str) -> Matrix:
    """The counts the model reads beside the vector: log(1 + lexicon words), quotes or not, log(words)."""
    return np.array(
        [
            math.log1p(len(lexicon_words(sentence))),
            1.0 if QUOTED.search(sentence) else 0.0,
            math.log1p(len(sentence.split())),
        ],
        dtype=np.float32,
    )


def quoted_share(sentence: str) -> float:
    quoted = sum(len(match.group()) for match in QUOTED.finditer(sentence))
    return quoted / len(sentence) if sentence else 0.0


@dataclass
class LoadedLanguageModel:
    mean: Matrix  # standardisation of [vector, counts]
    scale: Matrix
    coef: Matrix
    intercept: float
    threshold: float
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for array in (self.mean, self.scale, self.coef, np.array([self.intercept, self.threshold])):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        return f"linear-{self.meta.get('name', 'loaded')}-{digest.hexdigest()[:8]}"

    def probabilities(self, vectors: Matrix, sentences: Sequence[str]) -> Matrix:
        """P(loaded) of each sentence, from its unit vector (rows of ``vectors``) and its text."""
        if not len(sentences):
            return np.zeros(0, dtype=np.float32)
        features = np.hstack(
            [np.asarray(vectors, dtype=np.float32), np.vstack([counts_features(text) for text in sentences])]
        )
        logits = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))).astype(np.float32)

    def flagged(self, vectors: Matrix, sentences: Sequence[str]) -> list[bool]:
        """Whether each sentence is loaded in the outlet's own voice (a quotation is its source's)."""
        probabilities = self.probabilities(vectors, sentences)
        return [
            bool(probability >= self.threshold) and quoted_share(text) <= QUOTED_SHARE
            for probability, text in zip(probabilities, sentences, strict=True)
        ]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                format=np.array(FORMAT),
                mean=self.mean.astype(np.float32),
                scale=self.scale.astype(np.float32),
                coef=self.coef.astype(np.float32),
                intercept=np.array(self.intercept, dtype=np.float32),
                threshold=np.array(self.threshold, dtype=np.float32),
                meta_keys=np.array(list(self.meta)),
                meta_values=np.array(list(self.meta.values())),
            )

    @classmethod
    def load(cls, path: Path) -> LoadedLanguageModel:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                raise ValueError(f"{path}: loaded-language weights of format {int(data['format'])}, expected {FORMAT}")
            return cls(
                mean=data["mean"].astype(np.float32),
                scale=data["scale"].astype(np.float32),
                coef=data["coef"].astype(np.float32),
                intercept=float(data["intercept"]),
                threshold=float(data["threshold"]),
                meta=dict(zip(map(str, data["meta_keys"]), map(str, data["meta_values"]), strict=True)),
            )


@functools.cache
def loaded_language_model(path: str = "") -> LoadedLanguageModel:
    """The process's loaded-language model, loaded once (``path`` empty: the shipped weights)."""
    return LoadedLanguageModel.load(Path(path) if path else WEIGHTS_PATH)
