"""Fine-tune Ask's answer cross-encoder: does this sentence answer this question? (LoRA on MiniLM, issue 20)

    .venv/bin/python -m lab.train_ask_cross lab/data/ask_train/*.jsonl [--dev-file NAME] [--output PATH]
        [--epochs 4] [--learning-rate 1.5e-3] [--rank 8] [--batch 16] [--threads 2] [--seed 0]

The files hold passages written for the project with questions and the span that answers each, and
questions on the passage's topic that it does not answer (``lab/data/ask_train/``, the format of
``lab.ask_encyclopedia``). Each passage is cut into sentences as the analysis cuts an article's; a
question and one sentence make a pair, true when the sentence holds the answer span. Every other
sentence of its passage is a false pair (on the topic, not the answer), every sentence of a passage
to a question it does not answer is false (at most five of a passage's false pairs per question,
chosen at random), and one sentence of another passage is false too (off the topic). A near miss
(``"type": "near_miss"``, the ``n*.jsonl`` files) is a question on one sentence's topic that the
passage does not answer ("What will the company charge for the drug?" of "The company asked the
agency to approve the drug"): that sentence is always among its false pairs. The questions
over the passages of ``--dev-file`` (a file name; default the last) are kept out of training and
pick the epoch (average precision of their pairs); the threshold Ask refuses under is chosen
afterwards, on the question sets (``evaluate_ask``), not here.

The shipped adapters: ``--dev-file h9.jsonl --epochs 4 --learning-rate 1.5e-3`` (seed 0, 2 threads),
about 39 minutes on two shared cores; see docs/models.md (Ask). Session 12's near misses
(``lab/data/ask_near_miss/``, not in the shipped model's data) are read when named: with them a
fresh run's first epoch collapsed to a constant (dev average precision 0.12) at this learning
rate, and training on from the shipped adapters (``--init``, 2 epochs at 5e-4) made the model
refuse paraphrased questions (see the answer model's card).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from lab.environment import django_setup
from lab.lora import adapters_load, adapters_save, logits_in_batches, lora_encoder

WARMUP_SHARE = 0.06
OFF_TOPIC_PER_QUESTION = 1
# Of a question's passage, the sentences that answer it and at most this many that do not (chosen at random).
NEGATIVES_PER_QUESTION = 5


@dataclass(frozen=True)
class Pair:
    question: str
    sentence: str
    answers: bool
    passage: str  # file and title: the pairs of one passage stay together
    file: str


def _folded(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def pairs_read(paths: Sequence[Path], sentences_of: Any, seed: int) -> list[Pair]:
    """The pairs of every question of ``paths`` (see the module's docstring).

    A question row may name the file its passage is in (``source``): the yes-or-no questions were
    written later, over the passages of the first files.
    """
    rows: list[tuple[Path, int, dict[str, Any]]] = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                rows.append((path, number, json.loads(line)))
    paragraphs: dict[tuple[str, str, int], str] = {
        (path.name, str(row["article"]), int(row["index"])): str(row["text"])
        for path, _, row in rows
        if row["type"] == "paragraph"
    }
    passages: dict[tuple[str, str], str] = {}
    # file, passage, question, answer ("" when not answered), the words of a sentence that must be a false pair
    asked: list[tuple[str, str, str, str, str]] = []
    for path, number, row in rows:
        file, title = str(row.get("source") or path.name), str(row["article"])
        if row["type"] == "question":
            text = paragraphs.get((file, title, int(row["paragraph"])), "")
            if str(row["answer"]) not in text:
                raise SystemExit(f"{path}:{number}: the answer is not in its paragraph")
            passages.setdefault((file, f"{title}|{row['paragraph']}"), text)
            asked.append((file, f"{title}|{row['paragraph']}", str(row["question"]), str(row["answer"]), ""))
        elif row["type"] == "near_miss":
            text = paragraphs.get((file, title, int(row["paragraph"])), "")
            if str(row["sentence"]) not in text:
                raise SystemExit(f"{path}:{number}: the sentence is not in its paragraph")
            passages.setdefault((file, f"{title}|{row['paragraph']}"), text)
            asked.append((file, f"{title}|{row['paragraph']}", str(row["question"]), "", str(row["sentence"])))
        elif row["type"] == "related_only":
            for (file_, title_, index), text in paragraphs.items():
                if (file_, title_) == (file, title):
                    passages.setdefault((file, f"{title}|{index}"), text)
                    asked.append((file, f"{title}|{index}", str(row["question"]), "", ""))
    keys = list(passages)
    split = dict(zip(keys, sentences_of([passages[key] for key in keys]), strict=True))
    chooser = random.Random(seed)
    pairs = []
    for file, title, question, answer, near in asked:
        found = [bool(answer) and _folded(answer) in _folded(sentence) for sentence in split[file, title]]
        others = [sentence for sentence, answers in zip(split[file, title], found, strict=True) if not answers]
        kept = set(chooser.sample(others, min(len(others), NEGATIVES_PER_QUESTION)))
        kept |= {sentence for sentence in others if near and _folded(near) in _folded(sentence)}
        for sentence, answers in zip(split[file, title], found, strict=True):
            if answers or sentence in kept:
                pairs.append(Pair(question, sentence, answers, f"{file}|{title}", file))
        for _ in range(OFF_TOPIC_PER_QUESTION):
            other = chooser.choice(keys)
            if other != (file, title) and split[other]:
                pairs.append(Pair(question, chooser.choice(split[other]), False, f"{file}|{title}", file))
    return pairs


def average_precision(scores: np.ndarray[Any, Any], gold: np.ndarray[Any, Any]) -> float:
    order = np.argsort(-scores)
    hits = gold[order].astype(float)
    if not hits.sum():
        return 0.0
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def main(argv: Sequence[str] | None = None, *, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> None:
    django_setup()
    import torch

    from analysis.nlp.answer_cross import ANSWER_CROSS_PATH
    from analysis.nlp.models import default_encoder_path
    from analysis.nlp.same_claim_cross import ADAPTED, CROSS_FORMAT, encoder_fingerprint
    from analysis.services import analyser

    parser = argparse.ArgumentParser(
        prog="python -m lab.train_ask_cross", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", type=Path, help="Passage and question files (lab/data/ask_train/*.jsonl).")
    parser.add_argument("--dev-file", default="", help="The file kept out to choose the epoch (default: the last).")
    parser.add_argument("--output", type=Path, default=ANSWER_CROSS_PATH, help="Adapters to write.")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1.5e-3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch.")
    parser.add_argument("--all", action="store_true", help="Train on the dev file too (for the epochs chosen).")
    parser.add_argument("--init", type=Path, help="Start from these adapters and head (a file this script wrote).")
    parser.add_argument(
        "--clip", type=float, default=0.0, help="Clip each step's gradient to this norm (default: no clipping)."
    )
    arguments = parser.parse_args(argv)

    torch.set_num_threads(arguments.threads)
    torch.manual_seed(arguments.seed)
    random.seed(arguments.seed)
    encoder_path = str(default_encoder_path())
    paths = sorted(arguments.paths)
    dev_file = arguments.dev_file or paths[-1].name  # a passage file: the questions over its passages
    pairs = pairs_read(paths, analyser().sentences, arguments.seed)
    gold = np.array([pair.answers for pair in pairs])
    dev = np.array([pair.file == dev_file for pair in pairs])
    train = np.ones(len(pairs), dtype=bool) if arguments.all else ~dev
    stderr.write(
        f"{len(pairs)} pairs ({int(gold.sum())} answering): {int(train.sum())} train, "
        f"{int(dev.sum())} dev ({dev_file}{', also trained on' if arguments.all else ''}).\n"
    )

    adapted = lora_encoder(encoder_path, arguments.rank)
    if arguments.init:
        adapters_load(adapted, arguments.init)
    model, head = adapted.model, adapted.head
    trainable = adapted.trainable

    def logits_of(indexes: Sequence[int]) -> torch.Tensor:
        return adapted.logits([(pairs[index].question, pairs[index].sentence) for index in indexes])

    def batches(indexes: list[int]) -> list[list[int]]:
        random.shuffle(indexes)
        run = arguments.batch * 8
        result = []
        for start in range(0, len(indexes), run):
            chunk = sorted(indexes[start : start + run], key=lambda index: len(pairs[index].sentence))
            result.extend(chunk[offset : offset + arguments.batch] for offset in range(0, len(chunk), arguments.batch))
        random.shuffle(result)
        return result

    def scored(rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        model.eval()
        head.eval()
        return logits_in_batches(logits_of, np.nonzero(rows)[0].tolist(), len(pairs))[rows]

    train_indexes = np.nonzero(train)[0].tolist()
    optimizer = torch.optim.AdamW(trainable, lr=arguments.learning_rate, weight_decay=0.01)
    # True pairs are about one in seven: weighted so that both kinds count alike.
    positive_weight = torch.tensor(float((~gold[train]).sum() / max(1, gold[train].sum())))
    loss_function = torch.nn.BCEWithLogitsLoss(pos_weight=positive_weight)
    steps = arguments.epochs * math.ceil(len(train_indexes) / arguments.batch)
    warmup = max(1, int(WARMUP_SHARE * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / (steps - warmup)))
    )
    best_ap, best_epoch, best_state = -1.0, 0, {}
    started = time.monotonic()
    for epoch in range(1, arguments.epochs + 1):
        model.train()
        head.train()
        total, seen = 0.0, 0
        for chosen in batches(list(train_indexes)):
            loss = loss_function(logits_of(chosen), torch.tensor(gold[chosen], dtype=torch.float32))
            loss.backward()
            if arguments.clip:
                torch.nn.utils.clip_grad_norm_(trainable, arguments.clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            total += float(loss.detach()) * len(chosen)
            seen += len(chosen)
        dev_ap = average_precision(scored(dev), gold[dev])
        stderr.write(
            f"epoch {epoch}: train loss {total / seen:.4f}; dev average precision {dev_ap:.4f}; "
            f"{(time.monotonic() - started) / 60:.1f} min\n"
        )
        if arguments.all or dev_ap > best_ap:
            best_ap, best_epoch = dev_ap, epoch
            best_state = adapted.state()
    version = f"ask-cross-{datetime.now(UTC).strftime('%Y%m%d')}"
    meta = {
        "format": CROSS_FORMAT,
        "task": "answers",
        "version": version,
        "rank": adapted.rank,
        "alpha": adapted.alpha,
        "adapted": list(ADAPTED),
        "encoder_fingerprint": encoder_fingerprint(model),
        "epochs": arguments.epochs,
        "chosen_epoch": best_epoch,
        "learning_rate": arguments.learning_rate,
        "dev_file": dev_file,
        "dev_average_precision": round(best_ap, 4),
        "trained_on": [path.name for path in paths],
        "pairs": {"train": int(train.sum()), "dev": int(dev.sum())},
        "training_minutes": round((time.monotonic() - started) / 60, 1),
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
    }
    output: Path = arguments.output
    adapters_save(best_state, meta, output)
    stdout.write(
        f"Chose epoch {best_epoch} of {arguments.epochs} (dev average precision {best_ap:.4f}); "
        f"wrote {output} ({output.stat().st_size // 1024} KiB), version {version}.\n"
    )


if __name__ == "__main__":
    main()
