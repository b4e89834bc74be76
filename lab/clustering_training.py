"""Fitting the clustering pair model on labelled corpora, and replaying the online clusterer offline.

The articles are analysed by the real analyser once and cached (``features_load``), so the
fit and the threshold search replay the clusterer of ``scoring.scoring`` over the same
signals the pipeline computes, in seconds instead of minutes. ``gold_*`` keys are read
only as labels: never as a feature.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ANALYSE_BATCH = 64


@dataclass(frozen=True)
class LabelledArticle:
    """An analysed article of a labelled corpus, as the clusterer sees it, with its gold story."""

    url: str
    outlet: str
    title: str
    lead_text: str
    published_at: datetime | None
    lead: np.ndarray[Any, Any]
    body: np.ndarray[Any, Any]
    entities: tuple[str, ...]
    gold: str


def corpus_read(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not JSON ({error})") from error
        if "gold_story" not in record:
            raise ValueError(f"{path}:{number}: no gold_story")
        rows.append(record)
    return rows


def json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def outlet_sides(path: Path) -> dict[str, str | None]:
    """{outlet name: side} from an outlets JSONL file (``name``, ``lean``), leans folded to three sides."""
    from sources.models import side_of_lean

    sides: dict[str, str | None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            sides[str(record["name"])] = side_of_lean(str(record.get("lean", "")))
    return sides


def moment_of(value: Any) -> datetime | None:
    """A row's ``published_at`` as an aware datetime (UTC when the text names no zone), or None."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def features_load(path: Path, *, cache_dir: Path | None = None, limit: int = 0) -> list[LabelledArticle]:
    """The corpus's articles analysed by the pipeline's analyser; cached by file content and model versions."""
    from analysis.nlp.article import ArticleText
    from analysis.services import analyser
    from clustering import scoring

    rows = corpus_read(path)[: limit or None]
    engine = analyser()
    digest = hashlib.sha1(path.read_bytes()).hexdigest()[:12]
    versions = hashlib.sha1(json.dumps(engine.versions(), sort_keys=True).encode()).hexdigest()[:8]
    cache = (cache_dir / f"{path.stem}-{digest}-{versions}-{limit}.npz") if cache_dir else None
    if cache is not None and cache.exists():
        stored = np.load(cache, allow_pickle=False)
        leads, bodies = stored["leads"], stored["bodies"]
        extra = json.loads(str(stored["extra"]))
    else:
        leads_list, bodies_list, extra = [], [], []
        for start in range(0, len(rows), ANALYSE_BATCH):
            batch = rows[start : start + ANALYSE_BATCH]
            analysed = engine.analyse(
                [ArticleText(title=row.get("title", ""), text=row.get("text", "")) for row in batch]
            )
            for _row, feature in zip(batch, analysed, strict=True):
                leads_list.append(feature.embedding.astype(np.float32))
                bodies_list.append(scoring.body_vector(feature.sentence_matrix, feature.embedding))
                extra.append(
                    {
                        "lead_text": " ".join(feature.sentences[:3]),
                        "entities": [entity["text"] for entity in feature.entities],
                    }
                )
        leads, bodies = np.vstack(leads_list), np.vstack(bodies_list)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, leads=leads, bodies=bodies, extra=np.array(json.dumps(extra)))
    return [
        LabelledArticle(
            url=row["url"],
            outlet=row.get("outlet", ""),
            title=row.get("title", ""),
            lead_text=str(row.get("text", ""))[: scoring.LEAD_CHARS],
            published_at=moment_of(row.get("published_at")),
            lead=leads[index],
            body=bodies[index],
            entities=tuple(info["entities"]),
            gold=str(row["gold_story"]),
        )
        for index, (row, info) in enumerate(zip(rows, extra, strict=True))
    ]


# --- Replaying the online clusterer ------------------------------------------------------

REPLAY_BATCH = 32
UNDATED_START = datetime(2000, 1, 1, tzinfo=UTC)


