"""The sentence encoder's passes: unit vectors of texts and, where asked, the token states behind them.

One pass serves every model that reads the encoder: the vectors (embeddings, framing, clustering)
and, for the texts asked, token states: the last layer's, and those entering each of the top
``TOP_INPUTS`` layers. The tone and loaded-language models each run their own fine-tuned copies of
the top few layers (four for tone, one for loaded language) on the states entering the lowest of
them (``top_layer.TopLayer``), so nothing is encoded twice: encoding the tone model's sentences a
second time cost a third of the analysis stage (lab/bench/README.md, issue 21), while one extra
layer over a sentence costs about a sixth of its full encoding.

Two backends run the same transformer from the same files:
- ``torch``: sentence-transformers on PyTorch, what the README's install gives;
- ``onnx``: ONNX Runtime (``pip install -r requirements/onnx.txt``), on a graph exported from
  the PyTorch model at first use and kept on disk (``NEWSROOM_ENCODER_ONNX_DIR``, keyed by the
  model's files, the exporter's version and the graph's outputs, so a new model, a new PyTorch
  or a graph with other outputs exports again).
  Its vectors are PyTorch's within float rounding (cosine >= 0.9999, tests/test_encoder.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from analysis.nlp.models import default_encoder_path, package_version, sentence_encoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

Matrix = np.ndarray[Any, np.dtype[Any]]

BACKENDS = ("torch", "onnx")
# The encoder's batches are cut by padded size, not by count: texts sorted by length, each batch
# as many as fit BATCH_TOKENS once padded to its longest (at most MAX_BATCH). A batch of 32 texts
# drawn from one article batch's few hundred pads short sentences up to a long lead:
# lab/bench/pipeline.py measured 30% more tokens, and CPU time, than the same texts encoded in one
# call. Budgeted batches pad little; the vectors are the same (within 1e-6).
BATCH_TOKENS = 768
MAX_BATCH = 128
ONNX_OPSET = 17
# The pass hands over the states entering each of the encoder's top this many layers, so a model
# may carry its own copies of up to this many top layers (the tone model carries four). Each costs
# a copy of the asked texts' states, no computation.
TOP_INPUTS = 4


def top_input_name(layers: int) -> str:
    """The ONNX graph's output for the states entering the encoder's top ``layers`` layers."""
    return "top_layer_input" if layers == 1 else f"top_{layers}_layers_input"


ONNX_OUTPUTS = ("last_hidden_state", *(top_input_name(layers) for layers in range(1, TOP_INPUTS + 1)))


@dataclass(frozen=True)
class TokenStates:
    """One text's token states, special tokens included, and each token's character offsets."""

    hidden: Matrix  # tokens x hidden: the last layer's output
    offsets: Matrix  # tokens x 2, end exclusive; (0, 0) for the special tokens
    # tokens x hidden each, by k: the states entering the encoder's top k layers (the lowest of
    # them), for a model carrying its own fine-tuned copies of those k layers; those asked for.
    top_inputs: Mapping[int, Matrix]

    @property
    def top_input(self) -> Matrix:
        """The states entering the encoder's top layer."""
        return self.entering_top(1)

    def entering_top(self, layers: int) -> Matrix:
        """The states entering the lowest of the encoder's top ``layers`` layers."""
        if layers not in self.top_inputs:
            raise ValueError(
                f"the states entering the encoder's top {layers} layers were not kept from its pass "
                f"(kept: {sorted(self.top_inputs)}; it hands over 1 to {TOP_INPUTS})"
            )
        return self.top_inputs[layers]


@dataclass(frozen=True)
class Encoded:
    vectors: Matrix  # texts x dimension, unit length
    states: dict[int, TokenStates]  # by the text's index, for the indexes asked


class Backend(Protocol):
    name: str

    def run(self, input_ids: Matrix, attention_mask: Matrix) -> tuple[Matrix, Matrix, tuple[Matrix, ...]]:
        """Unit sentence vectors (batch x dimension), last-layer token states and the states entering the top layers.

        The states are batch x tokens x hidden; the last item's [k - 1] enters the top k layers
        (``TOP_INPUTS`` of them).
        """
        ...


