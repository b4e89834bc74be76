"""Scores of the tone and loaded-language models, in numpy: what their ``evaluate_*`` commands and the lab print."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ClassScores:
    macro_f1: float
    accuracy: float
    per_class: tuple[float, ...]


@dataclass(frozen=True)
class FlagScores:
    precision: float
    recall: float
    f1: float


def _f1(true_positive: int, false_positive: int, false_negative: int) -> float:
    denominator = 2 * true_positive + false_positive + false_negative
    return 2 * true_positive / denominator if denominator else 0.0


def classification_scores(gold: Sequence[int], predicted: Sequence[int], *, classes: int) -> ClassScores:
    """Macro-F1 over the classes (a class neither gold nor predicted scores 0), and accuracy."""
    pairs = list(zip(gold, predicted, strict=True))
    per_class = tuple(
        _f1(
            sum(1 for truth, guess in pairs if truth == label and guess == label),
            sum(1 for truth, guess in pairs if truth != label and guess == label),
            sum(1 for truth, guess in pairs if truth == label and guess != label),
        )
        for label in range(classes)
    )
    accuracy = sum(1 for truth, guess in pairs if truth == guess) / len(pairs) if pairs else 0.0
    return ClassScores(macro_f1=sum(per_class) / classes, accuracy=accuracy, per_class=per_class)


def flag_scores(gold: Sequence[bool], flagged: Sequence[bool]) -> FlagScores:
    pairs = list(zip(gold, flagged, strict=True))
    true_positive = sum(1 for truth, flag in pairs if truth and flag)
    false_positive = sum(1 for truth, flag in pairs if flag and not truth)
    false_negative = sum(1 for truth, flag in pairs if truth and not flag)
    precision = true_positive / (true_positive + false_positive) if true_positive + false_positive else 0.0
    recall = true_positive / (true_positive + false_negative) if true_positive + false_negative else 0.0
    return FlagScores(precision=precision, recall=recall, f1=_f1(true_positive, false_positive, false_negative))


def labelled_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-empty line of a JSONL file as (line number, object). Raises OSError or ValueError
    (a line that is not JSON), which the evaluation commands report with the file's name."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                yield number, json.loads(line)