def signals_of(
    articles: Sequence[LabelledArticle], terms: Any = None, sides: dict[str, str | None] | None = None
) -> list[Any]:
    """The clusterer's signal of each article; undated ones a second apart, as an import makes them.

    ``sides`` maps an outlet name to its side (the leans of an outlets file): none known without it."""
    from datetime import timedelta

    from clustering import scoring

    outlets: dict[str, int] = {}
    signals = []
    for index, article in enumerate(articles):
        outlet_id = outlets.setdefault(article.outlet or f"unnamed {index}", len(outlets) + 1)
        signals.append(
            scoring.ArticleSignal(
                lead=article.lead,
                body=article.body,
                entities=scoring.entities_of({"text": text} for text in article.entities),
                outlet_id=outlet_id,
                moment=article.published_at or UNDATED_START + timedelta(seconds=index),
                terms=scoring.terms_of(scoring.terms_text(article.title, article.lead_text), terms),
                dated=article.published_at is not None,
                side=(sides or {}).get(article.outlet),
            )
        )
    return signals


def jittered(signals: Sequence[Any], days: float, *, seed: int = 0) -> list[Any]:
    """The signals with each time moved by up to ``days`` either way (uniform, seeded)."""
    from dataclasses import replace
    from datetime import timedelta

    generator = np.random.default_rng(seed)
    return [
        replace(signal, moment=signal.moment + timedelta(days=float(generator.uniform(-days, days))))
        for signal in signals
    ]


def replay(
    signals: Sequence[Any],
    model: Any,
    *,
    window_days: float | None = None,
    second_pass: bool = True,
) -> list[int]:
    """The story index of each article after the online clusterer and its second pass, as the pipeline runs them.

    Mirrors ``scoring.services``: batches of ``REPLAY_BATCH`` in publication order, the candidates
    the stories active within the window, shortlisted on lead similarity; then the split and merge
    pass over the stories the batch touched.
    """
    from django.conf import settings

    from clustering import scoring

    stories: dict[int, Any] = {}
    members: dict[int, list[int]] = {}
    where: list[int] = [-1] * len(signals)
    # The pipeline's window (NEWSROOM_CLUSTER_WINDOW_DAYS) unless told otherwise.
    window = (window_days or settings.NEWSROOM_CLUSTER_WINDOW_DAYS) * scoring.SECONDS_PER_DAY
    next_key = 0

    def place(position: int, exclude: int | None = None) -> int:
        nonlocal next_key
        signal = signals[position]
        keys = [
            key
            for key, story in stories.items()
            if key != exclude
            and (story.last - signal.moment).total_seconds() >= -window
            and (story.first - signal.moment).total_seconds() <= window
        ]
        if keys:
            leads = np.vstack([stories[key].lead for key in keys])
            keys = [keys[index] for index in scoring.shortlist(signal, leads)]
        candidates = [stories[key] for key in keys]
        decision = scoring.decide(signal, candidates, model)
        if decision.index is None:
            key = next_key
            next_key += 1
            stories[key] = scoring.StorySignal.of_article(signal, key=key)
            members[key] = [position]
        else:
            key = keys[decision.index]
            stories[key].add(signal)
            members[key].append(position)
        where[position] = key
        return key

    def rebuild(key: int) -> None:
        built = scoring.StorySignal.of_article(signals[members[key][0]], key=key)
        for position in members[key][1:]:
            built.add(signals[position])
        stories[key] = built

    order = sorted(range(len(signals)), key=lambda position: (signals[position].moment, position))
    for start in range(0, len(order), REPLAY_BATCH):
        touched = {place(position) for position in order[start : start + REPLAY_BATCH]}
        if not second_pass:
            continue
        for key in sorted(touched):
            if key not in stories:
                continue
            rebuild(key)
            # Split the first drifted member (one per pass), as ``_split_drifted`` does.
            if len(members[key]) >= 3:
                for position in list(members[key]):
                    rest_positions = [other for other in members[key] if other != position]
                    rest = scoring.StorySignal.of_article(signals[rest_positions[0]])
                    for other in rest_positions[1:]:
                        rest.add(signals[other])
                    signal = signals[position]
                    probability = model.probability(
                        scoring.pair_features(signal, rest, model.features),
                        scoring.gap_days(signal.moment, rest.first, rest.last),
                    )
                    if probability < model.split_probability:
                        members[key] = rest_positions
                        rebuild(key)
                        place(position, exclude=key)
                        break
            # Merge with the most probable of the nearest stories, as ``_merge_converged`` does.
            story = stories[key]
            others = [
                other
                for other, candidate in stories.items()
                if other != key
                and (candidate.last - story.last).total_seconds() >= -window
                and (candidate.first - story.last).total_seconds() <= window
            ]
            if not others:
                continue
            probe = scoring.ArticleSignal(
                lead=story.lead, body=story.body, entities=frozenset(), outlet_id=-1, moment=story.last
            )
            leads = np.vstack([stories[other].lead for other in others])
            best: tuple[float, int] | None = None
            for index in scoring.shortlist(probe, leads, size=scoring.MERGE_SHORTLIST):
                other = others[index]
                candidate = stories[other]
                if not scoring.can_merge(story, candidate):
                    continue
                probability = scoring.linkage_probability(
                    [signals[position] for position in members[key]],
                    [signals[position] for position in members[other]],
                    model,
                )
                # The most probable one that clears its threshold, as ``_merge_converged`` takes.
                threshold = model.merge_threshold(
                    [signals[position] for position in members[key]][: scoring.LINKAGE_MEMBERS],
                    [signals[position] for position in members[other]][: scoring.LINKAGE_MEMBERS],
                )
                if probability >= threshold and (best is None or (probability, -other) > (best[0], -best[1])):
                    best = (probability, other)
            if best is None:
                continue
            other = best[1]
            into, away = (key, other) if len(members[key]) >= len(members[other]) else (other, key)
            members[into].extend(members.pop(away))
            for position in members[into]:
                where[position] = into
            del stories[away]
            rebuild(into)
    return where


