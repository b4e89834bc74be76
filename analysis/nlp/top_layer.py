"""A task model's own fine-tuned copies of the encoder's top transformer layers, run on the states entering them.

The tone and loaded-language models each fine-tuned the top few layers of the shared encoder (four
for tone, one for loaded language) with a head over their output. The analysis's one encoder pass
hands over the token states entering each of its top layers (``encoder.TokenStates.entering_top``),
so each model runs only its own copies of its layers on them (about a sixth of a full encoding a layer) and the shared
encoder stays untouched.

Shipped as the layers' parameters in float16 (about 3.2 MB a layer for MiniLM-L6), stored in the
model's own npz under ``layer.<parameter name>``: one layer's names are the layer's own
(``layer.attention.self.query.weight``, as the files of one layer have always been); a stack of k
layers numbers them from the lowest (``layer.0.attention…`` to ``layer.<k-1>.…``), so the file
says how many top layers it carries. Loaded into private copies of the encoder's top layers.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.nlp.models import sentence_encoder

if TYPE_CHECKING:
    from analysis.nlp.encoder import TokenStates

Matrix = np.ndarray[Any, np.dtype[Any]]

# Word pieces of a text the layer reads, special tokens included: the models were trained on the
# states cut there (a paragraph's loaded phrase past them is learnt from its label alone).
MAX_TOKENS = 128
# Texts run together, padded to the longest: at most this many word pieces a batch. Small batches
# keep a layer's activations in the CPU's cache: the tone model's four layers over 395 demo
# sentences took 2.1 s in batches of 512 word pieces against 2.6 s in batches of 4,096 (one thread).
BATCH_TOKENS = 512
PREFIX = "layer."


def additive_mask(mask: Any) -> Any:
    """The attention mask a BERT layer adds to its scores: 0 for a token, the most negative float for padding."""
    import torch

    return (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min


def layer_forward(layer: Any, hidden: Any, mask: Any) -> Any:
    """The output states (batch x tokens x hidden) of a BERT layer or a stack of them, from input states and a mask."""
    import torch

    additive = additive_mask(mask)
    for one in layer if isinstance(layer, torch.nn.ModuleList) else [layer]:
        output = one(hidden, attention_mask=additive)
        hidden = output[0] if isinstance(output, tuple) else output
    return hidden


def top_layer_copy(layers: int = 1) -> Any:
    """A private copy of the shared encoder's top transformer layer, or a stack (ModuleList) of its top ``layers``."""
    import torch

    transformer: Any = sentence_encoder()[0].auto_model
    if layers == 1:
        return copy.deepcopy(transformer.encoder.layer[-1])
    return torch.nn.ModuleList([copy.deepcopy(layer) for layer in transformer.encoder.layer[-layers:]])


def top_layer_blank(layers: int = 1) -> Any:
    """Layers shaped as the shared encoder's top ``layers`` (one BertLayer, or a ModuleList of them), their
    weights not set: for parameters loaded next. Built from the encoder's configuration alone, so a process
    whose encoder runs on ONNX Runtime never loads the PyTorch encoder (about 100 MiB) to copy from."""
    import torch
    from transformers import AutoConfig
    from transformers.models.bert.modeling_bert import BertLayer

    from analysis.nlp.models import default_encoder_path

    config = AutoConfig.from_pretrained(str(default_encoder_path()))
    # The attention sentence-transformers loads the encoder with (PyTorch's scaled dot product).
    config._attn_implementation = "sdpa"
    built = [
        BertLayer(config, layer_idx=index)
        for index in range(config.num_hidden_layers - layers, config.num_hidden_layers)
    ]
    return built[0] if layers == 1 else torch.nn.ModuleList(built)


def layers_in(parameters: Collection[str]) -> int:
    """How many layers parameters by these names make: one layer's own names, or a stack's numbered ``0.…``, ``1.…``."""
    numbers = {name.split(".", 1)[0] for name in parameters}
    return len(numbers) if numbers and all(number.isdigit() for number in numbers) else 1


@dataclass(frozen=True)
class TopLayer:
    """Fine-tuned top layers' parameters (by the layer's, or the stack's, parameter names), float16 as shipped."""

    parameters: Mapping[str, Matrix]

    @functools.cached_property
    def layers(self) -> int:
        """How many of the encoder's top layers these are: they run on the states entering the lowest."""
        return layers_in(self.parameters)

    @classmethod
    def from_module(cls, layer: Any) -> TopLayer:
        return cls({name: tensor.detach().numpy().astype(np.float16) for name, tensor in layer.state_dict().items()})

    @classmethod
    def from_arrays(cls, data: Mapping[str, Matrix]) -> TopLayer | None:
        """The layer stored among a model's arrays (``layer.<name>``), or None when the model has none."""
        parameters = {name[len(PREFIX) :]: np.asarray(data[name]) for name in data if name.startswith(PREFIX)}
        return cls(parameters) if parameters else None

    def arrays(self) -> dict[str, Matrix]:
        return {f"{PREFIX}{name}": value.astype(np.float16) for name, value in self.parameters.items()}

    @functools.cached_property
    def digest(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.parameters):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self.parameters[name], dtype=np.float16).tobytes())
        return digest.hexdigest()

    @functools.cached_property
    def module(self) -> Any:
        import torch

        layer = top_layer_blank(self.layers)
        layer.load_state_dict(
            {name: torch.from_numpy(value.astype(np.float32)) for name, value in self.parameters.items()}
        )
        layer.eval()
        return layer

    def input_of(self, states: TokenStates) -> Matrix:
        """What these layers read of a text's encoder pass: the states entering the lowest of them."""
        return states.entering_top(self.layers)

    def run(self, inputs: Sequence[Matrix]) -> list[Matrix]:
        """The layers' output states of each text from the states entering them (cut at MAX_TOKENS word pieces).

        Texts are batched by padded size, longest first; a text's output does not depend on the
        others (but for float rounding).
        """
        import torch

        cut = [np.asarray(states[:MAX_TOKENS], dtype=np.float32) for states in inputs]
        result: list[Matrix] = [np.zeros((0, 0), dtype=np.float32)] * len(cut)
        order = sorted(range(len(cut)), key=lambda index: -len(cut[index]))
        start = 0
        with torch.inference_mode():
            while start < len(order):
                longest = max(1, len(cut[order[start]]))
                batch = order[start : start + max(1, BATCH_TOKENS // longest)]
                start += len(batch)
                hidden = torch.zeros((len(batch), longest, cut[batch[0]].shape[1]))
                mask = torch.zeros((len(batch), longest))
                for row, index in enumerate(batch):
                    hidden[row, : len(cut[index])] = torch.from_numpy(cut[index])
                    mask[row, : len(cut[index])] = 1.0
                output = layer_forward(self.module, hidden, mask).numpy()
                for row, index in enumerate(batch):
                    result[index] = output[row, : len(cut[index])].copy()
        return result


def top_inputs_encode(texts: Sequence[str]) -> list[TokenStates]:
    """Each text's token states from the process's encoder pass (for callers outside the analysis).

    Callers with many texts ask for them in chunks: a text's states take about 3 KB a word piece.
    """
    from analysis.nlp.encoder import text_encoder

    if not texts:  # nothing to encode: the encoder is not loaded for nothing (on ONNX Runtime, 100 MiB)
        return []
    encoded = text_encoder().encode(list(texts), states_for=range(len(texts)))
    return [encoded.states[index] for index in range(len(texts))]
