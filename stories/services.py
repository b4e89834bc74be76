"""Writes of the stories stage: assigning articles to stories and refreshing a story's page data."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analysis.models import ArticleAnalysis
from analysis.nlp.summarise import sentences_select, unit
from sources.models import Article, Side
from stories import clustering
from stories.models import Story, StoryMembership, StoryViewpoint

logger = logging.getLogger(__name__)

# Any constant works; it names the lock every clustering transaction takes on PostgreSQL.
CLUSTERING_LOCK_ID = 7_311_042
OVERVIEW_SENTENCES = 4
VIEWPOINT_SENTENCES = 3
# Two sentences of different articles this similar state the same fact.
SAME_FACT_SIMILARITY = 0.72


def _clustering_lock() -> None:
    """Serialise assignments so two workers never open two stories for one event.

    PostgreSQL: a transaction-scoped advisory lock. SQLite takes its database
    write lock at the start of each transaction (transaction_mode IMMEDIATE), which
    serialises writers already.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLUSTERING_LOCK_ID])


def story_assign(*, article_id: int) -> int | None:
    """Put an analysed article into the most similar active story, or open a new one.

    Idempotent: an article already in a story returns that story's id. Returns None
    when the article is not analysed (it failed earlier, or was merged as a duplicate).
    """
    with transaction.atomic():
        _clustering_lock()
        article = Article.objects.select_for_update().filter(pk=article_id).first()
        if article is None:
            return None
        membership = StoryMembership.objects.filter(article=article).first()
        if membership is not None:
            return membership.story_id
        analysis = ArticleAnalysis.objects.filter(article=article).first()
        if analysis is None:
            return None
        vector = analysis.vector
        moment = article.sort_time
        window = timedelta(days=settings.NEWSROOM_CLUSTER_WINDOW_DAYS)
        candidates = list(
            Story.objects.active_around(moment, window=window).only(
                "id", "centroid", "article_count", "first_published_at", "last_published_at"
            )
        )
        match = clustering.best_match(
            vector, [story.centroid_vector for story in candidates], threshold=settings.NEWSROOM_CLUSTER_THRESHOLD
        )
        if match is None:
            story = Story.objects.create(
                title=article.title,
                centroid=vector.astype(np.float32).tobytes(),
                first_published_at=moment,
                last_published_at=moment,
                article_count=1,
            )
            similarity, reason = 1.0, "started the story"
        else:
            story = candidates[match.index]
            story.centroid = clustering.centroid_add(story.centroid_vector, story.article_count, vector).tobytes()
            story.article_count += 1
            story.first_published_at = min(story.first_published_at, moment)
            story.last_published_at = max(story.last_published_at, moment)
            story.save(update_fields=["centroid", "article_count", "first_published_at", "last_published_at"])
            similarity, reason = match.similarity, f"similar to the story centroid ({match.similarity:.2f})"
        StoryMembership.objects.create(story=story, article=article, similarity=similarity, reason=reason)
        article.state = Article.State.CLUSTERED
        article.state_changed_at = timezone.now()
        article.save(update_fields=["state", "state_changed_at"])
    return story.pk


# --- Refresh ------------------------------------------------------------------


class _Member:
    """An article of the story with what the refresh needs of it."""

    def __init__(self, article: Article) -> None:
        self.article = article
        self.analysis: ArticleAnalysis | None = getattr(article, "analysis", None)
        self.side: str | None = article.outlet.side
        self.sentences: list[str] = self.analysis.sentences if self.analysis else []
        self.matrix = self.analysis.sentence_matrix if self.analysis and self.sentences else None


def _sentence_pool(members: list[_Member]) -> tuple[np.ndarray[Any, Any], list[tuple[_Member, int]]]:
    rows, owners = [], []
    for member in members:
        if member.matrix is None:
            continue
        rows.append(member.matrix)
        owners.extend((member, index) for index in range(len(member.sentences)))
    if not rows:
        return np.zeros((0, 0), dtype=np.float32), []
    return np.vstack(rows), owners


def _overview(members: list[_Member], centroid: np.ndarray[Any, Any]) -> list[dict[str, Any]]:
    """Central, non-redundant sentences, preferring facts more than one side reported; each cited."""
    matrix, owners = _sentence_pool(members)
    if not owners:
        return []
    similarity = matrix @ matrix.T
    sides = np.array([owner.side or "" for owner, _ in owners])
    articles = np.array([owner.article.pk for owner, _ in owners])
    corroborating = (similarity >= SAME_FACT_SIMILARITY) & (articles[None, :] != articles[:, None])
    other_sides = np.array(
        [len({side for side in sides[corroborating[row]] if side and side != sides[row]}) for row in range(len(owners))]
    )
    chosen = sentences_select(matrix, centroid, count=OVERVIEW_SENTENCES, bonus=0.05 * other_sides)
    overview = []
    for row in chosen:
        owner, index = owners[row]
        cited = [owner.article.pk, *sorted({int(pk) for pk in articles[corroborating[row]]} - {owner.article.pk})]
        overview.append({"text": owner.sentences[index], "article": owner.article.pk, "citations": cited})
    return overview


