"""What several articles say in common: the story overview and the claims table, over sentence vectors.

Pure numpy, no ORM: a ``SentencePool`` holds the unit vectors of the sentences of a story's
articles with the article and side of each row; the functions return rows of the pool, and the
caller turns them into text and citations. Whether two sentences of different articles state the
same fact is the same-claim model's call (``analysis.nlp.same_claim``): its ``precise`` threshold
for what a sentence cites, its ``recall`` threshold before a fact is called one side's alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.nlp.same_claim import SameClaimModel

Matrix = np.ndarray[Any, np.dtype[np.float32]]
# What each other side that reported a fact adds to its relevance in the overview (cosine units).
OTHER_SIDE_BONUS = 0.1


@dataclass(frozen=True)
class SentencePool:
    """One row per sentence: its vector, its text, the article it is from, that article's side ("" unrated)."""

    matrix: Matrix
    articles: np.ndarray[Any, np.dtype[np.int64]]
    sides: np.ndarray[Any, np.dtype[np.str_]]
    texts: tuple[str, ...] = ()

    @classmethod
    def of(cls, rows: Sequence[tuple[Matrix, int, str, Sequence[str]]]) -> SentencePool:
        """From (sentence matrix, article id, side, sentence texts) per article; skips articles without sentences."""
        kept = [(matrix, article, side, texts) for matrix, article, side, texts in rows if len(matrix)]
        if not kept:
            return cls(np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.str_))
        return cls(
            matrix=np.vstack([matrix for matrix, _, _, _ in kept]).astype(np.float32),
            articles=np.array([article for matrix, article, _, _ in kept for _ in range(len(matrix))], dtype=np.int64),
            sides=np.array([side for matrix, _, side, _ in kept for _ in range(len(matrix))], dtype=np.str_),
            texts=tuple(text for _, _, _, texts in kept for text in texts),
        )

    def __len__(self) -> int:
        return len(self.articles)

    def matches(self, model: SameClaimModel) -> Matrix:
        """P(same fact) of every pair of rows of different articles (0 within an article), by ``model``."""
        one_article = self.articles[None, :] == self.articles[:, None]
        probabilities = model.pool_probabilities(self.matrix, self.texts, considered=~one_article)
        probabilities[one_article] = 0.0
        return probabilities


def best_sentences(pool: SentencePool, matches: Matrix, rows: Sequence[int], threshold: float) -> dict[int, int]:
    """For each article with a sentence matching one of ``rows`` at ``threshold``: its best-matching row.

    The articles of ``rows`` themselves keep their own row.
    """
    found = {int(pool.articles[row]): int(row) for row in rows}
    strength = matches[list(rows)].max(axis=0) if len(rows) else np.zeros(len(pool))
    for row in np.argsort(-strength):
        if strength[row] < threshold:
            break
        found.setdefault(int(pool.articles[row]), int(row))
    return found


def overview_rows(
    pool: SentencePool,
    centroid: Matrix,
    matches: Matrix,
    *,
    count: int,
    threshold: float,
    reported_threshold: float,
    select: Any,
    excluded: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    bonus: Matrix | None = None,
    penalty: Callable[[Sequence[int]], Matrix] | None = None,
    unworded: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
) -> list[tuple[int, dict[int, int]]]:
    """Central, non-redundant rows, preferring facts more than one side reported, each with the articles
    it cites and the row of each that states the fact: its own first, then every other article with a
    sentence ``matches`` puts at or above ``threshold``.

    A fact counts as reported by another side when that side has a sentence at or above
    ``reported_threshold`` (recall-oriented: the preference, not a citation). ``select`` is the
    extractive selector (``analysis.nlp.summarise.sentences_select``); rows in
    ``excluded`` are never chosen (loaded language), unless nothing else is left; rows in ``unworded``
    never are (a question, a piece of a quotation: ``summarise.states_a_fact``), though they may be
    cited; ``bonus`` adds to a row's relevance; ``penalty(rows)`` takes off it, asked only of rows
    that could be chosen (``select``'s).
    """
    if not len(pool):
        return []
    corroborating = matches >= reported_threshold
    other_sides = np.array(
        [
            len({side for side in pool.sides[corroborating[row]] if side and side != pool.sides[row]})
            for row in range(len(pool))
        ]
    )
    relevance_bonus = OTHER_SIDE_BONUS * other_sides + (bonus if bonus is not None else 0.0)
    wordable = np.ones(len(pool), dtype=bool) if unworded is None else ~unworded
    candidates = np.nonzero(wordable)[0]
    if excluded is not None and (wordable & ~excluded).any():
        candidates = np.nonzero(wordable & ~excluded)[0]
    if not len(candidates):
        return []
    rows_penalty = None if penalty is None else (lambda rows: penalty([int(candidates[row]) for row in rows]))
    chosen = select(
        pool.matrix[candidates], centroid, count=count, bonus=relevance_bonus[candidates], penalty=rows_penalty
    )
    return [(int(candidates[row]), best_sentences(pool, matches, [int(candidates[row])], threshold)) for row in chosen]


