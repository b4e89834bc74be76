"""Tone toward a target: how a sentence speaks of one actor it names (negative, neutral, positive).

A small model over the shared sentence encoder, trained on NewsMTSC (sentences of US
political news, each labelled with its sentiment toward one marked mention): the
encoder's token states of the sentence, optionally adapted by low-rank updates of its
top layers (LoRA, shipped as the updates alone), are pooled twice, over the whole
sentence and over the target mention's tokens, and a linear head reads the two. The
target is marked by where it is pooled, not by changing the text, so every actor a
sentence names is scored from one pass over it.

Weights: ``weights/tone.npz`` (arrays only), its card ``weights/TONE_MODEL_CARD.md``;
``python -m lab.train_tone`` writes a new one.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.nlp.models import sentence_encoder

if TYPE_CHECKING:
    from analysis.nlp.encoder import TokenStates

LABELS = ("negative", "neutral", "positive")
WEIGHTS_PATH = Path(__file__).parent / "weights" / "tone.npz"
FORMAT = 1
MAX_TOKENS = 128
BATCH_TOKENS = 2048

Matrix = np.ndarray[Any, np.dtype[Any]]
Span = tuple[int, int]  # character offsets of a target in its sentence, end exclusive


@dataclass(frozen=True)
class TargetTone:
    label: str
    # P(positive) - P(negative): from -1 to 1, for averaging over mentions.
    score: float


def _adapted_layers() -> tuple[str, ...]:
    return (
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "intermediate.dense",
        "output.dense",
    )


@dataclass
class ToneModel:
    """Low-rank updates of some encoder layers (none: the frozen encoder), and a linear head.

    ``adapters`` maps a module path (``encoder.layer.4.attention.self.query``) to its update's
    ``down`` (rank x inputs) and ``up`` (outputs x rank) matrices; the update is ``scale · up @ down``.
    The head reads the mean of the sentence's token states beside the mean of the target's.
    """

    coef: Matrix  # 3 x (2 * hidden)
    intercept: Matrix  # 3
    adapters: dict[str, tuple[Matrix, Matrix]] = field(default_factory=dict)
    scale: float = 1.0
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for array in (self.coef, self.intercept, np.array([self.scale])):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        for name in sorted(self.adapters):
            digest.update(name.encode())
            for array in self.adapters[name]:
                digest.update(np.ascontiguousarray(array, dtype=np.float16).tobytes())
        kind = "lora" if self.adapters else "head"
        return f"{kind}-{self.meta.get('name', 'tone')}-{digest.hexdigest()[:8]}"

    @functools.cached_property
    def network(self) -> Any:
        """The encoder's transformer with the updates merged into a private copy (the shared one is untouched)."""
        import torch

        base: Any = sentence_encoder()[0].auto_model
        if not self.adapters:
            return base
        network: Any = copy.deepcopy(base)
        modules = dict(network.named_modules())
        with torch.no_grad():
            for name, (down, up) in self.adapters.items():
                linear = modules[name]
                update = torch.from_numpy(up.astype(np.float32)) @ torch.from_numpy(down.astype(np.float32))
                linear.weight += self.scale * update
        network.eval()
        return network

    def reads_states_of(self, model: Any) -> bool:
        """Whether token states of ``model`` (a SentenceTransformer) are the ones this model reads.

        True for a head over the frozen encoder that is the model's own transformer: the analysis
        then hands over the token states of its encoder pass instead of encoding the sentences again.
        """
        return not self.adapters and self.network is model[0].auto_model

    def probabilities(
        self, items: Sequence[tuple[str, Sequence[Span]]], states: Sequence[TokenStates | None] | None = None
    ) -> list[Matrix]:
        """For each (sentence, target spans): a (targets x 3) matrix of P(negative, neutral, positive).

        ``states``: for each item, its token states from a pass of the encoder this model reads
        (``reads_states_of``), or None to encode it here.
        """
        features = self.features(items, states)
        result = []
        for matrix in features:
            if not len(matrix):
                result.append(np.zeros((0, len(LABELS)), dtype=np.float32))
                continue
            logits = matrix @ self.coef.T + self.intercept
            logits -= logits.max(axis=1, keepdims=True)
            exponent = np.exp(logits)
            result.append((exponent / exponent.sum(axis=1, keepdims=True)).astype(np.float32))
        return result

    def tones(self, items: Sequence[tuple[str, Sequence[Span]]]) -> list[list[TargetTone]]:
        return [
            [TargetTone(label=LABELS[int(row.argmax())], score=float(row[2] - row[0])) for row in matrix]
            for matrix in self.probabilities(items)
        ]

    def features(
        self, items: Sequence[tuple[str, Sequence[Span]]], states: Sequence[TokenStates | None] | None = None
    ) -> list[Matrix]:
        """The head's inputs of each target: [mean of the sentence's token states, mean of the target's]."""
        import torch

        encoder = sentence_encoder()
        tokenizer = encoder.tokenizer
        network = self.network
        result: list[Matrix] = [np.zeros((0, 0), dtype=np.float32) for _ in items]
        wanted = []
        for position, (_sentence, spans) in enumerate(items):
            given = states[position] if states is not None else None
            if not spans:
                continue
            # States cut at a longer maximum than this model's are not the ones it was trained on.
            if given is not None and len(given.hidden) <= MAX_TOKENS:
                result[position] = pooled_features(given.hidden, given.offsets, spans)
            else:
                wanted.append(position)
        if not wanted:
            return [
                matrix if matrix.size else np.zeros((0, 2 * network.config.hidden_size), dtype=np.float32)
                for matrix in result
            ]
        encoded = tokenizer(
            [items[position][0] for position in wanted],
            truncation=True,
            max_length=MAX_TOKENS,
            return_offsets_mapping=True,
        )
        lengths = [len(ids) for ids in encoded["input_ids"]]
        order = sorted(range(len(wanted)), key=lambda row: -lengths[row])
        start = 0
        with torch.inference_mode():
            while start < len(order):
                count = max(1, BATCH_TOKENS // lengths[order[start]])
                batch = order[start : start + count]
                start += len(batch)
                longest = lengths[batch[0]]
                ids = torch.zeros((len(batch), longest), dtype=torch.long)
                mask = torch.zeros((len(batch), longest), dtype=torch.long)
                for row, which in enumerate(batch):
                    ids[row, : lengths[which]] = torch.tensor(encoded["input_ids"][which])
                    mask[row, : lengths[which]] = 1
                batch_states = network(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
                for row, which in enumerate(batch):
                    offsets = np.asarray(encoded["offset_mapping"][which], dtype=np.int64)
                    hidden = batch_states[row, : lengths[which]]
                    _sentence, spans = items[wanted[which]]
                    result[wanted[which]] = pooled_features(hidden, offsets, spans)
        return [
            matrix if matrix.size else np.zeros((0, 2 * network.config.hidden_size), dtype=np.float32)
            for matrix in result
        ]

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {
            "format": np.array(FORMAT),
            "coef": self.coef.astype(np.float32),
            "intercept": self.intercept.astype(np.float32),
            "scale": np.array(self.scale, dtype=np.float32),
            "adapter_names": np.array(sorted(self.adapters)),
            "meta_keys": np.array(list(self.meta)),
            "meta_values": np.array(list(self.meta.values())),
        }
        for number, name in enumerate(sorted(self.adapters)):
            down, up = self.adapters[name]
            arrays[f"down_{number}"] = down.astype(np.float16)
            arrays[f"up_{number}"] = up.astype(np.float16)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: Path) -> ToneModel:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                raise ValueError(f"{path}: tone weights of format {int(data['format'])}, expected {FORMAT}")
            names = [str(name) for name in data["adapter_names"]]
            return cls(
                coef=data["coef"].astype(np.float32),
                intercept=data["intercept"].astype(np.float32),
                adapters={
                    name: (data[f"down_{number}"].astype(np.float32), data[f"up_{number}"].astype(np.float32))
                    for number, name in enumerate(names)
                },
                scale=float(data["scale"]),
                meta=dict(zip(map(str, data["meta_keys"]), map(str, data["meta_values"]), strict=True)),
            )


def pooled_features(hidden: Matrix, offsets: Matrix, spans: Sequence[Span]) -> Matrix:
    """Per target span: the mean of the sentence's word-piece states beside the mean of those inside the span.

    Special tokens (offsets (0, 0)) are left out; a span that covers no word piece (cut by
    truncation) falls back to the whole sentence.
    """
    real = offsets[:, 1] > offsets[:, 0]
    if not real.any():
        real = np.ones(len(offsets), dtype=bool)
    sentence_mean = hidden[real].mean(axis=0)
    rows = []
    for start, end in spans:
        inside = real & (offsets[:, 0] < end) & (offsets[:, 1] > start)
        rows.append(np.concatenate([sentence_mean, hidden[inside].mean(axis=0) if inside.any() else sentence_mean]))
    return np.asarray(rows, dtype=np.float32).reshape(len(spans), -1)


@functools.cache
def tone_model(path: str = "") -> ToneModel:
    """The process's tone model, loaded once (``path`` empty: the weights shipped with the project)."""
    return ToneModel.load(Path(path) if path else WEIGHTS_PATH)
