"""Writes of the clustering stage: assigning articles to clusters, the merge and split pass,
and the curator's merge, split, move and pin. The pure scoring lives in ``clustering.scoring``.

This module is the only writer of ``Cluster``, ``Membership``, ``ClusteringEvent`` and
``StoryPairCandidate`` (the near misses of the merge pass, which curators review). A
cluster's id is its story's (``stories.Cluster``), so "story" below means the cluster a reader
sees as one story.

Locking. Every write here runs in one transaction that first takes the clustering
locks of the days it may touch (``_window_lock``): one PostgreSQL advisory lock per
day from ``moment - window`` to ``moment + window``, in ascending order so two
transactions never wait on each other in a cycle. Two articles that could end up in
one story are at most a window apart, so their day ranges share a day and the second
waits for the first to commit: two workers never open two stories for one event,
while a backfill of last year runs beside today's news. SQLite serialises writers
with its database lock (transaction_mode IMMEDIATE) already.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Substr
from django.utils import timezone

from analysis.models import ArticleAnalysis
from clustering import scoring
from clustering.models import Cluster, ClusteringEvent, Membership, StoryPairCandidate
from clustering.scoring import ArticleSignal, PairModel, StorySignal
from sources.models import Article, side_of_lean

logger = logging.getLogger(__name__)

# The first key of the two-key advisory locks; any constant works (the second key is the day).
CLUSTERING_LOCK_ID = 7_311_042
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.get_fixed_timezone(0))
STORY_SIGNAL_FIELDS = (
    "id",
    "lead_sum",
    "body_sum",
    "entity_counts",
    "outlet_ids",
    "first_published_at",
    "last_published_at",
    "article_count",
    "is_curated",
    "reclustered_at",
)


def pair_model() -> PairModel:
    return scoring.model_load(settings.NEWSROOM_CLUSTER_MODEL_PATH)


def _window() -> timedelta:
    return timedelta(days=settings.NEWSROOM_CLUSTER_WINDOW_DAYS)


def _window_lock(*moments: datetime) -> None:
    """Take the clustering locks of every day within a window of the moments (see the module docstring)."""
    if connection.vendor != "postgresql":
        return
    window = _window()
    days: set[int] = set()
    for moment in moments:
        first = int((moment - window - EPOCH).total_seconds() // 86_400)
        last = int((moment + window - EPOCH).total_seconds() // 86_400)
        days.update(range(first, last + 1))
    with connection.cursor() as cursor:
        # One round trip; the rows, hence the locks, come in ascending order of day.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, day) FROM unnest(%s::int[]) AS day ORDER BY day",
            [CLUSTERING_LOCK_ID, sorted(days)],
        )


# --- Signals ------------------------------------------------------------------


def _article_signal(article: Article, analysis: ArticleAnalysis) -> ArticleSignal:
    lead = analysis.vector.astype(np.float32)
    return ArticleSignal(
        lead=lead,
        body=scoring.body_vector(analysis.sentence_matrix, lead),
        entities=scoring.entities_of(analysis.entities),
        outlet_id=article.outlet_id,
        moment=article.sort_time,
        terms=scoring.terms_of(scoring.terms_text(article.title, article.text)),
        dated=article.published_at is not None,
        # The side only where the outlet was read with the article (the merge pass's members).
        side=side_of_lean(article.outlet.lean) if Article.outlet.is_cached(article) else None,
    )


def _story_signal(story: Cluster) -> StorySignal:
    lead_sum = np.frombuffer(bytes(story.lead_sum), dtype=np.float32)
    body_sum = np.frombuffer(bytes(story.body_sum), dtype=np.float32) if story.body_sum else lead_sum
    return StorySignal(
        lead_sum=lead_sum,
        body_sum=body_sum,
        entity_counts=Counter(story.entity_counts),
        outlet_ids=set(story.outlet_ids),
        first=story.first_published_at,
        last=story.last_published_at,
        size=max(story.article_count, 1),
        key=story.pk,
        term_sums=term_sums.of(story),
    )


class TermSums:
    """The sums of the members' TF-IDF vectors of stories, kept in process memory by story version.

    A story stores no terms of its own: they are rebuilt from its members' titles and leads
    (one query for a story this process has not seen at its current version) and kept until
    the story changes. Writes here put the new sums in place, so a story this worker just
    changed costs nothing; a story changed by another worker or by a refresh is read again.
    """

    MAX_ENTRIES = 200_000

    def __init__(self) -> None:
        self.entries: dict[int, tuple[Any, Counter[str]]] = {}

    @staticmethod
    def _version(story: Cluster) -> Any:
        return story.reclustered_at

    def of(self, story: Cluster) -> Counter[str]:
        self.load([story])
        return Counter(self.entries[story.pk][1])

    def load(self, stories: Iterable[Cluster]) -> None:
        """Read the members of the stories not held at their current version: one query for all."""
        stale = {story.pk: story for story in stories if self.entries.get(story.pk, (None,))[0] != self._version(story)}
        if not stale:
            return
        sums: dict[int, Counter[str]] = {pk: Counter() for pk in stale}
        rows = Membership.objects.filter(cluster_id__in=list(stale)).values_list(
            "cluster_id", "article__title", Substr("article__text", 1, scoring.LEAD_CHARS)
        )
        for story_id, title, lead in rows:
            sums[story_id].update(scoring.terms_of(scoring.terms_text(title, lead or "")))
        for pk, story in stale.items():
            self.put(story, sums[pk])

    def put(self, story: Cluster, sums: Counter[str]) -> None:
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        self.entries[story.pk] = (self._version(story), Counter(sums))


term_sums = TermSums()


def _signal_save(story: Cluster, signal: StorySignal, *, extra: Iterable[str] = ()) -> None:
    story.lead_sum = signal.lead_sum.astype(np.float32).tobytes()
    story.body_sum = signal.body_sum.astype(np.float32).tobytes()
    story.entity_counts = dict(signal.entity_counts)
    story.outlet_ids = sorted(signal.outlet_ids)
    story.first_published_at, story.last_published_at = signal.first, signal.last
    story.article_count = signal.size
    story.reclustered_at = timezone.now()
    term_sums.put(story, signal.term_sums)
    story.save(
        update_fields=[
            "lead_sum",
            "body_sum",
            "entity_counts",
            "outlet_ids",
            "first_published_at",
            "last_published_at",
            "article_count",
            "reclustered_at",
            *extra,
        ]
    )


def _members(story_id: int) -> list[tuple[Membership, ArticleSignal]]:
    memberships = list(
        Membership.objects.filter(cluster_id=story_id)
        .select_related("article", "article__analysis")
        .order_by("joined_at", "pk")
    )
    return [
        (membership, _article_signal(membership.article, membership.article.analysis))
        for membership in memberships
        if getattr(membership.article, "analysis", None) is not None
    ]


def _member_signals(story_id: int) -> list[ArticleSignal]:
    """The signals of a story's first members, as many as average linkage reads."""
    memberships = (
        Membership.objects.filter(cluster_id=story_id, article__analysis__isnull=False)
        .select_related("article", "article__analysis", "article__outlet")
        .order_by("joined_at", "pk")[: scoring.LINKAGE_MEMBERS]
    )
    return [_article_signal(membership.article, membership.article.analysis) for membership in memberships]