def scores_of(articles: Sequence[LabelledArticle], where: Sequence[int]) -> tuple[Any, Any]:
    from clustering import evaluation

    predicted = {article.url: key for article, key in zip(articles, where, strict=True)}
    gold = {article.url: article.gold for article in articles}
    return evaluation.bcubed(predicted, gold), evaluation.pairwise(predicted, gold)


def side_errors_of(articles: Sequence[LabelledArticle], where: Sequence[int], sides: dict[str, str | None]) -> Any:
    """False missing and false extra sides of a replay (``clustering.evaluation.side_errors``), by outlet name."""
    from clustering import evaluation

    predicted = {article.url: key for article, key in zip(articles, where, strict=True)}
    gold = {article.url: article.gold for article in articles}
    return evaluation.side_errors(predicted, gold, {article.url: sides.get(article.outlet) for article in articles})


# --- Fitting -------------------------------------------------------------------------------

DF_MIN_COUNT = 2
DF_MAX_TERMS = 30_000


def df_table(texts: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Document counts of the terms of (title, text) pairs, over the title and lead of each.

    Terms in at least ``DF_MIN_COUNT`` documents, the ``DF_MAX_TERMS`` most common: counts of
    common words only, no text of any article.
    """
    from clustering import scoring

    counts: Counter[str] = Counter()
    for title, text in texts:
        counts.update({token for token in scoring.tokens(scoring.terms_text(title, text)) if len(token) > 1})
    kept = [(term, count) for term, count in counts.most_common(DF_MAX_TERMS) if count >= DF_MIN_COUNT]
    return {"documents": len(texts), "counts": dict(sorted(kept))}


def training_pairs(signals: Sequence[Any], gold: Sequence[str], names: Sequence[str], *, window_days: float = 3.0):
    """Feature rows of article-to-story pairs under the gold clustering, built online.

    Each article meets its gold story so far (a positive) and the other stories among its
    ``SHORTLIST`` nearest lead centroids in the window (negatives), as the clusterer would.
    Returns the features, the gaps in days, and the labels.
    """
    from clustering import scoring

    stories: dict[str, Any] = {}
    rows, gaps, labels = [], [], []
    window = window_days * scoring.SECONDS_PER_DAY
    order = sorted(range(len(signals)), key=lambda position: (signals[position].moment, position))
    for position in order:
        signal, label = signals[position], gold[position]
        keys = [
            key
            for key, story in stories.items()
            if (story.last - signal.moment).total_seconds() >= -window
            and (story.first - signal.moment).total_seconds() <= window
        ]
        if keys:
            leads = np.vstack([stories[key].lead for key in keys])
            keys = [keys[index] for index in scoring.shortlist(signal, leads)]
        if label in stories and label not in keys:
            keys.append(label)
        for key in keys:
            story = stories[key]
            rows.append(scoring.pair_features(signal, story, names))
            gaps.append(scoring.gap_days(signal.moment, story.first, story.last))
            labels.append(key == label)
        if label in stories:
            stories[label].add(signal)
        else:
            stories[label] = scoring.StorySignal.of_article(signal, key=label)
    return np.array(rows), np.array(gaps), np.array(labels, dtype=bool)


def logistic_fit(
    rows: np.ndarray, labels: np.ndarray, *, regularisation: float = 10.0, offset: np.ndarray | None = None
) -> tuple[list[float], float]:
    """Weights and intercept of a logistic regression; ``offset`` is a fixed term of each row's logit."""
    from scipy.optimize import minimize

    offset = np.zeros(len(labels)) if offset is None else offset
    design = np.hstack([rows, np.ones((len(rows), 1))])
    target = labels.astype(float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logit = design @ theta + offset
        # log(1 + e^z) - y z, summed; an L2 penalty on the weights (not the intercept), as scikit-learn's C.
        value = float(np.sum(np.logaddexp(0.0, logit) - target * logit)) + float(theta[:-1] @ theta[:-1]) / (
            2 * regularisation
        )
        gradient = design.T @ (1 / (1 + np.exp(-logit)) - target)
        gradient[:-1] += theta[:-1] / regularisation
        return value, gradient

    result = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B")
    return [round(float(weight), 4) for weight in result.x[:-1]], round(float(result.x[-1]), 4)


def streams_of(articles: Sequence[LabelledArticle], *, stories_per_stream: int) -> list[list[LabelledArticle]]:
    """Dated corpora whole; undated ones cut into streams of ``stories_per_stream`` gold stories."""
    if all(article.published_at is not None for article in articles):
        return [list(articles)]
    streams: list[list[LabelledArticle]] = []
    seen: set[str] = set()
    for article in articles:
        if article.gold not in seen:
            if not streams or len(seen) == stories_per_stream:
                streams.append([])
                seen = set()
            seen.add(article.gold)
        streams[-1].append(article)
    return streams


def model_with(model: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(model, **changes)


def model_dict(model: Any, *, provenance: str) -> dict[str, Any]:
    return {
        "features": list(model.features),
        "weights": list(model.weights),
        "intercept": model.intercept,
        "join_probability": model.join_probability,
        "join_probability_undated": model.join_probability_undated,
        "merge_probability": model.merge_probability,
        "split_probability": model.split_probability,
        "decay_days": model.decay_days,
        "merge_linkage": model.merge_linkage,
        "near_miss_probability": model.near_miss_probability,
        "merge_probability_dated": model.merge_probability_dated,
        "merge_probability_complementary": model.merge_probability_complementary,
        "provenance": provenance,
    }
