"""Online clustering of articles into stories: pure functions, no ORM.

An article joins the story its pair model scores highest, if that probability clears
the join threshold; otherwise it starts a story. The pair model is a logistic
regression over a few similarities between the article and the story (lead, body,
shared named entities, a TF-IDF cosine of titles and leads), with a time decay on top, as
in Miranda et al. (2018), "Multilingual clustering of streaming news". The weights ship in
``clustering/clustering_model.json`` and the term document counts in ``clustering_df.json``;
``clustering/MODEL_CARD.md`` says what they were fitted on and what each feature gained.

Two rules the scores cannot overrule:
- an outlet covers a story once: a second article of an outlet already in the story
  joins only as an update of that outlet's article (its lead almost the same);
- a curator's decisions stand (the services keep pinned articles and curated stories
  out of the automatic merges and splits).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

Vector = np.ndarray[Any, np.dtype[np.float32]]

# Every feature a pair model may use; a model names the ones it was fitted on, in its order.
FEATURE_NAMES = ("lead", "body", "entities", "terms")
# Two articles of one outlet this alike are one report and its update, not two reports.
UPDATE_SIMILARITY = 0.85
# The entities an article is summarised by: its most salient ones.
ARTICLE_ENTITIES = 8
# Candidates scored in full, out of those in the window, ranked by lead similarity first.
SHORTLIST = 10
# Stories the merge pass weighs for a story that changed: the nearest by lead centroid.
MERGE_SHORTLIST = 3
SECONDS_PER_DAY = 86_400.0


def unit(vector: np.ndarray[Any, Any]) -> Vector:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm else np.asarray(vector, dtype=np.float32)


def entity_key(text: str) -> str:
    return " ".join(text.lower().split())


def entities_of(entities: Iterable[dict[str, Any]]) -> frozenset[str]:
    """The keys of an analysis's most salient entities."""
    return frozenset(entity_key(entity["text"]) for entity in list(entities)[:ARTICLE_ENTITIES])


@dataclass(frozen=True)
class ArticleSignal:
    """What the clusterer knows of an article."""

    lead: Vector
    body: Vector
    entities: frozenset[str]
    outlet_id: int
    moment: datetime
    # The TF-IDF unit vector of its title and lead, {term: weight} (see ``terms_of``).
    terms: dict[str, float] = field(default_factory=dict)
    # Whether its time is a publication date (or only when it was found): see ``PairModel.threshold``.
    dated: bool = True
    # Its outlet's side (left, center or right), or None when unrated or not read: see ``complementary``.
    side: str | None = None


@dataclass
class StorySignal:
    """What the clusterer knows of a story: centroids, entity counts, outlets, span.

    The centroids are the unit vectors of the sums of the members' vectors, the one formula
    for a story's centroid: exact whatever order the members came in or left.
    """

    lead_sum: Vector
    body_sum: Vector
    entity_counts: Counter[str]
    outlet_ids: set[int]
    first: datetime
    last: datetime
    size: int
    key: Any = None
    # The sum of the members' TF-IDF unit vectors, {term: weight}.
    term_sums: Counter[str] = field(default_factory=Counter)
    # Lead vectors of members by outlet, filled only where an update check needs them.
    outlet_leads: dict[int, list[Vector]] = field(default_factory=dict)

    @classmethod
    def of_article(cls, article: ArticleSignal, *, key: Any = None) -> StorySignal:
        return cls(
            lead_sum=np.array(article.lead, dtype=np.float32),
            body_sum=np.array(article.body, dtype=np.float32),
            entity_counts=Counter(article.entities),
            outlet_ids={article.outlet_id},
            first=article.moment,
            last=article.moment,
            size=1,
            key=key,
            term_sums=Counter(article.terms),
            outlet_leads={article.outlet_id: [article.lead]},
        )

    @property
    def lead(self) -> Vector:
        return unit(self.lead_sum)

    @property
    def body(self) -> Vector:
        return unit(self.body_sum)

    def add(self, article: ArticleSignal) -> None:
        self.lead_sum = self.lead_sum + article.lead
        self.body_sum = self.body_sum + article.body
        self.entity_counts.update(article.entities)
        self.term_sums.update(article.terms)
        self.outlet_ids.add(article.outlet_id)
        self.outlet_leads.setdefault(article.outlet_id, []).append(article.lead)
        self.first = min(self.first, article.moment)
        self.last = max(self.last, article.moment)
        self.size += 1


