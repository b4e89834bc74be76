"""Train the same-claim model, choose its thresholds, and score it on a split no choice saw.

    .venv/bin/python -m lab.train_claims FILE.jsonl [--output PATH] [--precision 0.92] [--recall 0.90]
        [--held-out 0.2] [--dev 0.2] [--seed 0] [--cache PATH.npz]

FILE is JSONL with ``sentence_a``, ``sentence_b`` and ``gold_same_claim`` (MRPC's train file).
Protocol: the pairs are split three ways by connected groups (two pairs that share a sentence
are always on one side of every split): ``--held-out`` of them are set aside first and read once,
at the end, for the figures the model card reports; ``--dev`` of the rest choose the
regularisation, whether the hard checks are on, and the two thresholds; the model is fitted on
what is left. ``precise`` is the lowest threshold whose dev precision reaches ``--precision``
(citations); ``recall`` the highest whose dev recall reaches ``--recall`` (omissions).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from sklearn.linear_model import LogisticRegression

from lab.environment import django_setup

Matrix = np.ndarray[Any, np.dtype[Any]]
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
BASELINE_COSINE = 0.72
CHECKS_MAY_COST = 0.03
MIN_ACCEPTED = 20


def groups_of(pairs: Sequence[Any]) -> list[str]:
    """Each pair's group: the smallest sentence of the connected component of pairs sharing sentences."""
    parent: dict[str, str] = {}

    def find(text: str) -> str:
        parent.setdefault(text, text)
        while parent[text] != text:
            parent[text] = parent[parent[text]]
            text = parent[text]
        return text

    for pair in pairs:
        first, second = find(pair.first), find(pair.second)
        if first != second:
            parent[max(first, second)] = min(first, second)
    return [find(pair.first) for pair in pairs]


def bucket(group: str, seed: int) -> float:
    """A stable number in [0, 1) per group: the split does not depend on the file's order."""
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def threshold_for_precision(probabilities: Matrix, gold: Matrix, target: float) -> float:
    """The lowest threshold at which precision still reaches ``target`` (the most recall it allows).

    Thresholds that accept fewer than MIN_ACCEPTED pairs are not considered: their precision is noise.
    """
    order = np.argsort(-probabilities, kind="stable")
    accepted = np.arange(1, len(order) + 1)
    precision = np.cumsum(gold[order]) / accepted
    # Only where the next pair scores lower: a threshold accepts every pair of equal score.
    distinct = np.append(probabilities[order][1:] < probabilities[order][:-1], True)
    good = np.nonzero((precision >= target) & (accepted >= MIN_ACCEPTED) & distinct & (probabilities[order] > 0))[0]
    return float(probabilities[order][good.max()]) if len(good) else 1.0


def threshold_for_recall(probabilities: Matrix, gold: Matrix, target: float) -> float:
    """The highest threshold at which recall still reaches ``target``."""
    positives = np.sort(probabilities[gold])[::-1]
    needed = int(np.ceil(target * len(positives)))
    return float(max(positives[needed - 1], 1e-6)) if needed else 1.0


def pairs_encoded(pairs: Sequence[Any], cache: Path | None) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The pairs' sentence vectors, read from ``cache`` (an .npz file) when it exists, else encoded and kept there."""
    from analysis.claims_evaluation import pairs_encode

    if cache and cache.exists():
        with np.load(cache) as cached:
            return cached["first"], cached["second"]
    first, second = pairs_encode(pairs)
    if cache:
        np.savez(cache, first=first, second=second)
    return first, second