def _signal_of(members: list[ArticleSignal], key: Any = None) -> StorySignal | None:
    if not members:
        return None
    signal = StorySignal.of_article(members[0], key=key)
    for member in members[1:]:
        signal.add(member)
    return signal


def _story_rebuild(story: Cluster) -> tuple[StorySignal | None, list[tuple[Membership, ArticleSignal]]]:
    """Recompute a story's clustering fields and confidence from its members."""
    members = _members(story.pk)
    signal = _signal_of([member for _, member in members], key=story.pk)
    if signal is not None:
        story.confidence = scoring.story_confidence([member for _, member in members], pair_model())
        _signal_save(story, signal, extra=["confidence"])
    return signal, members


class CentroidIndex:
    """The lead centroids of active stories, kept in process memory between assignments.

    A call reads only the id and version of each story in the window (through the index
    on ``last_published_at``) and fetches the centroids of the stories that changed since
    it last saw them, so an assignment moves a few bytes per active story instead of its
    whole centroid. The version is ``reclustered_at``, which every write of a cluster here
    sets. Each worker process has its own index; the versions keep it right whatever the
    other workers wrote.
    """

    MAX_ENTRIES = 200_000

    def __init__(self) -> None:
        self.entries: dict[int, tuple[Any, np.ndarray[Any, Any]]] = {}

    def window(self, moment: datetime, *, exclude: Iterable[int] = ()) -> tuple[list[int], np.ndarray[Any, Any]]:
        """The ids of the stories active around ``moment`` and their lead centroids, one row each."""
        rows = list(
            Cluster.objects.active_around(moment, window=_window())
            .exclude(pk__in=list(exclude))
            .values_list("pk", "reclustered_at")
        )
        stale = [pk for pk, version in rows if self.entries.get(pk, (None,))[0] != version]
        if len(self.entries) + len(stale) > self.MAX_ENTRIES:
            self.entries.clear()
            stale = [pk for pk, _ in rows]
        if stale:
            versions = dict(rows)
            for pk, lead_sum in Cluster.objects.filter(pk__in=stale).values_list("pk", "lead_sum"):
                self.entries[pk] = (versions[pk], scoring.unit(np.frombuffer(bytes(lead_sum), dtype=np.float32)))
        ids = [pk for pk, _ in rows if pk in self.entries and len(self.entries[pk][1])]
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        return ids, np.vstack([self.entries[pk][1] for pk in ids])