def claim_groups(
    pool: SentencePool,
    centroid: Matrix,
    matches: Matrix,
    *,
    precise: float,
    recall: float,
    shared: int,
    one_sided_per_side: int,
    sides: Sequence[str],
    excluded: Matrix | None = None,
    bonus: Matrix | None = None,
    penalty: Callable[[Sequence[int]], Matrix] | None = None,
    unworded: Matrix | None = None,
    dependent: Matrix | None = None,
) -> list[tuple[int, list[int]]]:
    """The facts of a story: (the row whose wording stands for it, the rows of every article that stated it).

    The wording of a fact stated by several articles is the sentence closest to the others (its mean
    cosine to the group), plus ``bonus[row]`` (neutral sources' wording), less ``penalty(rows)``
    (a sentence's polarity), among those not ``excluded`` (loaded language) unless all are: the
    same preferences as the overview's, so a fact both sides reported is not shown in one side's words.
    A row in ``unworded`` (a question, a piece of a quotation) never words a fact: a group of nothing
    else is no fact, though such a row counts for its article in a group another row words. A row in
    ``dependent`` cannot be read on its own (``summarise.stands_alone``; the caller also puts it in
    ``excluded``): a side's own fact stated only in such a row comes after the side's other facts.

    A claim is grouped from sentences that ``matches`` puts at or above ``precise``, at most one per
    article. Then, so that no fact is called one side's when another side stated it, every article
    of a side the claim lacks joins it with its best sentence at or above ``recall``. Claims stated by
    more sides come first, then by more articles, then by centrality (at most ``shared``); after
    them, up to ``one_sided_per_side`` central claims that only one side carries, for each side in ``sides``.
    """
    if not len(pool):
        return []
    similarity = pool.matrix @ pool.matrix.T
    same = matches >= precise
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
        for row in np.argsort(-matches[seed]):
            if same[seed, row] and not used[row] and articles[row] not in seen:
                group.append(int(row))
                seen.add(articles[row])
        used[group] = True
        # Sentences that may state a fact already taken (at the recall threshold) are that fact again,
        # not a new one.
        used |= (matches[group] >= recall).any(axis=0)
        groups.append(group)

    def widened(group: list[int]) -> list[int]:
        stated = {str(pool.sides[row]) for row in group}
        found = best_sentences(pool, matches, group, recall)
        extra = [row for article, row in found.items() if str(pool.sides[row]) not in stated and row not in group]
        return group + sorted(extra)

    # Widened, two claims may have come to hold one sentence: the first (the better backed) keeps it.
    taken: set[int] = set()
    kept = []
    for group in (widened(group) for group in groups):
        rows = [row for row in group if row not in taken]
        if rows and rows[0] == group[0]:
            kept.append(rows)
            taken.update(rows)
    groups = kept

    def side_count(group: list[int]) -> int:
        return len({pool.sides[row] for row in group})

    def rank(group: list[int]) -> tuple[int, int, float]:
        return (-side_count(group), -len(group), -float(centrality[group].max()))

    def wordable(group: list[int]) -> list[int]:
        return [row for row in group if unworded is None or not unworded[row]]

    groups = [group for group in groups if wordable(group)]

    def wording(group: list[int]) -> int:
        candidates = wordable(group)
        if len(candidates) == 1:
            return candidates[0]
        allowed = [row for row in candidates if excluded is None or not excluded[row]] or candidates
        score = similarity[np.ix_(allowed, group)].mean(axis=1)
        if bonus is not None:
            score = score + bonus[allowed]
        if penalty is not None:
            score = score - penalty(allowed)
        return allowed[int(np.argmax(score))]

    chosen = sorted((group for group in groups if len(group) > 1), key=rank)[:shared]
    single_by_side: dict[str, list[list[int]]] = defaultdict(list)
    # A side's own facts in a sentence that cannot be read on its own come after its others.
    for group in sorted(
        (group for group in groups if len(group) == 1),
        key=lambda group: (dependent is not None and bool(dependent[group[0]]), rank(group)),
    ):
        side = str(pool.sides[group[0]])
        if len(single_by_side[side]) < one_sided_per_side:
            single_by_side[side].append(group)
    chosen.extend(group for side in sides for group in single_by_side[side])
    return [(wording(group), group) for group in chosen]
