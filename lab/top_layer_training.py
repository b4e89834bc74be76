"""Fine-tuning private copies of the encoder's top layers with a head: what the tone and loaded-language trainers share.

The layers below the fine-tuned ones stay frozen, so the states entering the lowest fine-tuned
layer are computed once, by the analysis's own encoder pass (``encoder.TextEncoder``, the states
the runtime hands the models), cut at ``top_layer.MAX_TOKENS`` word pieces as the runtime cuts
them, and cached on disk. Training then runs those few layers and the head: about a sixth of
a full fine-tuning per epoch and layer. Single-threaded: the CPUs are shared.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

Matrix = np.ndarray[Any, np.dtype[Any]]
BATCH = 32
POOL = 50  # batches of similar length are cut from pools of this many batches' rows
CHUNK = 256  # texts encoded at a time (their states take about 3 KB a word piece)


@dataclass(frozen=True)
class TopInputs:
    """The states entering the top layer of many texts, flat (float16), with each text's bounds and offsets."""

    states: Matrix  # word pieces x hidden, float16
    offsets: Matrix  # word pieces x 2: character offsets, (0, 0) for special tokens
    bounds: Matrix  # texts + 1: text i is states[bounds[i] : bounds[i + 1]]

    def lengths(self) -> Matrix:
        return np.diff(self.bounds)

    def of(self, row: int) -> tuple[Matrix, Matrix]:
        return self.states[self.bounds[row] : self.bounds[row + 1]], self.offsets[
            self.bounds[row] : self.bounds[row + 1]
        ]

    def padded(self, rows: Sequence[int]) -> tuple[Any, Any]:
        """A batch: input states (rows x longest x hidden, float32) and its 0/1 token mask."""
        import torch

        longest = max(int(self.bounds[row + 1] - self.bounds[row]) for row in rows)
        hidden = torch.zeros(len(rows), longest, self.states.shape[1])
        mask = torch.zeros(len(rows), longest)
        for position, row in enumerate(rows):
            states, _offsets = self.of(row)
            hidden[position, : len(states)] = torch.from_numpy(states.astype(np.float32))
            mask[position, : len(states)] = 1.0
        return hidden, mask


def top_inputs_cached(texts: Sequence[str], cache: Path | None, *, stderr: TextIO, layers: int = 1) -> TopInputs:
    """The texts' states entering the encoder's top ``layers`` layers, from the analysis's encoder pass.

    Kept in ``cache`` (an npz), which is reused only for as many texts and the same layers.
    """
    from analysis.nlp.top_layer import MAX_TOKENS, top_inputs_encode

    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            cached_layers = int(data["layers"]) if "layers" in data else 1
            if len(data["bounds"]) == len(texts) + 1 and cached_layers == layers:
                return TopInputs(data["states"], data["offsets"], data["bounds"])
    started = time.perf_counter()
    states: list[Matrix] = []
    offsets: list[Matrix] = []
    for start in range(0, len(texts), CHUNK):
        for token_states in top_inputs_encode(texts[start : start + CHUNK]):
            states.append(token_states.entering_top(layers)[:MAX_TOKENS].astype(np.float16))
            offsets.append(token_states.offsets[:MAX_TOKENS].astype(np.int32))
        stderr.write(f"  states of {min(start + CHUNK, len(texts))} texts in {time.perf_counter() - started:.0f}s\n")
    result = TopInputs(
        np.concatenate(states), np.concatenate(offsets), np.cumsum([0, *(len(matrix) for matrix in states)])
    )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, states=result.states, offsets=result.offsets, bounds=result.bounds, layers=np.array(layers))
    return result


@dataclass(frozen=True)
class Schedule:
    """How long and how fast the layer and the head train."""

    epochs: int
    layer_rate: float
    head_rate: float

    def provenance(self, *, name: str, path: Path, **counts: int) -> dict[str, str]:
        """The model's meta: its name, the file it learnt from, the counts given, these settings and the time."""
        return {
            "name": name,
            "trained_on": path.name,
            **{key: str(value) for key, value in counts.items()},
            "epochs": str(self.epochs),
            "learning_rate": str(self.layer_rate),
            "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        }


def length_batches(rows: Matrix, lengths: Matrix, generator: np.random.Generator) -> list[list[int]]:
    """The rows shuffled, cut into batches of similar length (``lengths[row]``: little padding), in random order."""
    shuffled = generator.permutation(rows)
    batches: list[list[int]] = []
    for start in range(0, len(shuffled), BATCH * POOL):
        pool = sorted(shuffled[start : start + BATCH * POOL].tolist(), key=lambda row: int(lengths[row]))
        batches += [pool[first : first + BATCH] for first in range(0, len(pool), BATCH)]
    order = generator.permutation(len(batches))
    return [batches[index] for index in order]


def fine_tune(
    network: Any,
    rows: Matrix,
    lengths: Matrix,
    loss_of: Callable[[list[int]], Any],
    schedule: Schedule,
    *,
    after_epoch: Callable[[int, float], None] | None = None,
) -> None:
    """Train ``network.layer`` at the layer's rate and the rest (the head, a target marker) at the head's on ``rows``.

    AdamW, a one-cycle schedule, batches of BATCH.

    ``lengths[row]``: the row's word pieces, to batch rows of similar length.
    ``loss_of(batch)`` runs the network on a batch of rows and returns its loss; ``after_epoch``
    is called with the epoch's number (from 1) and its seconds, with the network in eval mode.
    """
    import torch

    others = [parameter for name, parameter in network.named_parameters() if not name.startswith("layer.")]
    optimiser = torch.optim.AdamW(
        [
            {"params": network.layer.parameters(), "lr": schedule.layer_rate},
            {"params": others, "lr": schedule.head_rate},
        ],
        weight_decay=0.01,
    )
    rates = torch.optim.lr_scheduler.OneCycleLR(
        optimiser,
        max_lr=[schedule.layer_rate, schedule.head_rate],
        total_steps=max(1, schedule.epochs * -(-len(rows) // BATCH)),
        pct_start=0.1,
    )
    generator = np.random.default_rng(0)
    for epoch in range(schedule.epochs):
        network.train()
        started = time.perf_counter()
        for batch in length_batches(rows, lengths, generator):
            loss = loss_of(batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            rates.step()
        network.eval()
        if after_epoch is not None:
            after_epoch(epoch + 1, time.perf_counter() - started)


def predicted(network: Any, rows: Matrix, lengths: Matrix, outputs_of: Callable[[list[int]], Any]) -> Matrix:
    """``outputs_of(batch)`` (a tensor, one line per row) of every row, in the order of ``rows``, without gradients."""
    import torch

    network.eval()
    order = sorted(rows.tolist(), key=lambda row: int(lengths[row]))
    found: dict[int, Matrix] = {}
    with torch.inference_mode():
        for start in range(0, len(order), 128):
            batch = order[start : start + 128]
            for row, value in zip(batch, outputs_of(batch).numpy(), strict=True):
                found[row] = value
    return np.array([found[row] for row in rows.tolist()])
