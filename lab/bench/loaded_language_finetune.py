"""Loaded language from the encoder's last layer fine-tuned on paragraphs, against the frozen encoder.

    .venv/bin/python lab/bench/loaded_language_finetune.py FILE.jsonl [--epochs 3] [--learning-rate 1e-4]
        [--cache var/paragraph_states.npz]

What the loaded-language card's "fine-tuning" rows come from. FILE is SemEval-2023 Task 3
subtask-3 paragraphs (``article_id``, ``text``, ``gold_loaded_language``). The split is the
trainer's (``lab.train_loaded_language``): the articles it holds out are never read here. Of
the other articles, the first of five folds grouped by article is the dev part: the model
trains on the other four and is scored on it, each epoch, beside a logistic regression over
the frozen sentence vector and counts (the shipped design) fitted on the same rows.

Only the top transformer layer (a private copy) and a linear head over the mean of its token
states are trained; the states entering that layer are computed once and cached (``--cache``),
so an epoch costs about a sixth of a full fine-tuning. Single-threaded (the CPUs are shared).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lab.environment import django_setup  # noqa: E402
from lab.train_loaded_language import held_out  # noqa: E402

Matrix = np.ndarray[Any, np.dtype[Any]]
MAX_TOKENS = 128  # of a paragraph, when training
TOP_LAYER = 5  # the index of MiniLM-L6's last layer: its input is hidden_states[5]
BATCH = 32


def states_encode(texts: list[str], cache: Path | None) -> tuple[Matrix, Matrix, Matrix]:
    """Unit mean vectors (as the analysis encodes), and the token states entering the top layer (flat, offsets)."""
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            return data["vectors"], data["states"], data["offsets"]
    import torch

    from analysis.nlp.models import sentence_encoder

    encoder = sentence_encoder()
    tokenizer, network = encoder.tokenizer, encoder[0].auto_model.eval()
    order = np.argsort([len(text) for text in texts])
    vectors = np.zeros((len(texts), network.config.hidden_size), dtype=np.float32)
    states: list[Matrix] = [np.zeros(0)] * len(texts)
    with torch.inference_mode():
        for start in range(0, len(texts), BATCH):
            rows = order[start : start + BATCH]
            batch = tokenizer(
                [texts[row] for row in rows], truncation=True, max_length=256, padding=True, return_tensors="pt"
            )
            output = network(**batch, output_hidden_states=True)
            mask = batch["attention_mask"].unsqueeze(-1).float()
            mean = (output.last_hidden_state * mask).sum(1) / mask.sum(1)
            vectors[rows] = torch.nn.functional.normalize(mean, dim=-1).numpy()
            for position, row in enumerate(rows):
                length = int(batch["attention_mask"][position].sum())
                states[row] = output.hidden_states[TOP_LAYER][position, :length].numpy().astype(np.float16)
    offsets = np.cumsum([0, *(len(matrix) for matrix in states)])
    flat = np.concatenate(states)
    if cache is not None:
        np.savez(cache, vectors=vectors, states=flat, offsets=offsets)
    return vectors, flat, offsets


def best_f1_at_precision(
    probabilities: Matrix, gold: Matrix, precision_aim: float
) -> tuple[float, float, float, float]:
    """The threshold of best F1 whose precision reaches the aim, with that F1, precision and recall."""
    best = (1.0, 0.0, 0.0, 0.0)
    for value in np.arange(0.05, 0.99, 0.01):
        flagged = probabilities >= value
        if not flagged.any():
            continue
        true_positive = int((flagged & gold).sum())
        precision = true_positive / int(flagged.sum())
        f1 = 2 * true_positive / (int(flagged.sum()) + int(gold.sum()))
        if precision >= precision_aim and f1 > best[1]:
            best = (float(value), f1, precision, true_positive / int(gold.sum()))
    return best


def report(name: str, probabilities: Matrix, gold: Matrix) -> str:
    from sklearn.metrics import average_precision_score

    parts = [f"{name}: average precision {average_precision_score(gold, probabilities):.3f}"]
    for aim in (0.65, 0.60):
        threshold, f1, precision, recall = best_f1_at_precision(probabilities, gold, aim)
        parts.append(f"P>={aim:.2f}: threshold {threshold:.2f} F1 {f1:.3f} P {precision:.3f} R {recall:.3f}")
    return " | ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--cache", type=Path)
    arguments = parser.parse_args()
    django_setup()
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    from analysis.nlp.loaded_language import counts_features
    from analysis.nlp.models import sentence_encoder

    torch.set_num_threads(1)
    torch.manual_seed(0)
    rows = [json.loads(line) for line in arguments.path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [str(row["text"]) for row in rows]
    gold = np.array([bool(row["gold_loaded_language"]) for row in rows])
    groups = np.array([str(row["article_id"]) for row in rows])
    training = np.flatnonzero([not held_out(group) for group in groups])
    inner_train, inner_dev = next(GroupKFold(5).split(training, groups=groups[training]))
    fit_rows, dev_rows = training[inner_train], training[inner_dev]

    started = time.perf_counter()
    vectors, states, offsets = states_encode(texts, arguments.cache)
    print(f"Encoded {len(texts)} paragraphs in {time.perf_counter() - started:.0f}s.", flush=True)

    features = np.hstack([vectors, np.vstack([counts_features(text) for text in texts])])
    mean, scale = features[fit_rows].mean(axis=0), features[fit_rows].std(axis=0) + 1e-6
    frozen = LogisticRegression(C=0.03, max_iter=3000).fit((features[fit_rows] - mean) / scale, gold[fit_rows])
    print(
        report(
            "frozen vector + counts", frozen.predict_proba((features[dev_rows] - mean) / scale)[:, 1], gold[dev_rows]
        )
    )

    def batch_of(indices: list[int]) -> tuple[Any, Any]:
        longest = min(MAX_TOKENS, max(int(offsets[row + 1] - offsets[row]) for row in indices))
        hidden = torch.zeros(len(indices), longest, states.shape[1])
        mask = torch.zeros(len(indices), longest)
        for position, row in enumerate(indices):
            piece = states[offsets[row] : offsets[row + 1]][:longest]
            hidden[position, : len(piece)] = torch.from_numpy(piece.astype(np.float32))
            mask[position, : len(piece)] = 1
        return hidden, mask

    class TopLayerClassifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = copy.deepcopy(sentence_encoder()[0].auto_model.encoder.layer[TOP_LAYER])
            self.head = torch.nn.Linear(states.shape[1], 1)

        def forward(self, hidden: Any, mask: Any) -> Any:
            output = self.layer(hidden, attention_mask=(1.0 - mask[:, None, None, :]) * -1e4)
            output = output[0] if isinstance(output, tuple) else output
            pooled = (output * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            return self.head(torch.nn.functional.normalize(pooled, dim=-1) * 10).squeeze(-1)

    def predict(network: TopLayerClassifier, indices: Matrix) -> Matrix:
        network.eval()
        order = sorted(indices.tolist(), key=lambda row: offsets[row + 1] - offsets[row])
        result = {}
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                chunk = order[start : start + 64]
                for row, value in zip(chunk, torch.sigmoid(network(*batch_of(chunk))).numpy(), strict=True):
                    result[row] = float(value)
        return np.array([result[row] for row in indices.tolist()])

    network = TopLayerClassifier()
    rate = arguments.learning_rate
    optimiser = torch.optim.AdamW(
        [{"params": network.layer.parameters(), "lr": rate}, {"params": network.head.parameters(), "lr": 1e-3}],
        weight_decay=0.01,
    )
    steps = arguments.epochs * ((len(fit_rows) + BATCH - 1) // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=[rate, 1e-3], total_steps=steps, pct_start=0.1)
    positive_weight = torch.tensor((~gold[fit_rows]).sum() / gold[fit_rows].sum())
    generator = np.random.default_rng(0)
    for epoch in range(arguments.epochs):
        network.train()
        started = time.perf_counter()
        shuffled = generator.permutation(fit_rows)
        # Batches of similar length (little padding), in random order.
        batches: list[list[int]] = []
        for start in range(0, len(shuffled), BATCH * 50):
            pool = sorted(
                shuffled[start : start + BATCH * 50].tolist(), key=lambda row: offsets[row + 1] - offsets[row]
            )
            batches += [pool[first : first + BATCH] for first in range(0, len(pool), BATCH)]
        generator.shuffle(batches)  # type: ignore[arg-type]
        for indices in batches:
            target = torch.tensor(gold[indices], dtype=torch.float32)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                network(*batch_of(indices)), target, pos_weight=positive_weight
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        print(
            report(
                f"top layer fine-tuned, epoch {epoch + 1} ({time.perf_counter() - started:.0f}s)",
                predict(network, dev_rows),
                gold[dev_rows],
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
