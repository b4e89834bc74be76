"""Scoring a clustering against gold labels: BCubed and pairwise precision, recall and F1.

Pure functions over ``{item: cluster}`` mappings; items missing from the prediction
count as singletons, so an article the pipeline dropped is a split, not a free pass.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from django.db import connection

# The items clustered (article URLs, ids): any hashable type, the same in the prediction and the gold.
Item = TypeVar("Item", bound=Hashable)


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float

    def __str__(self) -> str:
        return f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}"


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _completed(predicted: Mapping[Item, Hashable], gold: Mapping[Item, Hashable]) -> dict[Item, Hashable]:
    """The prediction over every gold item; an unclustered item is a story of its own."""
    return {item: predicted.get(item, ("unclustered", item)) for item in gold}


def bcubed(predicted: Mapping[Item, Hashable], gold: Mapping[Item, Hashable]) -> Scores:
    """BCubed (Bagga and Baldwin 1998; Amigó et al. 2009) over the items of ``gold``."""
    if not gold:
        return Scores(0.0, 0.0, 0.0)
    completed = _completed(predicted, gold)
    both = Counter((completed[item], gold[item]) for item in gold)
    predicted_sizes = Counter(completed.values())
    gold_sizes = Counter(gold.values())
    precision = sum(count * count / predicted_sizes[cluster] for (cluster, _), count in both.items()) / len(gold)
    recall = sum(count * count / gold_sizes[label] for (_, label), count in both.items()) / len(gold)
    return Scores(precision, recall, _f1(precision, recall))


def pairwise(predicted: Mapping[Item, Hashable], gold: Mapping[Item, Hashable]) -> Scores:
    """Precision and recall over the pairs of items put in one cluster."""
    completed = _completed(predicted, gold)

    def pairs(sizes: Counter[Hashable] | Mapping[Hashable, int]) -> int:
        return sum(size * (size - 1) // 2 for size in sizes.values())

    together = pairs(Counter((completed[item], gold[item]) for item in gold))
    predicted_pairs = pairs(Counter(completed.values()))
    gold_pairs = pairs(Counter(gold.values()))
    precision = together / predicted_pairs if predicted_pairs else 1.0
    recall = together / gold_pairs if gold_pairs else 1.0
    return Scores(precision, recall, _f1(precision, recall))


@contextlib.contextmanager
def scratch_database(purpose: str) -> Iterator[None]:
    """Run the block in a throwaway database (like a test database), then drop it.

    An evaluation imports its corpus there, so it never touches the real data. On PostgreSQL the
    database is named after the purpose, so an evaluation beside a test run keeps out of its way.
    """
    settings_dict = connection.settings_dict
    old_name = settings_dict["NAME"]
    if connection.vendor != "sqlite":
        settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_{purpose}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)