class TorchBackend:
    """The sentence-transformers model itself: its own pooling and normalisation modules."""

    name = "torch"

    def __init__(self, model: SentenceTransformer) -> None:
        self.model = model
        # Once: eval() walks every module, which cost more than encoding a short question.
        self.model.eval()

    def run(self, input_ids: Matrix, attention_mask: Matrix) -> tuple[Matrix, Matrix, tuple[Matrix, ...]]:
        import torch

        features = {
            "input_ids": torch.from_numpy(input_ids),
            "attention_mask": torch.from_numpy(attention_mask),
            "token_type_ids": torch.zeros_like(torch.from_numpy(input_ids)),
        }
        entering: dict[int, Any] = {}

        def keeper(layers: int) -> Any:
            def keep_input(_module: Any, arguments: tuple[Any, ...]) -> None:
                entering[layers] = arguments[0]

            return keep_input

        # The top layers' inputs, caught on the way (sentence-transformers returns the last layer's only).
        transformer: Any = self.model[0].auto_model
        hooks = [
            transformer.encoder.layer[-layers].register_forward_pre_hook(keeper(layers))
            for layers in range(1, TOP_INPUTS + 1)
        ]
        try:
            with torch.inference_mode():
                output = self.model(features)
                vectors = torch.nn.functional.normalize(output["sentence_embedding"], p=2, dim=1)
                top_inputs = tuple(entering[layers].numpy() for layers in range(1, TOP_INPUTS + 1))
                return vectors.numpy(), output["token_embeddings"].numpy(), top_inputs
        finally:
            for hook in hooks:
                hook.remove()


class OnnxBackend:
    """The transformer exported to ONNX, run by ONNX Runtime; mean pooling and normalisation in numpy."""

    name = "onnx"

    def __init__(self, path: Path) -> None:
        self.session = onnx_session(path)
        self.path = path

    def run(self, input_ids: Matrix, attention_mask: Matrix) -> tuple[Matrix, Matrix, tuple[Matrix, ...]]:
        states, *top_inputs = self.session.run(
            list(ONNX_OUTPUTS),
            {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "token_type_ids": np.zeros_like(input_ids),
            },
        )
        mask = attention_mask[:, :, None].astype(np.float32)
        summed = (states * mask).sum(axis=1)
        means = summed / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(means, axis=1, keepdims=True), 1e-12, None)
        return (means / norms).astype(np.float32), states, tuple(top_inputs)


def onnx_session(path: Path) -> Any:
    """An ONNX Runtime session on the graph at ``path``, threaded as PyTorch would be."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # As many threads as PyTorch would use (it follows the cores, or OMP_NUM_THREADS).
    options.intra_op_num_threads = _torch_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Its threads wait for work by spinning by default: on cores shared with other workers (web
    # workers, spaCy, the database) that burns the CPU they need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _torch_threads() -> int:
    """PyTorch's default: the cores this process may use, or OMP_NUM_THREADS (without importing torch)."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return int(threads) if threads.isdigit() and int(threads) > 0 else len(os.sched_getaffinity(0))


class TextEncoder:
    """Texts in, unit vectors (and token states) out, through a backend; tokenised by the model's own tokenizer.json."""

    def __init__(self, *, tokenizer: Tokenizer, max_tokens: int, dimension: int, backend: Backend) -> None:
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        self.max_tokens = max_tokens
        self.dimension = dimension
        self.backend = backend
        self.pad = self.tokenizer.token_to_id("[PAD]") or 0

    def encode(
        self,
        texts: Sequence[str],
        *,
        states_for: Collection[int] = (),
        entering_top: Mapping[int, Collection[int]] | None = None,
    ) -> Encoded:
        """Unit vectors of the texts, in order, and the token states of the texts at ``states_for``.

        ``entering_top``: by a text's index, the k of the states entering the top k layers to keep
        for it (the models that read it need); a text it does not name keeps them all. A batch of
        articles keeps a matrix a word piece for each, so keeping only those read saves memory.

        Texts are cut at the model's maximum length, sorted by it and encoded in batches of
        bounded padded size, so the states of one text do not depend on the others (but for
        float rounding).
        """
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return Encoded(vectors, {})
        wanted = set(states_for)
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = [encoding.ids for encoding in encodings]
        lengths = [len(row) for row in ids]
        pad = self.pad
        states: dict[int, TokenStates] = {}
        for batch in token_budget_batches(lengths, budget=BATCH_TOKENS, most=MAX_BATCH):
            longest = lengths[batch[0]]
            input_ids = np.full((len(batch), longest), pad, dtype=np.int64)
            attention_mask = np.zeros((len(batch), longest), dtype=np.int64)
            for row, index in enumerate(batch):
                input_ids[row, : lengths[index]] = ids[index]
                attention_mask[row, : lengths[index]] = 1
            batch_vectors, batch_states, batch_top_inputs = self.backend.run(input_ids, attention_mask)
            vectors[batch] = batch_vectors
            for row, index in enumerate(batch):
                if index in wanted:
                    states[index] = TokenStates(
                        hidden=np.array(batch_states[row, : lengths[index]], dtype=np.float32),
                        offsets=np.asarray(encodings[index].offsets, dtype=np.int64),
                        top_inputs={
                            layers: np.array(batch_top_inputs[layers - 1][row, : lengths[index]], dtype=np.float32)
                            for layers in (
                                entering_top[index]
                                if entering_top is not None and index in entering_top
                                else range(1, len(batch_top_inputs) + 1)
                            )
                        },
                    )
        return Encoded(vectors, states)