centroid_index = CentroidIndex()


def _candidates(article: ArticleSignal, *, exclude: Iterable[int] = ()) -> list[Cluster]:
    """The shortlist of active stories for an article: the window's centroids, nearest first.

    The cost follows the number of stories active around the article, not the size of the database.
    """
    ids, leads = centroid_index.window(article.moment, exclude=exclude)
    if not ids:
        return []
    keys = [ids[index] for index in scoring.shortlist(article, leads)]
    stories = {story.pk: story for story in Cluster.objects.filter(pk__in=keys).only(*STORY_SIGNAL_FIELDS)}
    term_sums.load(stories.values())
    return [stories[key] for key in keys if key in stories]


def _outlet_leads(story_id: int, outlet_id: int) -> list[Any]:
    embeddings = ArticleAnalysis.objects.filter(
        article__membership__cluster_id=story_id, article__outlet_id=outlet_id
    ).values_list("embedding", flat=True)
    return [np.frombuffer(bytes(embedding), dtype=np.float32) for embedding in embeddings]


# --- Assigning ----------------------------------------------------------------


def _place(
    article: Article, signal: ArticleSignal, *, exclude: Iterable[int] = (), reason: str | None = None
) -> Membership:
    """Put the article in the best candidate story or a new one; the caller holds the locks."""
    model = pair_model()
    stories = _candidates(signal, exclude=exclude)
    signals = [_story_signal(story) for story in stories]
    for story_signal in signals:
        if signal.outlet_id in story_signal.outlet_ids:
            story_signal.outlet_leads[signal.outlet_id] = _outlet_leads(story_signal.key, signal.outlet_id)
    decision = scoring.decide(signal, signals, model)
    if decision.index is None:
        story = Cluster.objects.create(
            first_published_at=signal.moment,
            last_published_at=signal.moment,
            article_count=1,
        )
        _signal_save(story, StorySignal.of_article(signal, key=story.pk))
    else:
        story = stories[decision.index]
        story_signal = signals[decision.index]
        story_signal.add(signal)
        # The weakest member may now be this one: a cheap bound, refined by the recluster pass.
        story.confidence = min(story.confidence, decision.probability)
        _signal_save(story, story_signal, extra=["confidence"])
    return Membership.objects.create(
        cluster=story,
        article=article,
        similarity=decision.similarity,
        probability=decision.probability if decision.index is not None else 1.0,
        reason=reason or decision.reason,
        detail=decision.describe()[:200],
    )