def body_vector(sentence_matrix: np.ndarray[Any, Any], lead: Vector) -> Vector:
    """The unit mean of an article's sentence vectors; its lead when it has none."""
    return unit(sentence_matrix.astype(np.float32).mean(axis=0)) if len(sentence_matrix) else lead


def entity_overlap(entities: frozenset[str], counts: Counter[str], size: int) -> float:
    """How much of the article's cast the story's articles name: 0 (none) to 1 (all, in every article)."""
    if not entities or not counts:
        return 0.0
    return sum(min(counts.get(entity, 0), size) / size for entity in entities) / len(entities)


def gap_days(moment: datetime, first: datetime, last: datetime) -> float:
    """Days between a moment and a time span (0 inside it)."""
    if moment < first:
        return (first - moment).total_seconds() / SECONDS_PER_DAY
    if moment > last:
        return (moment - last).total_seconds() / SECONDS_PER_DAY
    return 0.0


# --- Terms: TF-IDF over title and lead ----------------------------------------------------

# A word, with its possessive or contraction (straight or typographic apostrophe) cut off.
TOKEN = re.compile(r"([a-z0-9]+)(?:['\u2019][a-z]+)?")
# Terms kept per article: its heaviest, so a story's sums stay small.
ARTICLE_TERMS = 40
DF_PATH = Path(__file__).with_name("clustering_df.json")


@dataclass(frozen=True)
class TermWeights:
    """Inverse document frequencies from a table of document counts; unseen terms weigh the most."""

    documents: int
    counts: dict[str, int]

    def idf(self, term: str) -> float:
        return math.log((self.documents + 1) / (self.counts.get(term, 0) + 1))


@cache
def term_weights(path: str = "") -> TermWeights:
    data = json.loads(Path(path or DF_PATH).read_text(encoding="utf-8"))
    return TermWeights(documents=int(data["documents"]), counts={str(k): int(v) for k, v in data["counts"].items()})


# The words of an article its terms come from: the title and the start of the text (the lead).
LEAD_CHARS = 500


def terms_text(title: str, text: str) -> str:
    return f"{title}\n{text[:LEAD_CHARS]}"


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def terms_of(text: str, weights: TermWeights | None = None) -> dict[str, float]:
    """The TF-IDF unit vector of a text, its ``ARTICLE_TERMS`` heaviest terms: {term: weight}."""
    weights = weights or term_weights()
    counts = Counter(token for token in tokens(text) if len(token) > 1)
    scored = {term: (1 + math.log(count)) * weights.idf(term) for term, count in counts.items()}
    top = sorted(scored.items(), key=lambda item: (-item[1], item[0]))[:ARTICLE_TERMS]
    norm = math.sqrt(sum(weight * weight for _, weight in top))
    return {term: round(weight / norm, 4) for term, weight in top} if norm else {}


def term_cosine(terms: dict[str, float], sums: Counter[str] | dict[str, float]) -> float:
    """The cosine between a unit term vector and a story's sum of them."""
    if not terms or not sums:
        return 0.0
    norm = math.sqrt(sum(weight * weight for weight in sums.values()))
    return sum(weight * sums.get(term, 0.0) for term, weight in terms.items()) / norm if norm else 0.0


