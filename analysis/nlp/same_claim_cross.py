"""The same-claim cross-encoder: the shared MiniLM encoder reading both sentences as one input.

A bi-encoder compares two sentence vectors made apart; a cross-encoder lets every word of one
sentence attend to the other ("three people died" against "the storm killed three"), which is what
a paraphrase decision needs. Fine-tuned (``python -m lab.train_claims_cross``) as low-rank adapters
(LoRA) on every linear layer of the encoder's six blocks, and a linear head over the mean of its
last hidden states: the shipped file holds only those (about 1 MB, safetensors, no pickles). At
load the adapters are folded into a private copy of the encoder's weights, so scoring costs what
the plain encoder costs. The analysis's own sentence encoder is never modified.

Only ``analysis.nlp.same_claim`` uses it, on the pairs its cheap head already passes at its
``recall`` threshold (see ``SameClaimModel``): the cost of a page refresh stays bounded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.nlp.models import ENCODER_BLOCK_LINEARS

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

CROSS_WEIGHTS_PATH = Path(__file__).parent / "weights" / "same_claim_cross.safetensors"
CROSS_FORMAT = 1
# The linear layers of each encoder block that carry an adapter (names inside ``encoder.layer.N``).
ADAPTED = ENCODER_BLOCK_LINEARS
# Two sentences of a news report fit in 128 word pieces (MRPC pairs: 53 on average, 103 at most); a
# longer pair is cut from the end of the longer sentence.
MAX_LENGTH = 128
BATCH_SIZE = 32
# Logits kept per process: a story's overview and claims table read mostly the same pairs, and a story
# is refreshed again as articles arrive. Emptied when full (a pair costs about 0.1 s to score again).
CACHED_PAIRS = 100_000

Vector = np.ndarray[Any, np.dtype[np.float32]]


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of the last hidden states over the real (not padding) word pieces: what the head reads."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def encoder_fingerprint(model: PreTrainedModel) -> float:
    """A number that tells one base encoder's weights from another's: adapters fit only the weights they
    were trained on."""
    weight = model.get_parameter("encoder.layer.0.attention.self.query.weight")
    return round(float(weight.detach().abs().sum()), 2)


def adapted_parameter_names(layers: int) -> list[str]:
    return [f"encoder.layer.{layer}.{name}" for layer in range(layers) for name in ADAPTED]


@dataclass(frozen=True)
class CrossEncoder:
    """The encoder with its adapters folded in, its tokenizer, and the head; ``logits`` scores pairs."""

    model: Any  # transformers' BertModel (typed loosely: transformers is imported only when loaded)
    tokenizer: Any
    head_weight: Vector
    head_bias: float
    meta: dict[str, Any]
    scored: dict[tuple[str, str], float] = field(default_factory=dict, compare=False, repr=False)

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @classmethod
    def load(cls, path: Path | str, encoder_path: Path | str) -> CrossEncoder:
        """Raises ``FileNotFoundError`` without the adapter file, ``ValueError`` when it does not fit the encoder."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from safetensors import safe_open
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(path)
        with safe_open(str(path), framework="numpy") as weights:
            meta = json.loads((weights.metadata() or {}).get("meta", "{}"))
            arrays = {name: weights.get_tensor(name) for name in weights.keys()}  # noqa: SIM118 (not a dict)
        if int(meta.get("format", 0)) != CROSS_FORMAT:
            raise ValueError(f"{path}: not a format {CROSS_FORMAT} same-claim cross-encoder")
        # The checkpoint's pooler is left out on purpose: transformers' load report (its "UNEXPECTED"
        # table) and progress bar would otherwise reach every worker's log on each start.
        verbosity, progress_bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            model = AutoModel.from_pretrained(str(encoder_path), add_pooling_layer=False)
        finally:
            hf_logging.set_verbosity(verbosity)
            if progress_bar:
                hf_logging.enable_progress_bar()
        model.eval()
        if abs(encoder_fingerprint(model) - float(meta["encoder_fingerprint"])) > 0.05:
            raise ValueError(f"{path}: trained over another encoder than {encoder_path}")
        scale = float(meta["alpha"]) / float(meta["rank"])
        with torch.no_grad():
            for name in adapted_parameter_names(int(model.config.num_hidden_layers)):
                weight = model.get_parameter(f"{name}.weight")
                delta = torch.from_numpy(arrays[f"{name}.lora_b"]) @ torch.from_numpy(arrays[f"{name}.lora_a"])
                weight += scale * delta.to(weight.dtype)
        tokenizer = AutoTokenizer.from_pretrained(str(encoder_path))
        return cls(
            model=model,
            tokenizer=tokenizer,
            head_weight=arrays["head.weight"].reshape(-1).astype(np.float32),
            head_bias=float(arrays["head.bias"].reshape(-1)[0]),
            meta=meta,
        )

    def logits(self, pairs: Sequence[tuple[str, str]]) -> Vector:
        """The head's logit of each (first, second) pair: above 0 leans to "the same fact"."""
        import torch

        unscored = list(dict.fromkeys(pair for pair in pairs if pair not in self.scored))
        if len(self.scored) + len(unscored) > CACHED_PAIRS:
            self.scored.clear()
        # Pairs of like length batch together: padding is work for nothing.
        unscored.sort(key=lambda pair: len(pair[0]) + len(pair[1]))
        head = torch.from_numpy(self.head_weight)
        with torch.inference_mode():
            for start in range(0, len(unscored), BATCH_SIZE):
                chosen = unscored[start : start + BATCH_SIZE]
                encoded = pair_inputs(self.tokenizer, chosen)
                hidden = self.model(**encoded).last_hidden_state
                logits = (mean_pool(hidden, encoded["attention_mask"]) @ head + self.head_bias).tolist()
                self.scored.update(zip(chosen, logits, strict=True))
        return np.array([self.scored[pair] for pair in pairs], dtype=np.float32)


def pair_inputs(tokenizer: PreTrainedTokenizerBase, pairs: Sequence[tuple[str, str]]) -> Any:
    """The word pieces of pairs as one input each ([CLS] first [SEP] second [SEP]), padded to the longest."""
    return tokenizer(
        [first for first, _ in pairs],
        [second for _, second in pairs],
        truncation="longest_first",
        max_length=MAX_LENGTH,
        padding=True,
        return_tensors="pt",
    )