def cluster_assign(*, article_id: int) -> int | None:
    """Put an analysed article into the story the pair model scores best, or open a new one.

    Idempotent: an article already in a story returns that story's id. Returns None
    when the article is not analysed (it failed earlier, or was merged as a duplicate).
    Holds the clustering locks of the article's window (see the module docstring).
    """
    moment = Article.objects.filter(pk=article_id).values_list("published_at", "discovered_at").first()
    if moment is None:
        return None
    with transaction.atomic():
        _window_lock(moment[0] or moment[1])
        article = Article.objects.select_for_update().filter(pk=article_id).first()
        if article is None:
            return None
        membership = Membership.objects.filter(article=article).first()
        if membership is not None:
            return membership.cluster_id
        analysis = ArticleAnalysis.objects.filter(article=article).first()
        if analysis is None:
            return None
        membership = _place(article, _article_signal(article, analysis))
        article.state = Article.State.CLUSTERED
        article.state_changed_at = timezone.now()
        article.save(update_fields=["state", "state_changed_at"])
    return membership.cluster_id


# --- The second pass: merge stories that converged, split off members that drifted ------


def _merge(
    *, into: Cluster, away: Cluster, actor: Any = None, probability: float | None = None, detail: str = ""
) -> None:
    article_ids = list(Membership.objects.filter(cluster=away).values_list("article_id", flat=True))
    reason = Membership.Reason.CURATOR if actor is not None else Membership.Reason.MERGED
    Membership.objects.filter(cluster=away).update(
        cluster=into, reason=reason, detail=f"merged from story {away.pk}"[:200]
    )
    ClusteringEvent.objects.create(
        kind=ClusteringEvent.Kind.MERGE,
        is_automatic=actor is None,
        actor=actor,
        story_id_value=into.pk,
        other_story_id_value=away.pk,
        article_ids=article_ids,
        probability=probability,
        detail=detail[:300],
    )
    away.delete()
    _story_rebuild(into)


def clusters_recluster(*, story_ids: Iterable[int]) -> list[int]:
    """The second pass over stories that just changed: split off drifted members, merge converged stories.

    A member whose probability of belonging to the rest of its story fell below the split
    threshold is placed again as if it were new (never back into that story). A story whose
    members are alike on average with those of one of its nearest active stories (average
    linkage), with no outlet in both, is merged into the larger. Pinned members and curated
    stories are left alone. Every change is logged as a ``ClusteringEvent``. Returns the ids of
    the stories that still exist and changed.
    """
    model = pair_model()
    touched: set[int] = set()
    for story_id in sorted(set(story_ids)):
        story = Cluster.objects.filter(pk=story_id).only(*STORY_SIGNAL_FIELDS, "confidence").first()
        if story is None:
            continue
        with transaction.atomic():
            _window_lock(story.first_published_at, story.last_published_at)
            story = Cluster.objects.select_for_update().filter(pk=story_id).first()
            if story is None:
                continue
            touched.add(story.pk)
            # From the members as they are now: an analysis may have changed since they joined.
            _story_rebuild(story)
            if not story.is_curated:
                touched |= _split_drifted(story, model)
                touched |= _merge_converged(story, model)
    return sorted(story_id for story_id in touched if Cluster.objects.filter(pk=story_id).exists())


def _split_drifted(story: Cluster, model: PairModel) -> set[int]:
    members = _members(story.pk)
    if len(members) < 3:
        return set()
    signals = [signal for _, signal in members]
    changed: set[int] = set()
    for index, (membership, signal) in enumerate(members):
        if membership.is_pinned:
            continue
        rest = _signal_of([other for position, other in enumerate(signals) if position != index])
        if rest is None:
            continue
        probability = model.probability(
            scoring.pair_features(signal, rest, model.features),
            scoring.gap_days(signal.moment, rest.first, rest.last),
        )
        if probability >= model.split_probability:
            continue
        article = membership.article
        membership.delete()
        _story_rebuild(story)
        placed = _place(article, signal, exclude=[story.pk], reason=Membership.Reason.SPLIT)
        ClusteringEvent.objects.create(
            kind=ClusteringEvent.Kind.SPLIT,
            story_id_value=placed.cluster_id,
            other_story_id_value=story.pk,
            article_ids=[article.pk],
            probability=probability,
            detail=f"drifted from its story (probability {probability:.2f} < {model.split_probability:.2f})",
        )
        changed |= {story.pk, placed.cluster_id}
        # One split per pass: the rest's signals changed with it.
        break
    return changed


