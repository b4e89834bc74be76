"""Loaded language: which sentences speak in loaded terms, and the words that show it.

The shipped model runs its own fine-tuned copy of the encoder's top layer
(``top_layer.TopLayer``) on the states entering that layer, which the analysis's one encoder
pass hands over for every kept sentence and the headline (one layer: about a sixth of the
encoding), and a logistic head reads the unit mean of its output, trained on SemEval-2023 Task 3
subtask 3 paragraphs labelled Loaded_Language, read as the analysis reads them: sentence by
sentence, a paragraph's score its highest sentence's. The earlier design still loads: a logistic regression
over the sentence's vector from the shared encoder and a few counts (the lexicon's loaded
words outside quotations, whether the sentence quotes, its length). The threshold is chosen
for precision: a wrong highlight costs more trust than a missed one.

What a reader sees: a flagged sentence, with the lexicon's words inside it marked as the
evidence (``lexicon.lexicon_words``), and whose voice the loaded language is in (``OUTLET_VOICE``
or ``QUOTED_VOICE``).
Words inside quotation marks are the source's, not the outlet's: a flagged sentence that is
mostly a quotation, or whose only loaded words are quoted, is shown as loaded language the
article quotes, with the quoted words marked, and never counted as the outlet's own.

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
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.nlp.lexicon import QUOTED, lexicon_words, quoted_spans
from analysis.nlp.top_layer import TopLayer, top_inputs_encode

if TYPE_CHECKING:
    from analysis.nlp.encoder import TokenStates

WEIGHTS_PATH = Path(__file__).parent / "weights" / "loaded_language.npz"
# Format 2 adds a fine-tuned top layer (``layer.*`` arrays); format 1 files (vector and counts) still load.
FORMAT = 2
FORMATS = (1, 2)
# The head reads the unit mean of the top layer's output times this (a fixed temperature, as trained).
POOLED_SCALE = 10.0
ENCODE_CHUNK = 256  # sentences encoded at a time when their states are not given
# A sentence whose quotations hold more than this share of its characters speaks in its source's voice.
QUOTED_SHARE = 0.5
# Whose voice a flagged sentence's loaded language is in: the outlet's own, or a source it quotes.
OUTLET_VOICE = "outlet"
QUOTED_VOICE = "quoted"
# The version of how flags are attributed, part of the loaded-language version an analysis records:
# 2, a quoted sentence the model flags is kept as quoted loaded language (before: left out).
ATTRIBUTION_VERSION = "voice-2"

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
    """The share of the sentence's characters inside quotation marks (``quoted_spans``: a sentence cut
    out of a longer quotation counts as quoted from its start or to its end)."""
    quoted = sum(end - start for start, end in quoted_spans(sentence))
    return quoted / len(sentence) if sentence else 0.0


def in_outlet_voice(sentence: str) -> bool:
    """Whether a loaded reading of the sentence can be the outlet's own: not when quotations hold most
    of it, nor when it quotes someone and has no loaded word of its own outside the quotation
    ('"This is an outrageous act of judicial activism," said Representative Dean Hargrove').
    """
    if quoted_share(sentence) > QUOTED_SHARE:
        return False
    return not quoted_spans(sentence) or bool(lexicon_words(sentence))


@dataclass
class LoadedLanguageModel:
    """A logistic head over [sentence vector, counts] (format 1), or over a fine-tuned top layer's pooled output.

    With ``top_layer``, the features are ``POOLED_SCALE`` times the unit mean of the layer's output
    token states (special tokens included, as trained); ``mean`` and ``scale`` standardise them.
    """

    mean: Matrix  # standardisation of the features
    scale: Matrix
    coef: Matrix
    intercept: float
    threshold: float
    meta: dict[str, str] = field(default_factory=dict)
    top_layer: TopLayer | None = None

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for array in (self.mean, self.scale, self.coef, np.array([self.intercept, self.threshold])):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        if self.top_layer is not None:
            digest.update(self.top_layer.digest.encode())
            return f"layer-{self.meta.get('name', 'loaded')}-{digest.hexdigest()[:8]}"
        return f"linear-{self.meta.get('name', 'loaded')}-{digest.hexdigest()[:8]}"

    @property
    def reads_token_states(self) -> bool:
        """Whether the model reads each sentence's token states (the analysis then asks its encoder pass for them)."""
        return self.top_layer is not None

    def features(
        self, vectors: Matrix, sentences: Sequence[str], states: Sequence[TokenStates] | None = None
    ) -> Matrix:
        """The head's inputs of each sentence (before standardisation).

        ``states``: each sentence's token states from the analysis's encoder pass; without them a
        model with a top layer encodes the sentences here. ``vectors`` are read by format 1 only.
        """
        if self.top_layer is None:
            return np.hstack(
                [np.asarray(vectors, dtype=np.float32), np.vstack([counts_features(text) for text in sentences])]
            )
        rows: list[Matrix] = []
        for start in range(0, len(sentences), ENCODE_CHUNK):
            given = (
                list(states[start : start + ENCODE_CHUNK])
                if states is not None
                else top_inputs_encode(sentences[start : start + ENCODE_CHUNK])
            )
            for output in self.top_layer.run([self.top_layer.input_of(token_states) for token_states in given]):
                mean = output.mean(axis=0)
                rows.append(POOLED_SCALE * mean / max(float(np.linalg.norm(mean)), 1e-12))
        return np.asarray(rows, dtype=np.float32)

    def probabilities(
        self, vectors: Matrix, sentences: Sequence[str], states: Sequence[TokenStates] | None = None
    ) -> Matrix:
        """P(loaded) of each sentence, from its unit vector (rows of ``vectors``) or token states, and its text."""
        if not len(sentences):
            return np.zeros(0, dtype=np.float32)
        features = self.features(vectors, sentences, states)
        logits = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))).astype(np.float32)

    def flags(
        self, vectors: Matrix, sentences: Sequence[str], states: Sequence[TokenStates] | None = None
    ) -> list[str]:
        """Each sentence's flag: empty when the model does not read it as loaded, else whose voice the
        loaded language is in (``OUTLET_VOICE``, or ``QUOTED_VOICE`` for a source the sentence quotes)."""
        probabilities = self.probabilities(vectors, sentences, states)
        return [
            (OUTLET_VOICE if in_outlet_voice(text) else QUOTED_VOICE) if probability >= self.threshold else ""
            for probability, text in zip(probabilities, sentences, strict=True)
        ]

    def flagged(
        self, vectors: Matrix, sentences: Sequence[str], states: Sequence[TokenStates] | None = None
    ) -> list[bool]:
        """Whether each sentence is loaded in the outlet's own voice (a quotation is its source's)."""
        return [flag == OUTLET_VOICE for flag in self.flags(vectors, sentences, states)]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "format": np.array(FORMAT),
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "coef": self.coef.astype(np.float32),
            "intercept": np.array(self.intercept, dtype=np.float32),
            "threshold": np.array(self.threshold, dtype=np.float32),
            "meta_keys": np.array(list(self.meta)),
            "meta_values": np.array(list(self.meta.values())),
        }
        if self.top_layer is not None:
            arrays.update(self.top_layer.arrays())
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: Path) -> LoadedLanguageModel:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) not in FORMATS:
                raise ValueError(
                    f"{path}: loaded-language weights of format {int(data['format'])}, expected one of {FORMATS}"
                )
            return cls(
                mean=data["mean"].astype(np.float32),
                scale=data["scale"].astype(np.float32),
                coef=data["coef"].astype(np.float32),
                intercept=float(data["intercept"]),
                threshold=float(data["threshold"]),
                meta=dict(zip(map(str, data["meta_keys"]), map(str, data["meta_values"]), strict=True)),
                top_layer=TopLayer.from_arrays(data),
            )


@functools.cache
def loaded_language_model(path: str = "") -> LoadedLanguageModel:
    """The process's loaded-language model, loaded once (``path`` empty: the shipped weights)."""
    return LoadedLanguageModel.load(Path(path) if path else WEIGHTS_PATH)
