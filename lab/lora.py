"""LoRA on the shared MiniLM encoder, for the cross-encoders' trainers (same claim, Ask's answers).

The encoder's weights stay frozen; every linear layer of its blocks (``ADAPTED``) gains a low-rank
update (rank ``rank``, alpha ``2 * rank``, dropout on its input), and a linear head reads the mean of
the last hidden states. ``CrossEncoder.load`` (``analysis/nlp/same_claim_cross.py``) folds the saved
updates into a private copy of the encoder at run time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LORA_DROPOUT = 0.1


@dataclass
class LoraEncoder:
    model: Any  # transformers' BertModel, frozen, its linear layers adapted
    tokenizer: Any
    head: Any  # torch.nn.Linear(hidden, 1)
    head_dropout: Any
    adapters: dict[str, tuple[Any, Any]]  # layer name: (down, up)
    rank: int
    alpha: int

    @property
    def trainable(self) -> list[Any]:
        return [parameter for pair in self.adapters.values() for parameter in pair] + list(self.head.parameters())

    def state(self) -> dict[str, np.ndarray[Any, Any]]:
        """The adapters and the head as arrays, named as ``CrossEncoder.load`` reads them."""
        return {
            **{f"{name}.lora_a": down.detach().numpy().copy() for name, (down, _) in self.adapters.items()},
            **{f"{name}.lora_b": up.detach().numpy().copy() for name, (_, up) in self.adapters.items()},
            "head.weight": self.head.weight.detach().numpy().copy(),
            "head.bias": self.head.bias.detach().numpy().copy(),
        }

    def logits(self, texts: list[tuple[str, str]]) -> Any:
        """The head's logit of each (first, second) pair, with the graph kept for training."""
        from analysis.nlp.same_claim_cross import mean_pool, pair_inputs

        encoded = pair_inputs(self.tokenizer, texts)
        pooled = mean_pool(self.model(**encoded).last_hidden_state, encoded["attention_mask"])
        return self.head(self.head_dropout(pooled)).squeeze(-1)

    def train(self, mode: bool = True) -> None:
        self.model.train(mode)
        self.head.train(mode)


def lora_encoder(encoder_path: str, rank: int) -> LoraEncoder:
    """The encoder at ``encoder_path``, frozen, with fresh adapters on every linear layer and a fresh head."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from analysis.nlp.same_claim_cross import ADAPTED

    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    model = AutoModel.from_pretrained(encoder_path, add_pooling_layer=False)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    alpha = 2 * rank
    adapters: dict[str, tuple[torch.nn.Parameter, torch.nn.Parameter]] = {}

    def adapted_forward(linear: torch.nn.Linear, name: str) -> None:
        down = torch.nn.Parameter(torch.empty(rank, linear.in_features))
        torch.nn.init.kaiming_uniform_(down, a=math.sqrt(5))
        up = torch.nn.Parameter(torch.zeros(linear.out_features, rank))
        adapters[name] = (down, up)
        dropout = torch.nn.Dropout(LORA_DROPOUT)
        plain = linear.forward

        def forward(inputs: torch.Tensor) -> torch.Tensor:
            return plain(inputs) + (alpha / rank) * (dropout(inputs) @ down.T @ up.T)

        linear.forward = forward  # type: ignore[method-assign]
        linear.add_module("lora_dropout", dropout)

    for layer in range(model.config.num_hidden_layers):
        for name in ADAPTED:
            module = model.get_submodule(f"encoder.layer.{layer}.{name}")
            assert isinstance(module, torch.nn.Linear)
            adapted_forward(module, f"encoder.layer.{layer}.{name}")
    head = torch.nn.Linear(model.config.hidden_size, 1)
    return LoraEncoder(
        model=model,
        tokenizer=tokenizer,
        head=head,
        head_dropout=torch.nn.Dropout(0.1),
        adapters=adapters,
        rank=rank,
        alpha=alpha,
    )


def adapters_save(state: dict[str, np.ndarray[Any, Any]], meta: dict[str, Any], output: Path) -> None:
    """Write adapters and head (``LoraEncoder.state``) with their ``meta`` as safetensors (no pickles)."""
    from safetensors.numpy import save_file

    save_file(
        {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in state.items()},
        str(output),
        {"meta": json.dumps(meta)},
    )


def adapters_load(adapted: LoraEncoder, path: Path) -> None:
    """Set ``adapted``'s adapters and head to those saved at ``path`` (``adapters_save``), to train on from them."""
    import torch
    from safetensors.numpy import load_file

    arrays = load_file(str(path))
    with torch.no_grad():
        for name, (down, up) in adapted.adapters.items():
            down.copy_(torch.from_numpy(arrays[f"{name}.lora_a"]))
            up.copy_(torch.from_numpy(arrays[f"{name}.lora_b"]))
        adapted.head.weight.copy_(torch.from_numpy(arrays["head.weight"]))
        adapted.head.bias.copy_(torch.from_numpy(arrays["head.bias"]))


def logits_in_batches(
    logits_of: Callable[[list[int]], Any], indexes: Sequence[int], count: int
) -> np.ndarray[Any, Any]:
    """``logits_of`` (pair indexes in, a tensor of logits out) over ``indexes`` in batches of 64, without
    gradients, as an array of ``count`` logits (0 where not scored): the trainers' dev scoring."""
    import torch

    result = np.zeros(count, dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(indexes), 64):
            chosen = list(indexes[start : start + 64])
            result[chosen] = logits_of(chosen).numpy()
    return result