def _merge_converged(story: Cluster, model: PairModel) -> set[int]:
    story.refresh_from_db()
    signal = _story_signal(story)
    ids, leads = centroid_index.window(story.last_published_at, exclude=[story.pk])
    if not ids:
        return set()
    probe = ArticleSignal(lead=signal.lead, body=signal.body, entities=frozenset(), outlet_id=-1, moment=signal.last)
    keys = [ids[index] for index in scoring.shortlist(probe, leads, size=scoring.MERGE_SHORTLIST)]
    members = _member_signals(story.pk)
    # The most probable of the shortlisted stories, if it clears the merge threshold.
    best: tuple[float, Cluster] | None = None
    scored: list[tuple[float, float, Cluster]] = []
    for other in Cluster.objects.filter(pk__in=keys).only(*STORY_SIGNAL_FIELDS):
        other_signal = _story_signal(other)
        if not scoring.can_merge(signal, other_signal):
            continue
        other_members = _member_signals(other.pk)
        probability = scoring.linkage_probability(members, other_members, model)
        threshold = model.merge_threshold(members, other_members)
        if other.is_curated or Membership.objects.filter(cluster__in=[story, other], is_pinned=True).exists():
            # A curator decided that story, or pinned an article in one of them: only a curator merges
            # them, so a pair that would merge is a near miss for the curators to review.
            scored.append((probability, math.inf, other))
            continue
        scored.append((probability, threshold, other))
        if probability >= threshold and (best is None or (probability, -other.pk) > (best[0], -best[1].pk)):
            best = (probability, other)
    if best is None:
        # The partners' pages point back at this story (or stop to): the refresh that follows takes them too.
        return _near_misses_record(story, scored, model)
    probability, other = best
    into, away = (story, other) if story.article_count >= other.article_count else (other, story)
    _merge(into=into, away=away, probability=probability, detail=f"members alike (average linkage {probability:.2f})")
    return {into.pk}


def _near_misses_record(story: Cluster, scored: list[tuple[float, float, Cluster]], model: PairModel) -> set[int]:
    """Keep the merge pass's near misses of a story: pairs scored below the merge threshold, above the floor.

    A pair scored again takes its new probability, or is forgotten if it fell below the floor; a
    pair a curator marked as not the same story stays dismissed and is never proposed again.
    Returns the ids of the stories a pair with this one was opened or closed for.
    """
    floor = model.near_miss_probability
    if floor is None:
        return set()
    now = timezone.now()
    changed: set[int] = set()
    for probability, threshold, other in scored:
        low, high = sorted((story.pk, other.pk))
        pair = StoryPairCandidate.objects.filter(story_id=low, other_id=high)
        if pair.filter(status=StoryPairCandidate.Status.DISMISSED).exists():
            continue
        if not floor <= probability < threshold:
            if pair.delete()[0]:
                changed.add(other.pk)
            continue
        _candidate, created = StoryPairCandidate.objects.update_or_create(
            story_id=low,
            other_id=high,
            defaults={
                "probability": probability,
                "scored_at": now,
                "detail": (
                    f"members alike on average ({probability:.2f}), below the automatic merge ({threshold:.2f})"
                    if math.isfinite(threshold)
                    else f"members alike on average ({probability:.2f}), a story a curator decided"
                )[:300],
            },
        )
        if created:
            changed.add(other.pk)
    return changed


# --- The curator's decisions --------------------------------------------------


def story_pair_merge(*, candidate_id: int, actor: Any) -> Cluster:
    """A curator confirms a near miss: the two stories merge through the curator's merge (into the larger)."""
    candidate = StoryPairCandidate.objects.select_related("story", "other").get(pk=candidate_id)
    first, second = candidate.story, candidate.other
    into, away = (first, second) if first.article_count >= second.article_count else (second, first)
    # The merge deletes the story merged away, and the candidate with it.
    return clusters_merge(into_id=into.pk, story_ids=[away.pk], actor=actor)


def story_pair_dismiss(*, candidate_id: int, actor: Any) -> StoryPairCandidate:
    """A curator says a near miss is not the same story: it is kept as dismissed, so never proposed again."""
    with transaction.atomic():
        candidate = StoryPairCandidate.objects.select_for_update().get(pk=candidate_id)
        candidate.status = StoryPairCandidate.Status.DISMISSED
        candidate.decided_by = actor
        candidate.decided_at = timezone.now()
        candidate.save(update_fields=["status", "decided_by", "decided_at"])
    return candidate


