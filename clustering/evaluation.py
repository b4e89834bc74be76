"""Scoring a clustering against gold labels: BCubed and pairwise precision, recall and F1, and
what a reader sees of the sides: false missing and false extra sides.

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


@dataclass(frozen=True)
class SideErrors:
    """What readers are told about the sides, counted over (article, side) pairs.

    For each article: a *false missing side* covered its gold story but has no article in the
    story the article was placed in (the page claims that side was silent); a *false extra side*
    is shown by its story but did not cover the gold story. Both rates are over every (article,
    side) pair, the three sides of each scored article (the definitions of ``shared/data/README``).
    """

    missing: int
    extra: int
    pairs: int
    # Gold stories where some article's page hides a side that covered it, of the gold stories scored.
    stories_missing: int
    stories: int

    @property
    def missing_rate(self) -> float:
        return self.missing / self.pairs if self.pairs else 0.0

    @property
    def extra_rate(self) -> float:
        return self.extra / self.pairs if self.pairs else 0.0

    def __str__(self) -> str:
        return (
            f"false missing side {self.missing_rate:.4f} ({self.missing} of {self.pairs} article-side pairs; "
            f"{self.stories_missing} of {self.stories} stories)  "
            f"false extra side {self.extra_rate:.4f} ({self.extra})"
        )


def side_errors(
    predicted: Mapping[Item, Hashable], gold: Mapping[Item, Hashable], sides: Mapping[Item, str | None]
) -> SideErrors:
    """False missing and false extra sides of ``predicted`` (see ``SideErrors``).

    ``sides`` gives each item's side (left, center or right; None or absent: an unrated outlet,
    which counts for no side). Items missing from the prediction are stories of their own.
    """
    completed = _completed(predicted, gold)
    gold_sides: dict[Hashable, set[str]] = {}
    predicted_sides: dict[Hashable, set[str]] = {}
    for item in gold:
        side = sides.get(item)
        if side:
            gold_sides.setdefault(gold[item], set()).add(side)
            predicted_sides.setdefault(completed[item], set()).add(side)
    missing = extra = 0
    stories_missing: set[Hashable] = set()
    for item in gold:
        covered = gold_sides.get(gold[item], set())
        shown = predicted_sides.get(completed[item], set())
        missing += len(covered - shown)
        extra += len(shown - covered)
        if covered - shown:
            stories_missing.add(gold[item])
    return SideErrors(
        missing=missing,
        extra=extra,
        pairs=SIDE_COUNT * len(gold),
        stories_missing=len(stories_missing),
        stories=len(set(gold.values())),
    )


# Left, center and right: the columns of a story page.
SIDE_COUNT = 3


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