def token_budget_batches(lengths: list[int], *, budget: int, most: int) -> list[list[int]]:
    """Indexes of texts, longest first, cut into batches whose padded size (count times the longest) fits the budget.

    A text longer than the budget goes alone; no batch holds more than ``most``.
    """
    order = sorted(range(len(lengths)), key=lambda index: -lengths[index])
    batches: list[list[int]] = []
    batch: list[int] = []
    for index in order:
        if batch and (len(batch) == most or (len(batch) + 1) * lengths[batch[0]] > budget):
            batches.append(batch)
            batch = []
        batch.append(index)
    if batch:
        batches.append(batch)
    return batches


@functools.cache
def text_encoder(path: str = "", backend: str = "torch", onnx_dir: str = "", *, int8: bool = False) -> TextEncoder:
    """The process's encoder, loaded once: ``path`` empty for the packaged model, ``backend`` torch or onnx.

    The ONNX backend does not load PyTorch once the graph is exported (a web worker that only
    encodes questions saves its memory); it needs the model as a directory, as the package ships it.
    ``int8`` (ONNX only): its graph with the weights quantised (``onnx_int8``), for what is only
    compared with the stored vectors, never stored (Ask's questions).
    """
    if backend not in BACKENDS:
        raise ValueError(f"encoder backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    from tokenizers import Tokenizer

    if backend == "torch":
        model = sentence_encoder(path)
        max_tokens, dimension = model.max_seq_length, model.get_embedding_dimension()
        # None only for an encoder without a length limit, or without a pooling or dense layer.
        assert max_tokens is not None
        assert dimension is not None
        return TextEncoder(
            tokenizer=Tokenizer.from_str(model.tokenizer.backend_tokenizer.to_str()),
            max_tokens=int(max_tokens),
            dimension=int(dimension),
            backend=TorchBackend(model),
        )
    directory = Path(path) if path else default_encoder_path()
    max_tokens, dimension = _mean_pooling_model(directory)
    graph = onnx_model_path(directory, Path(onnx_dir or "var/models"))
    return TextEncoder(
        tokenizer=Tokenizer.from_file(str(directory / "tokenizer.json")),
        max_tokens=max_tokens,
        dimension=dimension,
        backend=OnnxBackend(onnx_int8(graph) if int8 else graph),
    )


def onnx_int8(path: Path) -> Path:
    """The graph at ``path`` with its weights quantised to 8 bits, written beside it at first use (atomically).

    Dynamic quantisation, per output channel: the matrices' weights are stored as int8 with a scale
    for each of their columns, the activations quantised as they come. A short text (a question) runs
    about three times as fast on a CPU, since at that size the work is reading the weights (90 MB in
    float32, 23 MB in int8), and its vector stays within cosine 0.99 of the float one (docs/benchmarks.md).
    """
    quantised = path.with_name(f"{path.stem}-int8.onnx")
    if quantised.exists():
        return quantised
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = quantised.with_suffix(f".{os.getpid()}.partial")
    logger.info("Quantising %s to 8 bits at %s", path.name, quantised)
    # The quantiser logs a line for every tensor to the root logger: not for an operator's log.
    root = logging.getLogger()
    quiet = _QuantiserInfoFilter()
    root.addFilter(quiet)
    try:
        quantize_dynamic(str(path), str(partial), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.removeFilter(quiet)
    os.replace(partial, quantised)
    return quantised


class _QuantiserInfoFilter(logging.Filter):
    """Drops ONNX Runtime's quantiser's records under ERROR: a line a tensor, and advice to pre-process
    the graph (what other threads log passes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or f"onnxruntime{os.sep}quantization" not in record.pathname


def onnx_model_path(directory: Path, cache: Path) -> Path:
    """The model's ONNX export in ``cache``, written at first use (atomically: workers may race)."""
    return onnx_export_cached(
        cache / onnx_export_name(directory),
        lambda: sentence_encoder(str(directory))[0].auto_model,
        ONNX_OUTPUTS,
        "the sentence encoder",
    )


def onnx_export_cached(path: Path, transformer: Callable[[], Any], outputs: Sequence[str], what: str) -> Path:
    """``path``, the export of the transformer ``transformer()`` loads, written first if it is not there yet.

    Written atomically (workers may race). Exporting loads PyTorch in this process; a graph already
    on disk is used without it.
    """
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    logger.info("Exporting %s to ONNX at %s", what, path)
    onnx_export(transformer(), partial, outputs)
    os.replace(partial, path)
    return path


def onnx_export_name(
    directory: Path, *, prefix: str = "encoder", outputs: Sequence[str] | None = None, extra: bytes = b""
) -> str:
    """The export's file name, keyed by the model's weights and configuration, the exporter and the graph's outputs.

    So a new model, a new PyTorch (the exporter) or an export made before the graph gave the
    states entering each of the top layers the pass hands over exports again. ``extra``: what
    else the graph is made of (a cross-encoder's adapters).
    """
    outputs = ONNX_OUTPUTS if outputs is None else outputs
    digest = hashlib.sha256(f"torch-{package_version('torch')}-opset-{ONNX_OPSET}-{'-'.join(outputs)}".encode())
    digest.update(_model_files_digest(directory))
    digest.update(extra)
    return f"{prefix}-{digest.hexdigest()[:16]}.onnx"


@functools.cache
def _model_files_digest(directory: Path) -> bytes:
    """The digest of the model's configuration and weights (read once per process: 90 MB)."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        if (directory / name).exists():
            digest.update(name.encode())
            with (directory / name).open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.digest()


def onnx_export(transformer: Any, path: Path, outputs: Sequence[str] = ONNX_OUTPUTS) -> None:
    """Write the transformer as an ONNX graph: input ids, attention mask, token types -> ``outputs``.

    The outputs are the last hidden state, then (as many as named, in ``ONNX_OUTPUTS``' order) the
    hidden states entering the top layer, the top two layers, and so on (``TOP_INPUTS``).
    """
    import torch

    if tuple(outputs) != ONNX_OUTPUTS[: len(outputs)] or not outputs:
        raise ValueError(f"ONNX outputs {outputs}: expected the first of {ONNX_OUTPUTS}")

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            output = self.transformer(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                output_hidden_states=True,
            )
            # hidden_states[-1] is the last layer's output, [-1 - k] what enters the top k layers.
            return (
                output.last_hidden_state,
                *(output.hidden_states[-1 - layers] for layers in range(1, len(outputs))),
            )

    example = torch.ones((2, 8), dtype=torch.long)
    transformer.eval()
    with torch.no_grad():
        # The TorchScript exporter: the dynamo one needs the onnx and onnxscript packages as well.
        torch.onnx.export(
            LastHiddenState().eval(),
            (example, example, torch.zeros_like(example)),
            str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=list(outputs),
            dynamic_axes={
                name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids", *outputs)
            },
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def _mean_pooling_model(directory: Path) -> tuple[int, int]:
    """The model's maximum length and dimension, if it pools like MiniLM: the mean of the token states, unit length.

    The ONNX backend pools that way itself; it refuses a model that does anything else.
    """
    try:
        modules = [module["type"].rsplit(".", 1)[-1] for module in json.loads((directory / "modules.json").read_text())]
        pooling = json.loads((directory / "1_Pooling" / "config.json").read_text())
        limits = json.loads((directory / "sentence_bert_config.json").read_text())
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"the ONNX encoder backend needs a sentence-transformers model directory: {error}") from error
    modes = [key for key, value in pooling.items() if key.startswith("pooling_mode_") and value]
    if (
        modules[:2] != ["Transformer", "Pooling"]
        or modes != ["pooling_mode_mean_tokens"]
        or modules[2:]
        not in (
            [],
            ["Normalize"],
        )
    ):
        raise ValueError(
            f"the ONNX encoder backend pools by the mean of the token states; this model is {modules} "
            f"(pooling {modes}): use NEWSROOM_ENCODER_BACKEND=torch"
        )
    return int(limits["max_seq_length"]), int(pooling["word_embedding_dimension"])