def _curated(story: Cluster) -> None:
    Cluster.objects.filter(pk=story.pk).update(is_curated=True)


def clusters_merge(*, into_id: int, story_ids: Iterable[int], actor: Any) -> Cluster:
    """A curator merges stories into one; the result is curated (no automatic split or merge)."""
    ids = {into_id, *story_ids}
    with transaction.atomic():
        # The clustering locks first, row locks after, in the order every writer here takes them.
        _window_lock(*Cluster.objects.filter(pk__in=ids).values_list("last_published_at", flat=True))
        stories = list(Cluster.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        into = next(story for story in stories if story.pk == into_id)
        for away in stories:
            if away.pk != into_id:
                _merge(into=into, away=away, actor=actor, detail="merged by a curator")
        _curated(into)
        into.refresh_from_db()
    return into


def _curator_reassign(
    memberships: list[Membership], *, source: Cluster, target: Cluster, kind: str, actor: Any
) -> None:
    """Move memberships from ``source`` to ``target`` for a curator: pinned, logged, both stories curated.

    The caller holds the window locks. ``source`` is deleted if nothing is left in it.
    """
    verb = "split from" if kind == ClusteringEvent.Kind.SPLIT else "moved from"
    for membership in memberships:
        membership.cluster = target
        membership.reason = Membership.Reason.CURATOR
        membership.detail = f"{verb} story {source.pk} by a curator"
        membership.is_pinned = True
        membership.save(update_fields=["cluster", "reason", "detail", "is_pinned"])
    ClusteringEvent.objects.create(
        kind=kind,
        is_automatic=False,
        actor=actor,
        story_id_value=target.pk,
        other_story_id_value=source.pk,
        article_ids=[membership.article_id for membership in memberships],
        detail=f"{verb.split()[0]} by a curator",
    )
    _curated(target)
    _curated(source)
    for story in (target, source):
        story.refresh_from_db()
        if story.memberships.exists():
            _story_rebuild(story)
        else:
            story.delete()


def cluster_split(*, article_ids: Iterable[int], actor: Any) -> Cluster:
    """A curator moves these articles (of one story) into a new story; both are curated and the articles pinned."""
    article_ids = list(article_ids)
    with transaction.atomic():
        _window_lock(
            *Cluster.objects.filter(memberships__article_id__in=article_ids).values_list("last_published_at", flat=True)
        )
        memberships = list(Membership.objects.select_for_update().filter(article_id__in=article_ids).order_by("pk"))
        if not memberships or len({membership.cluster_id for membership in memberships}) != 1:
            raise ValueError("Split takes articles of one story.")
        source = Cluster.objects.get(pk=memberships[0].cluster_id)
        first = memberships[0].article
        new = Cluster.objects.create(
            first_published_at=first.sort_time,
            last_published_at=first.sort_time,
            is_curated=True,
        )
        _curator_reassign(memberships, source=source, target=new, kind=ClusteringEvent.Kind.SPLIT, actor=actor)
    return new


def membership_move(*, article_id: int, story_id: int, actor: Any) -> Membership:
    """A curator moves an article to another story; it is pinned there and both stories are curated."""
    with transaction.atomic():
        _window_lock(
            *Cluster.objects.filter(Q(pk=story_id) | Q(memberships__article_id=article_id)).values_list(
                "last_published_at", flat=True
            )
        )
        membership = Membership.objects.select_for_update().get(article_id=article_id)
        source = Cluster.objects.get(pk=membership.cluster_id)
        target = Cluster.objects.get(pk=story_id)
        _curator_reassign([membership], source=source, target=target, kind=ClusteringEvent.Kind.MOVE, actor=actor)
    return membership


def membership_pin(*, article_id: int, pinned: bool, actor: Any) -> Membership:
    """A curator pins an article in its story (the automatic split never moves it), or unpins it."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(article_id=article_id)
        membership.is_pinned = pinned
        membership.save(update_fields=["is_pinned"])
        ClusteringEvent.objects.create(
            kind=ClusteringEvent.Kind.PIN if pinned else ClusteringEvent.Kind.UNPIN,
            is_automatic=False,
            actor=actor,
            story_id_value=membership.cluster_id,
            article_ids=[article_id],
            detail="pinned by a curator" if pinned else "unpinned by a curator",
        )
    return membership