def pair_features(
    article: ArticleSignal, story: StorySignal, names: Sequence[str] = FEATURE_NAMES[:3]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    values = {
        "lead": lambda: float(article.lead @ story.lead),
        "body": lambda: float(article.body @ story.body),
        "entities": lambda: entity_overlap(article.entities, story.entity_counts, story.size),
        "terms": lambda: term_cosine(article.terms, story.term_sums),
    }
    return np.array([values[name]() for name in names])


@dataclass(frozen=True)
class PairModel:
    """Logistic regression over ``FEATURE_NAMES``, a time decay, and the decision thresholds."""

    weights: tuple[float, ...]
    intercept: float
    join_probability: float
    merge_probability: float
    split_probability: float
    decay_days: float
    provenance: str = ""
    features: tuple[str, ...] = FEATURE_NAMES[:3]
    # The join threshold for an article without a publication date, where time cannot tell two
    # events on one subject apart: set higher, for precision. None: ``join_probability``.
    join_probability_undated: float | None = None
    # How the merge pass weighs two stories: "average" (the mean pair probability of their members,
    # average linkage: ``linkage_probability``), the one linkage there is; the model file names it.
    merge_linkage: str = "average"
    # Stories the merge pass scores at least this probable, but below ``merge_probability``, are kept as
    # near misses (``StoryPairCandidate``) for the pages' safety net and the curators. None: none kept.
    near_miss_probability: float | None = None
    # The merge threshold for two stories whose sides complement each other (``complementary``): a story
    # that lacks the sides the other has is the split a reader notices most (a side shown as silent).
    # None: ``merge_probability`` for every pair.
    merge_probability_complementary: float | None = None
    # The merge threshold for two stories of dated articles only, where time already keeps most events
    # apart (as ``join_probability`` is for dated articles). None: ``merge_probability``.
    merge_probability_dated: float | None = None

    def merge_threshold(self, first: Sequence[ArticleSignal], second: Sequence[ArticleSignal]) -> float:
        """The merge pass's threshold for two stories, given (some of) their members."""
        if self.merge_probability_complementary is not None and complementary(first, second):
            return self.merge_probability_complementary
        if self.merge_probability_dated is not None and all(article.dated for article in (*first, *second)):
            return self.merge_probability_dated
        return self.merge_probability

    def threshold(self, article: ArticleSignal) -> float:
        if article.dated or self.join_probability_undated is None:
            return self.join_probability
        return self.join_probability_undated

    def probability(self, features: np.ndarray[Any, Any], gap: float = 0.0) -> float:
        logit = float(np.dot(self.weights, features)) + self.intercept - gap / self.decay_days
        return float(1.0 / (1.0 + np.exp(-logit)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairModel:
        features = tuple(data["features"])
        unknown = [name for name in features if name not in FEATURE_NAMES]
        if unknown or len(features) != len(data["weights"]):
            raise ValueError(f"Model features {list(features)} must be among {FEATURE_NAMES}, one weight each")
        if data.get("merge_linkage", "average") not in MERGE_LINKAGES:
            raise ValueError(f"Merge linkage {data['merge_linkage']!r} must be one of {MERGE_LINKAGES}")
        # Options of earlier models that only measured what a rule gained, or that no shipped model
        # used: a file may still name them at the value that is now the only behaviour.
        if data.get("one_report_per_outlet", True) is not True:
            raise ValueError("one_report_per_outlet must be true: an outlet reports a story once")
        if data.get("merge_features") or data.get("merge_weights"):
            raise ValueError("Merge features and weights are no longer supported: the merge pass uses the pair weights")
        return cls(
            features=features,
            weights=tuple(float(weight) for weight in data["weights"]),
            intercept=float(data["intercept"]),
            join_probability=float(data["join_probability"]),
            join_probability_undated=(
                float(data["join_probability_undated"]) if data.get("join_probability_undated") is not None else None
            ),
            merge_probability=float(data["merge_probability"]),
            split_probability=float(data["split_probability"]),
            decay_days=float(data["decay_days"]),
            provenance=str(data.get("provenance", "")),
            merge_linkage=str(data.get("merge_linkage", "average")),
            near_miss_probability=(
                float(data["near_miss_probability"]) if data.get("near_miss_probability") is not None else None
            ),
            merge_probability_dated=(
                float(data["merge_probability_dated"]) if data.get("merge_probability_dated") is not None else None
            ),
            merge_probability_complementary=(
                float(data["merge_probability_complementary"])
                if data.get("merge_probability_complementary") is not None
                else None
            ),
        )


MERGE_LINKAGES = ("average",)
MODEL_PATH = Path(__file__).with_name("clustering_model.json")


@cache
def model_load(path: str = "") -> PairModel:
    return PairModel.from_dict(json.loads(Path(path or MODEL_PATH).read_text(encoding="utf-8")))


class Reason:
    """Why an article is in its story, as recorded on its membership."""

    STARTED = "started"
    JOINED = "joined"
    UPDATE = "update"
    MERGED = "merged"
    SPLIT = "split"
    CURATOR = "curator"


@dataclass(frozen=True)
class Decision:
    """Where an article goes: ``index`` into the candidates, or None for a new story."""

    index: int | None
    similarity: float
    probability: float
    reason: str

    def describe(self) -> str:
        if self.index is None:
            return "started the story" + (
                f" (best candidate {self.probability:.2f} < threshold)" if self.probability else ""
            )
        if self.reason == Reason.UPDATE:
            return f"update of its outlet's article (lead similarity {self.similarity:.2f})"
        return f"pair model {self.probability:.2f} (lead similarity {self.similarity:.2f})"


def shortlist(article: ArticleSignal, leads: np.ndarray[Any, Any], *, size: int = SHORTLIST) -> list[int]:
    """Indices of the ``size`` candidates whose lead centroid is nearest the article's, best first."""
    if not len(leads):
        return []
    similarities = leads @ article.lead
    if len(similarities) > size:
        top = np.argpartition(-similarities, size)[:size]
        return [int(index) for index in top[np.argsort(-similarities[top])]]
    return [int(index) for index in np.argsort(-similarities)]


def is_update(article: ArticleSignal, story: StorySignal) -> bool:
    leads = story.outlet_leads.get(article.outlet_id, [])
    return any(float(article.lead @ lead) >= UPDATE_SIMILARITY for lead in leads)


def decide(article: ArticleSignal, candidates: Sequence[StorySignal], model: PairModel) -> Decision:
    """The story the article joins among ``candidates`` (already shortlisted), or a new one."""
    best: Decision | None = None
    best_probability = 0.0
    for index, story in enumerate(candidates):
        features = pair_features(article, story, model.features)
        probability = model.probability(features, gap_days(article.moment, story.first, story.last))
        reason = Reason.JOINED
        if article.outlet_id in story.outlet_ids:
            if not is_update(article, story):
                continue
            reason = Reason.UPDATE
        best_probability = max(best_probability, probability)
        if probability >= model.threshold(article) and (best is None or probability > best.probability):
            best = Decision(
                index=index, similarity=float(article.lead @ story.lead), probability=probability, reason=reason
            )
    return best or Decision(index=None, similarity=1.0, probability=best_probability, reason=Reason.STARTED)


def can_merge(first: StorySignal, second: StorySignal) -> bool:
    """Two stories can merge only if no outlet covers both (one report per outlet per story)."""
    return not (first.outlet_ids & second.outlet_ids)


def complementary(first: Sequence[ArticleSignal], second: Sequence[ArticleSignal]) -> bool:
    """Whether two stories cover sides that complement each other: each has a rated side, and no side
    is in both (a left and center story and a right one, say)."""
    first_sides = {article.side for article in first if article.side}
    second_sides = {article.side for article in second if article.side}
    return bool(first_sides) and bool(second_sides) and not first_sides & second_sides


# Members of each story that average linkage reads: the first ones, so a large story costs no more.
LINKAGE_MEMBERS = 12


def linkage_probability(first: Sequence[ArticleSignal], second: Sequence[ArticleSignal], model: PairModel) -> float:
    """The mean probability, by the pair weights, that a member of one story and one of the other are one story.

    Each article pair is scored both ways (the entity share is not symmetrical), with the time decay.
    """
    first, second = list(first)[:LINKAGE_MEMBERS], list(second)[:LINKAGE_MEMBERS]
    if not first or not second:
        return 0.0
    total = 0.0
    for one in first:
        one_story = StorySignal.of_article(one)
        for other in second:
            gap = gap_days(one.moment, other.moment, other.moment)
            total += model.probability(pair_features(one, StorySignal.of_article(other), model.features), gap)
            total += model.probability(pair_features(other, one_story, model.features), gap)
    return total / (2 * len(first) * len(second))


def story_confidence(members: Sequence[ArticleSignal], model: PairModel) -> float:
    """The weakest member's probability of belonging to the rest of the story (1 for one article).

    Leave-one-out through running sums, so a story of n articles costs O(n), not O(n squared).
    """
    if len(members) < 2:
        return 1.0
    lead_sum = np.sum([member.lead for member in members], axis=0)
    body_sum = np.sum([member.body for member in members], axis=0)
    counts: Counter[str] = Counter()
    term_sums: Counter[str] = Counter()
    for member in members:
        counts.update(member.entities)
        term_sums.update(member.terms)
    moments = sorted(member.moment for member in members)
    weakest = 1.0
    for member in members:
        rest = StorySignal(
            lead_sum=lead_sum - member.lead,
            body_sum=body_sum - member.body,
            entity_counts=counts - Counter(member.entities),
            term_sums=_minus(term_sums, member.terms),
            outlet_ids=set(),
            first=moments[1] if member.moment == moments[0] else moments[0],
            last=moments[-2] if member.moment == moments[-1] else moments[-1],
            size=len(members) - 1,
        )
        gap = gap_days(member.moment, rest.first, rest.last)
        weakest = min(weakest, model.probability(pair_features(member, rest, model.features), gap))
    return weakest


def _minus(sums: Counter[str], terms: dict[str, float]) -> Counter[str]:
    rest = Counter(sums)
    rest.subtract(terms)
    return rest