def _viewpoint_fields(members: list[_Member], story_members: list[_Member]) -> dict[str, Any]:
    analysed = [member for member in members if member.analysis is not None]
    if not analysed:
        return {"summary": [], "frames": [], "tone": None, "entities": []}
    vectors = np.vstack([member.analysis.vector for member in analysed if member.analysis])
    side_centroid = unit(vectors.mean(axis=0))
    matrix, owners = _sentence_pool(analysed)
    chosen = sentences_select(matrix, side_centroid, count=VIEWPOINT_SENTENCES) if owners else []
    summary = [
        {"text": owners[row][0].sentences[owners[row][1]], "article": owners[row][0].article.pk} for row in chosen
    ]

    def frame_shares(group: list[_Member]) -> dict[str, float]:
        counts: Counter[str] = Counter()
        with_analysis = [member for member in group if member.analysis is not None]
        for member in with_analysis:
            counts.update(member.analysis.frame_names if member.analysis else [])
        return {frame: count / len(with_analysis) for frame, count in counts.items()} if with_analysis else {}

    own = frame_shares(analysed)
    others = frame_shares([member for member in story_members if member not in members])
    frames = [
        {"frame": frame, "share": round(share, 3), "distinctive": share - others.get(frame, 0.0) >= 0.25}
        for frame, share in sorted(own.items(), key=lambda item: (-item[1], item[0]))
    ]
    entity_counts: Counter[str] = Counter()
    for member in analysed:
        if member.analysis:
            entity_counts.update(entity["text"] for entity in member.analysis.entities[:8])
    tones = [member.analysis.tone for member in analysed if member.analysis]
    return {
        "summary": summary,
        "frames": frames,
        "tone": round(sum(tones) / len(tones), 4),
        "entities": [{"text": text, "count": count} for text, count in entity_counts.most_common(6)],
    }


def story_refresh(*, story_id: int) -> Story | None:
    """Recompute a story's title, coverage by side, viewpoints and overview from its members.

    Uses each outlet's current rating. Safe to run any number of times.
    """
    story = Story.objects.filter(pk=story_id).first()
    if story is None:
        return None
    articles = list(
        Article.objects.filter(membership__story=story)
        .select_related("outlet", "analysis")
        .order_by("published_at", "pk")
    )
    members = [_Member(article) for article in articles]
    with_vectors = [member for member in members if member.analysis is not None]
    by_side: dict[str | None, list[_Member]] = defaultdict(list)
    for member in members:
        by_side[member.side].append(member)

    with transaction.atomic():
        story = Story.objects.select_for_update().get(pk=story_id)
        if with_vectors:
            centroid = unit(
                np.vstack([member.analysis.vector for member in with_vectors if member.analysis]).mean(axis=0)
            )
            story.centroid = centroid.astype(np.float32).tobytes()
            central = max(
                with_vectors, key=lambda member: float(member.analysis.vector @ centroid) if member.analysis else 0
            )
            story.title = central.article.title or story.title
            story.overview = _overview(members, centroid)
            story.summary = story.overview[0]["text"] if story.overview else ""
        story.article_count = len(members)
        story.outlet_count = len({member.article.outlet_id for member in members})
        story.left_count = len(by_side[Side.LEFT])
        story.center_count = len(by_side[Side.CENTER])
        story.right_count = len(by_side[Side.RIGHT])
        story.unrated_count = len(by_side[None])
        if members:
            times = [member.article.sort_time for member in members]
            story.first_published_at, story.last_published_at = min(times), max(times)
        story.refreshed_at = timezone.now()
        story.save()

        for side in Side.values:
            side_members = by_side[side]
            fields: dict[str, Any] = {
                "article_count": len(side_members),
                "outlet_count": len({member.article.outlet_id for member in side_members}),
                "is_available": bool(side_members),
                "unavailable_reason": "",
            }
            if side_members:
                fields.update(_viewpoint_fields(side_members, members))
            else:
                only_unrated = bool(by_side[None]) and story.rated_count == 0
                fields.update(
                    {
                        "unavailable_reason": StoryViewpoint.Unavailable.ONLY_UNRATED
                        if only_unrated
                        else StoryViewpoint.Unavailable.NO_ARTICLES,
                        "summary": [],
                        "frames": [],
                        "tone": None,
                        "entities": [],
                    }
                )
            StoryViewpoint.objects.update_or_create(story=story, side=side, defaults=fields)
    return story