def main(argv: Sequence[str] | None = None, *, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> None:
    django_setup()
    from analysis.claims_evaluation import pair_scores, pairs_read
    from analysis.nlp.same_claim import (
        COSINE_FLOOR,
        FEATURES,
        FORMAT,
        WEIGHTS_PATH,
        SameClaimModel,
        checks_pass,
        pair_features,
        sentence_facts,
    )

    parser = argparse.ArgumentParser(
        prog="python -m lab.train_claims", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path, help="JSONL with sentence_a, sentence_b and gold_same_claim.")
    parser.add_argument("--output", type=Path, default=WEIGHTS_PATH, help=f"Weights to write (default {WEIGHTS_PATH}).")
    parser.add_argument("--precision", type=float, default=0.92, help="Dev precision the citation threshold reaches.")
    parser.add_argument("--recall", type=float, default=0.90, help="Dev recall the omission threshold keeps.")
    parser.add_argument("--held-out", type=float, default=0.2, help="Share of groups held out for the final figures.")
    parser.add_argument("--dev", type=float, default=0.2, help="Share of groups (after the held-out) for choices.")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the split.")
    parser.add_argument("--cache", type=Path, help="An .npz file to keep the encoded pairs in (encode once).")
    arguments = parser.parse_args(argv)

    pairs = pairs_read(arguments.path)
    first, second = pairs_encoded(pairs, arguments.cache)
    gold = np.array([pair.same for pair in pairs])
    cosine = (first.astype(np.float32) * second.astype(np.float32)).sum(axis=1)
    facts = [(sentence_facts(pair.first), sentence_facts(pair.second)) for pair in pairs]
    matrix = np.array(
        [pair_features(one, other, float(similarity)) for (one, other), similarity in zip(facts, cosine, strict=True)]
    )
    passing = np.array(
        [checks_pass(one, other, float(similarity)) for (one, other), similarity in zip(facts, cosine, strict=True)]
    )

    buckets = np.array([bucket(group, arguments.seed) for group in groups_of(pairs)])
    held_out = buckets < arguments.held_out
    dev = ~held_out & (buckets < arguments.held_out + arguments.dev * (1 - arguments.held_out))
    train = ~held_out & ~dev
    stderr.write(f"{len(pairs)} pairs: {train.sum()} train, {dev.sum()} dev, {held_out.sum()} held out.\n")
    stderr.write(f"True pairs below the cosine floor {COSINE_FLOOR}: {int((gold & (cosine < COSINE_FLOOR)).sum())}.\n")

    def fit(rows: Matrix, regularisation: float) -> tuple[Matrix, float]:
        mean, scale = matrix[rows].mean(axis=0), matrix[rows].std(axis=0) + 1e-6
        regression = LogisticRegression(C=regularisation, max_iter=5000)
        regression.fit((matrix[rows] - mean) / scale, gold[rows])
        weights = regression.coef_[0] / scale
        return weights, float(regression.intercept_[0] - (regression.coef_[0] * mean / scale).sum())

    def probabilities(weights: Matrix, intercept: float, rows: Matrix, *, checks: bool) -> Matrix:
        result = 1 / (1 + np.exp(-(matrix[rows] @ weights + intercept)))
        result[cosine[rows] < COSINE_FLOOR] = 0
        if checks:
            result[~passing[rows]] = 0
        return np.asarray(result)

    # Choices on dev: the regularisation, and the checks on or off, by dev recall at the target precision.
    # The checks are a product rule (numbers must agree, no one-sided negation): they stay on unless
    # they cost more than CHECKS_MAY_COST of dev recall.
    results = []
    for regularisation in C_GRID:
        weights, intercept = fit(train, regularisation)
        for checks in (False, True):
            dev_probabilities = probabilities(weights, intercept, dev, checks=checks)
            threshold = threshold_for_precision(dev_probabilities, gold[dev], arguments.precision)
            scores = pair_scores(gold[dev], dev_probabilities >= threshold)
            stderr.write(
                f"C={regularisation} checks={checks}: dev threshold {threshold:.3f} "
                f"P {scores.precision:.3f} R {scores.recall:.3f}\n"
            )
            results.append((scores.recall, regularisation, threshold, checks))
    best_without = max(result for result in results if not result[3])
    best_with = max(result for result in results if result[3])
    chosen = best_with if best_with[0] >= best_without[0] - CHECKS_MAY_COST else best_without
    _recall, regularisation, precise, checks = chosen
    weights, intercept = fit(train, regularisation)
    dev_probabilities = probabilities(weights, intercept, dev, checks=checks)
    recall_threshold = threshold_for_recall(dev_probabilities, gold[dev], arguments.recall)
    version = f"same-claim-lr-{datetime.now(UTC).strftime('%Y%m%d')}"
    meta = {
        "format": FORMAT,
        "version": version,
        "features": list(FEATURES),
        "precise": round(precise, 4),
        "recall": round(recall_threshold, 4),
        "checks": checks,
        "regularisation": regularisation,
        "trained_on": arguments.path.name,
        "pairs": {"train": int(train.sum()), "dev": int(dev.sum()), "held_out": int(held_out.sum())},
        "split": {"seed": arguments.seed, "held_out": arguments.held_out, "dev": arguments.dev},
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
    }
    output: Path = arguments.output
    np.savez_compressed(
        output, weights=weights.astype(np.float64), intercept=np.float64(intercept), meta=np.array(json.dumps(meta))
    )
    stdout.write(
        f"Chose C={regularisation}, checks {'on' if checks else 'off'}; "
        f"thresholds precise {precise:.4f}, recall {recall_threshold:.4f}.\n"
    )
    stdout.write(f"Wrote {output} ({output.stat().st_size // 1024} KiB), version {version}.\n")

    # The held-out figures, read once, through the written file and the runtime's own code.
    shipped = SameClaimModel.load(output)
    held = np.nonzero(held_out)[0]
    held_probabilities = shipped.pair_probabilities(
        first[held], second[held], [pairs[index].first for index in held], [pairs[index].second for index in held]
    )
    for name, predicted in (
        (f"model at precise {shipped.precise:.4f}", held_probabilities >= shipped.precise),
        (f"model at recall {shipped.recall:.4f}", held_probabilities >= shipped.recall),
        (f"cosine >= {BASELINE_COSINE}", cosine[held] >= BASELINE_COSINE),
    ):
        scores = pair_scores(gold[held], predicted)
        stdout.write(
            f"held out ({len(held)} pairs), {name}: precision {scores.precision:.3f} recall {scores.recall:.3f} "
            f"F1 {scores.f1:.3f}\n"
        )


if __name__ == "__main__":
    main()
