"""The same-claim cross-encoder: the shared MiniLM encoder reading both sentences as one input.

A bi-encoder compares two sentence vectors made apart; a cross-encoder lets every word of one
sentence attend to the other ("three people died" against "the storm killed three"), which is what
a paraphrase decision needs. Fine-tuned (``python -m lab.train_claims_cross``) as low-rank adapters
(LoRA) on every linear layer of the encoder's six blocks, and a linear head over the mean of its
last hidden states: the shipped file holds only those (about 1 MB, safetensors, no pickles). At
load the adapters are folded into a private copy of the encoder's weights, so scoring costs what
the plain encoder costs. The analysis's own sentence encoder is never modified. The copy runs on
PyTorch, or (``backend="onnx"``, as the sentence encoder's NEWSROOM_ENCODER_BACKEND) exported once to
ONNX and run by ONNX Runtime.

Only ``analysis.nlp.same_claim`` uses it, on the pairs its cheap head already passes at its
``recall`` threshold (see ``SameClaimModel``): the cost of a page refresh stays bounded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.nlp.models import ENCODER_BLOCK_LINEARS

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer
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
Matrix = np.ndarray[Any, np.dtype[Any]]


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
    """The encoder with its adapters folded in, run by a backend, and the head; ``logits`` scores pairs."""

    # (input ids, attention mask, token types) -> the last hidden states, batch x tokens x hidden
    network: Callable[[Matrix, Matrix, Matrix], Matrix]
    tokenizer: Tokenizer  # the encoder's own (tokenizer.json), set to cut and pad pairs as ``pair_inputs``
    head_weight: Vector
    head_bias: float
    meta: dict[str, Any]
    backend: str = "torch"
    scored: dict[tuple[str, str], float] = field(default_factory=dict, compare=False, repr=False)

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @classmethod
    def load(
        cls, path: Path | str, encoder_path: Path | str, *, backend: str = "torch", onnx_dir: Path | str = ""
    ) -> CrossEncoder:
        """Raises ``FileNotFoundError`` without the adapter file, ``ValueError`` when it does not fit the encoder.

        ``backend`` "onnx": the encoder with its adapters folded in, exported to ONNX in ``onnx_dir`` at
        first use (keyed by the adapters, the encoder's files and the exporter) and run by ONNX Runtime:
        a process that finds the graph there never loads PyTorch (a web worker's memory, issue 21).
        """
        from safetensors import safe_open

        from analysis.nlp.encoder import BACKENDS, ONNX_OUTPUTS, onnx_export_cached, onnx_export_name, onnx_session

        if backend not in BACKENDS:
            raise ValueError(f"encoder backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        path, encoder_path = Path(path), Path(encoder_path)
        if not path.exists():
            raise FileNotFoundError(path)
        with safe_open(str(path), framework="numpy") as weights:
            meta = json.loads((weights.metadata() or {}).get("meta", "{}"))
            arrays = {name: weights.get_tensor(name) for name in weights.keys()}  # noqa: SIM118 (not a dict)
        if int(meta.get("format", 0)) != CROSS_FORMAT:
            raise ValueError(f"{path}: not a format {CROSS_FORMAT} same-claim cross-encoder")
        network: Callable[[Matrix, Matrix, Matrix], Matrix]
        if backend == "torch":
            network = _torch_network(_merged_encoder(arrays, meta, path, encoder_path))
        else:
            outputs = ONNX_OUTPUTS[:1]
            graph = onnx_export_cached(
                Path(onnx_dir or "var/models")
                / onnx_export_name(encoder_path, prefix=path.stem, outputs=outputs, extra=path.read_bytes()),
                lambda: _merged_encoder(arrays, meta, path, encoder_path),
                outputs,
                f"the cross-encoder {path.name}",
            )
            network = _onnx_network(onnx_session(graph))
        tokenizer = _pair_tokenizer(encoder_path)
        return cls(
            network=network,
            tokenizer=tokenizer,
            head_weight=arrays["head.weight"].reshape(-1).astype(np.float32),
            head_bias=float(arrays["head.bias"].reshape(-1)[0]),
            meta=meta,
            backend=backend,
        )

    def logits(self, pairs: Sequence[tuple[str, str]]) -> Vector:
        """The head's logit of each (first, second) pair: above 0 leans to "the same fact"."""
        unscored = list(dict.fromkeys(pair for pair in pairs if pair not in self.scored))
        if len(self.scored) + len(unscored) > CACHED_PAIRS:
            self.scored.clear()
        # Pairs of like length batch together: padding is work for nothing.
        unscored.sort(key=lambda pair: len(pair[0]) + len(pair[1]))
        for start in range(0, len(unscored), BATCH_SIZE):
            chosen = unscored[start : start + BATCH_SIZE]
            encodings = self.tokenizer.encode_batch(chosen)
            ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
            mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
            types = np.array([encoding.type_ids for encoding in encodings], dtype=np.int64)
            hidden = self.network(ids, mask, types)
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1.0, None)
            self.scored.update(zip(chosen, (pooled @ self.head_weight + self.head_bias).tolist(), strict=True))
        return np.array([self.scored[pair] for pair in pairs], dtype=np.float32)


def _pair_tokenizer(encoder_path: Path) -> Tokenizer:
    """The encoder's tokenizer set to cut and pad pairs as ``pair_inputs`` does with transformers' (same ids)."""
    from tokenizers import Tokenizer

    if (encoder_path / "tokenizer.json").exists():
        tokenizer = Tokenizer.from_file(str(encoder_path / "tokenizer.json"))
    else:  # a model named otherwise than by a directory: transformers finds its files
        from transformers import AutoTokenizer

        tokenizer = Tokenizer.from_str(AutoTokenizer.from_pretrained(str(encoder_path)).backend_tokenizer.to_str())
    tokenizer.enable_truncation(MAX_LENGTH, strategy="longest_first")
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
    return tokenizer


def _merged_encoder(arrays: dict[str, Matrix], meta: dict[str, Any], path: Path, encoder_path: Path) -> Any:
    """A private copy of the encoder's transformer with the adapters of ``arrays`` folded into its weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

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
    return model


def _torch_network(model: Any) -> Callable[[Matrix, Matrix, Matrix], Matrix]:
    def run(ids: Matrix, mask: Matrix, types: Matrix) -> Matrix:
        import torch

        with torch.inference_mode():
            output = model(
                input_ids=torch.from_numpy(ids),
                attention_mask=torch.from_numpy(mask),
                token_type_ids=torch.from_numpy(types),
            )
            return np.asarray(output.last_hidden_state.numpy(), dtype=np.float32)

    return run


def _onnx_network(session: Any) -> Callable[[Matrix, Matrix, Matrix], Matrix]:
    def run(ids: Matrix, mask: Matrix, types: Matrix) -> Matrix:
        (hidden,) = session.run(
            ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        return np.asarray(hidden, dtype=np.float32)

    return run


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
