"""What several articles say in common: the story overview and the claims table, over sentence vectors.

Pure numpy, no ORM: a ``SentencePool`` holds the unit vectors of the sentences of a story's
articles with the article and side of each row; the functions return rows of the pool, and the
caller turns them into text and citations. Two sentences of different articles at or above
``same_fact`` cosine state the same fact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Matrix = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True)
class SentencePool:
    """One row per sentence: its vector, the article it is from, that article's side ("" unrated)."""

    matrix: Matrix
    articles: np.ndarray[Any, np.dtype[np.int64]]
    sides: np.ndarray[Any, np.dtype[np.str_]]

    @classmethod
    def of(cls, rows: Sequence[tuple[Matrix, int, str]]) -> SentencePool:
        """From (sentence matrix, article id, side) per article; articles without sentences are skipped."""
        kept = [(matrix, article, side) for matrix, article, side in rows if len(matrix)]
        if not kept:
            return cls(np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.str_))
        return cls(
            matrix=np.vstack([matrix for matrix, _, _ in kept]),
            articles=np.array([article for matrix, article, _ in kept for _ in range(len(matrix))], dtype=np.int64),
            sides=np.array([side for matrix, _, side in kept for _ in range(len(matrix))], dtype=np.str_),
        )

    def __len__(self) -> int:
        return len(self.articles)

    def same_fact(self, threshold: float) -> tuple[Matrix, np.ndarray[Any, np.dtype[np.bool_]]]:
        """The sentence similarities, and which pairs of rows of different articles state one fact."""
        similarity = self.matrix @ self.matrix.T
        return similarity, (similarity >= threshold) & (self.articles[None, :] != self.articles[:, None])


def overview_rows(
    pool: SentencePool, centroid: Matrix, *, count: int, same_fact: float, select: Any
) -> list[tuple[int, list[int]]]:
    """Central, non-redundant rows, preferring facts more than one side reported, each with the
    ids of the articles it cites: its own first, then the other articles that state the same fact.

    ``select`` is the extractive selector (``analysis.nlp.summarise.sentences_select``).
    """
    if not len(pool):
        return []
    _similarity, corroborating = pool.same_fact(same_fact)
    other_sides = np.array(
        [
            len({side for side in pool.sides[corroborating[row]] if side and side != pool.sides[row]})
            for row in range(len(pool))
        ]
    )
    chosen = select(pool.matrix, centroid, count=count, bonus=0.05 * other_sides)
    cited = []
    for row in chosen:
        own = int(pool.articles[row])
        cited.append((row, [own, *sorted({int(pk) for pk in pool.articles[corroborating[row]]} - {own})]))
    return cited


def claim_groups(
    pool: SentencePool,
    centroid: Matrix,
    *,
    same_fact: float,
    shared: int,
    one_sided_per_side: int,
    sides: Sequence[str],
) -> list[tuple[int, list[int]]]:
    """The facts of a story: (the row whose wording stands for it, the rows of every article that stated it).

    A claim takes at most one sentence per article. Claims stated by more sides come first, then
    by more articles, then by centrality (at most ``shared``); after them, up to
    ``one_sided_per_side`` central sentences that only one article carries, for each side in ``sides``.
    """
    if not len(pool):
        return []
    similarity, same = pool.same_fact(same_fact)
    articles = pool.articles
    centrality = pool.matrix @ centroid
    used = np.zeros(len(pool), dtype=bool)
    groups: list[list[int]] = []
    # Seeds in order of how many articles back them up, then how central they are.
    support = np.array([len(set(articles[same[row]])) for row in range(len(pool))])
    for seed in sorted(range(len(pool)), key=lambda row: (-support[row], -centrality[row])):
        if used[seed]:
            continue
        group, seen = [seed], {articles[seed]}
        for row in np.argsort(-similarity[seed]):
            if same[seed, row] and not used[row] and articles[row] not in seen:
                group.append(int(row))
                seen.add(articles[row])
        used[group] = True
        # Sentences close to a claim already taken are the same fact again, not a new one.
        used |= (similarity[group] >= same_fact).any(axis=0)
        groups.append(group)

    def rank(group: list[int]) -> tuple[int, int, float]:
        return (-len({pool.sides[row] for row in group}), -len(group), -float(centrality[group].max()))

    def wording(group: list[int]) -> int:
        # The wording nearest the group's other sentences stands for it.
        return max(group, key=lambda row: float(similarity[row, group].sum()))

    chosen = sorted((group for group in groups if len(group) > 1), key=rank)[:shared]
    single_by_side: dict[str, list[list[int]]] = defaultdict(list)
    for group in sorted((group for group in groups if len(group) == 1), key=rank):
        side = str(pool.sides[group[0]])
        if len(single_by_side[side]) < one_sided_per_side:
            single_by_side[side].append(group)
    chosen.extend(group for side in sides for group in single_by_side[side])
    return [(wording(group), group) for group in chosen]
