"""Tone toward a target: how a sentence speaks of one actor it names (negative, neutral, positive).

A small model over the shared sentence encoder, trained on NewsMTSC (sentences of US
political news, each labelled with its sentiment toward one marked mention): the shipped
model runs its own fine-tuned copies of the encoder's top layers (``top_layer.TopLayer``) on
the states entering them, which the analysis's one encoder pass hands over; their output
is pooled twice, over the whole sentence and over the target mention's tokens, and a linear
head reads the two. The frozen layers below are shared, so the text carries no marker: where
the model has one, a learnt vector (``target_marker``) is added to the states entering its
layers at the target's word pieces, so their attention knows which mention is asked about,
and each target of a sentence then takes its own run of the layers. Without it every target
a sentence names is scored from one run.

The format also loads the earlier designs: a head over the frozen encoder's last layer, and
low-rank updates of its top layers (LoRA, shipped as the updates alone).

Weights: ``weights/tone.npz`` (arrays only), its card ``weights/TONE_MODEL_CARD.md``;
``python -m lab.train_tone`` writes a new one.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.nlp.models import sentence_encoder
from analysis.nlp.top_layer import TopLayer, top_inputs_encode

if TYPE_CHECKING:
    from analysis.nlp.encoder import TokenStates

LABELS = ("negative", "neutral", "positive")
WEIGHTS_PATH = Path(__file__).parent / "weights" / "tone.npz"
# Format 2 adds a fine-tuned top layer (``layer.*`` arrays); format 3 a stack of top layers and a
# target marker. Format 1 files (a head over the frozen encoder, or LoRA updates) and format 2
# files still load.
FORMAT = 3
FORMATS = (1, 2, 3)
MAX_TOKENS = 128
BATCH_TOKENS = 2048
ENCODE_CHUNK = 256  # sentences encoded at a time when their states are not given

Matrix = np.ndarray[Any, np.dtype[Any]]
Span = tuple[int, int]  # character offsets of a target in its sentence, end exclusive


@dataclass(frozen=True)
class TargetTone:
    label: str
    # P(positive) - P(negative): from -1 to 1, for averaging over mentions.
    score: float


@dataclass
class ToneModel:
    """A fine-tuned top layer, or low-rank updates of some encoder layers (none: the frozen encoder), and a linear head.

    ``top_layer``: the model's own copies of the encoder's top layer or layers, run on the states
    entering them; ``target_marker`` (hidden): added to those states at the target's word pieces.
    ``adapters`` maps a module path (``encoder.layer.4.attention.self.query``) to its update's
    ``down`` (rank x inputs) and ``up`` (outputs x rank) matrices; the update is ``scale · up @ down``.
    The head reads the mean of the sentence's token states beside the mean of the target's.
    """

    coef: Matrix  # 3 x (2 * hidden)
    intercept: Matrix  # 3
    adapters: dict[str, tuple[Matrix, Matrix]] = field(default_factory=dict)
    scale: float = 1.0
    meta: dict[str, str] = field(default_factory=dict)
    top_layer: TopLayer | None = None
    target_marker: Matrix | None = None

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for array in (self.coef, self.intercept, np.array([self.scale])):
            digest.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        for name in sorted(self.adapters):
            digest.update(name.encode())
            for array in self.adapters[name]:
                digest.update(np.ascontiguousarray(array, dtype=np.float16).tobytes())
        if self.top_layer is not None:
            digest.update(self.top_layer.digest.encode())
        if self.target_marker is not None:
            digest.update(np.ascontiguousarray(self.target_marker, dtype=np.float32).tobytes())
        return f"{self.kind}-{self.meta.get('name', 'tone')}-{digest.hexdigest()[:8]}"

    @property
    def kind(self) -> str:
        """``layer`` (one top layer) or ``layers<k>`` (k of them), ``…-marked`` with a marker; ``lora``; ``head``."""
        if self.top_layer is None:
            return "lora" if self.adapters else "head"
        kind = "layer" if self.top_layer.layers == 1 else f"layers{self.top_layer.layers}"
        return f"{kind}-marked" if self.target_marker is not None else kind

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

    def reads_states_of(self, model: Callable[[], Any]) -> bool:
        """Whether token states of ``model()`` (a SentenceTransformer) are the ones this model reads.

        True for a fine-tuned top layer (it reads the states entering the encoder's top layer), and
        for a head over the frozen encoder that is the model's own transformer: the analysis then
        hands over the token states of its encoder pass instead of encoding the sentences again.
        ``model`` is called only for the latter (loading the PyTorch encoder costs about 100 MiB).
        """
        if self.top_layer is not None:
            return True
        return not self.adapters and self.network is model()[0].auto_model

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
        if self.top_layer is not None:
            return self._top_layer_features(items, states)
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

    def _top_layer_features(
        self, items: Sequence[tuple[str, Sequence[Span]]], states: Sequence[TokenStates | None] | None
    ) -> list[Matrix]:
        """The fine-tuned top layers run on the states entering them: the given ones, else from the encoder's pass here.

        Without a target marker a sentence's layers run once for all its targets; with one, once a target.
        """
        assert self.top_layer is not None
        hidden_size = self.coef.shape[1] // 2
        result: list[Matrix] = [np.zeros((0, 2 * hidden_size), dtype=np.float32) for _ in items]
        wanted = [position for position, (_sentence, spans) in enumerate(items) if spans]
        for start in range(0, len(wanted), ENCODE_CHUNK):
            chunk = wanted[start : start + ENCODE_CHUNK]
            given = [states[position] if states is not None else None for position in chunk]
            missing = [position for position, token_states in zip(chunk, given, strict=True) if token_states is None]
            encoded = dict(zip(missing, top_inputs_encode([items[position][0] for position in missing]), strict=True))
            chosen = [token_states or encoded[position] for position, token_states in zip(chunk, given, strict=True)]
            if self.target_marker is None:
                outputs = self.top_layer.run([self.top_layer.input_of(token_states) for token_states in chosen])
                for position, token_states, output in zip(chunk, chosen, outputs, strict=True):
                    result[position] = pooled_features(output, token_states.offsets[: len(output)], items[position][1])
                continue
            runs = [
                (position, token_states, span)
                for position, token_states in zip(chunk, chosen, strict=True)
                for span in items[position][1]
            ]
            outputs = self.top_layer.run(
                [
                    marked_input(self.top_layer.input_of(token_states), token_states.offsets, span, self.target_marker)
                    for _position, token_states, span in runs
                ]
            )
            rows: dict[int, list[Matrix]] = {}
            for (position, token_states, span), output in zip(runs, outputs, strict=True):
                rows.setdefault(position, []).append(
                    pooled_features(output, token_states.offsets[: len(output)], [span])
                )
            for position, features in rows.items():
                result[position] = np.concatenate(features)
        return result

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
        if self.top_layer is not None:
            arrays.update(self.top_layer.arrays())
        if self.target_marker is not None:
            arrays["target_marker"] = self.target_marker.astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: Path) -> ToneModel:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) not in FORMATS:
                raise ValueError(f"{path}: tone weights of format {int(data['format'])}, expected one of {FORMATS}")
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
                top_layer=TopLayer.from_arrays(data),
                target_marker=data["target_marker"].astype(np.float32) if "target_marker" in data else None,
            )


def marked_input(states: Matrix, offsets: Matrix, span: Span, marker: Matrix) -> Matrix:
    """The states entering the layers with the marker added at the word pieces inside the span (none: unmarked)."""
    cut = np.array(states[:MAX_TOKENS], dtype=np.float32)
    offsets = offsets[: len(cut)]
    inside = (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 0] < span[1]) & (offsets[:, 1] > span[0])
    cut[inside] += marker
    return cut


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
