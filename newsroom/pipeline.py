"""The whole pipeline, declared in one place.

    feed ──poll──> Article(discovered) ──fetch──> (fetched) ──analyse──> (analysed)
         ──assign──> story membership (clustered) ──refresh──> story page data

Each stage is a thin Celery task in its app (``sources.tasks``, ``analysis.tasks``,
``stories.tasks``) around a service; this module only chains them. The database
is the source of truth: every article records its state, so ``articles_sweep``
finds work whose message was lost and queues it again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from celery import chain, shared_task
from celery.canvas import Signature
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from analysis.tasks import (
    analyses_reanalyse_from_task,
    article_analyse_task,
    articles_analyse_task,
    articles_reanalyse_task,
)
from sources.articles import articles_fetch_retry
from sources.feeds import feed_poll
from sources.models import Article, Feed
from sources.tasks import article_fetch_task
from stories.models import Story, StoryMembership
from stories.services import stories_recluster, story_assign, story_refresh
from stories.tasks import story_assign_task, story_refresh_task

logger = logging.getLogger(__name__)

IMPORT_BATCH_SIZE = 32


def article_chain(article_id: int) -> Signature:
    """One article through every stage; each task hands the next the id it needs."""
    return chain(
        article_fetch_task.si(article_id),
        article_analyse_task.s(),
        story_assign_task.s(),
        story_refresh_task.s(),
    )


def batch_chain(article_ids: list[int]) -> Signature:
    """Articles that arrive with their text (imports): analysed as one batch, then clustered."""
    return chain(articles_analyse_task.si(article_ids), stories_assign_and_refresh.s())


def _send(signature: Signature) -> None:
    """Queue a chain; with the broker down, log and go on: the articles' state is in the database,
    and ``articles_sweep`` queues them again once they have been stuck for a while."""
    try:
        signature.apply_async()
    except BrokerUnavailable:
        logger.exception("Broker unavailable; the sweep will queue these articles again")


def articles_enqueue(article_ids: Iterable[int]) -> None:
    """Start the pipeline for these articles once the current transaction commits."""
    for article_id in article_ids:
        transaction.on_commit(functools.partial(_send, article_chain(article_id)))


def articles_enqueue_batches(article_ids: list[int]) -> None:
    for start in range(0, len(article_ids), IMPORT_BATCH_SIZE):
        batch = article_ids[start : start + IMPORT_BATCH_SIZE]
        transaction.on_commit(functools.partial(_send, batch_chain(batch)))


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def stories_assign_and_refresh(article_ids: list[int]) -> list[int]:
    """Assign analysed articles in publication order, then refresh each touched story once."""
    ordered = (
        Article.objects.filter(pk__in=article_ids, state=Article.State.ANALYSED)
        .order_by("published_at", "discovered_at", "pk")
        .values_list("pk", flat=True)
    )
    story_ids = {story_id for article_id in ordered if (story_id := story_assign(article_id=article_id))}
    story_ids = set(stories_recluster(story_ids=story_ids))
    for story_id in sorted(story_ids):
        story_refresh(story_id=story_id)
    return sorted(story_ids)


@shared_task(acks_late=True, time_limit=180, soft_time_limit=150)
def feed_poll_and_process(feed_id: int) -> list[int]:
    new_ids = feed_poll(feed_id=feed_id)
    articles_enqueue(new_ids)
    return new_ids


@shared_task
def feeds_poll_due() -> int:
    """Celery beat's entry point: queue a poll of every feed that is due."""
    feed_ids = list(Feed.objects.due().values_list("pk", flat=True))
    for feed_id in feed_ids:
        feed_poll_and_process.delay(feed_id)
    return len(feed_ids)


@shared_task
def articles_sweep(stuck_after_seconds: float | None = None) -> int:
    """Queue again the articles whose next stage has not run for a while (a lost message).

    Stuck means unchanged for NEWSROOM_SWEEP_STUCK_AFTER_SECONDS (or ``stuck_after_seconds``).
    Queuing one twice is harmless: every stage skips an article already past it.
    """
    seconds = settings.NEWSROOM_SWEEP_STUCK_AFTER_SECONDS if stuck_after_seconds is None else stuck_after_seconds
    stuck = list(Article.objects.stuck(timezone.now() - timedelta(seconds=seconds)).values_list("pk", flat=True)[:1000])
    Article.objects.filter(pk__in=stuck).update(state_changed_at=timezone.now())
    articles_enqueue(stuck)
    # Pages that failed to fetch (a timeout, a 503) get another try after the same wait.
    retried = articles_fetch_retry(failed_before=timezone.now() - timedelta(seconds=seconds))
    articles_enqueue(retried)
    # A story never refreshed, or one an article joined after its last refresh (the refresh was lost).
    cutoff = timezone.now() - timedelta(seconds=seconds)
    unrefreshed = (
        Story.objects.filter(
            Q(refreshed_at__isnull=True, created_at__lt=cutoff)
            | Q(memberships__joined_at__gt=F("refreshed_at"), memberships__joined_at__lt=cutoff)
        )
        .values_list("pk", flat=True)
        .distinct()[:1000]
    )
    for story_id in unrefreshed:
        _send(story_refresh_task.si(story_id))
    if stuck or retried:
        logger.info("Re-queued %s stuck articles and %s failed fetches", len(stuck), len(retried))
    return len(stuck)


REANALYSE_BATCH_SIZE = 32


def articles_reanalyse_enqueue(
    *, since: datetime | None = None, article_ids: list[int] | None = None, force: bool = False
) -> None:
    """Re-tag analysed articles with the current models, then refresh the stories they belong to.

    Runs on the analysis queue beside ingestion, a batch at a time (see
    ``analyses_reanalyse_from_task``). With ``article_ids`` (the curator's action) those
    articles; otherwise every analysed article published since ``since`` (all with None).
    Without ``force`` only analyses an older model version made are redone.
    """
    then = stories_refresh_for_articles.s()
    if article_ids is not None:
        for start in range(0, len(article_ids), REANALYSE_BATCH_SIZE):
            batch = article_ids[start : start + REANALYSE_BATCH_SIZE]
            transaction.on_commit(lambda batch=batch: articles_reanalyse_task.delay(batch, force, then))
        return
    since_text = since.isoformat() if since else None

    def start() -> None:
        if not analyses_reanalyse_from_task.app.conf.task_always_eager:
            analyses_reanalyse_from_task.delay(since_text, 0, force, REANALYSE_BATCH_SIZE, then)
            return
        # In-process there is no queue to hand the next batch to: loop on the cursor here.
        cursor: int | None = 0
        while cursor is not None:
            cursor = analyses_reanalyse_from_task.apply(
                args=(since_text, cursor, force, REANALYSE_BATCH_SIZE, then)
            ).get()

    # Not deferred to a commit: the run reads committed analyses as it goes, nothing of the caller's.
    start()


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def stories_refresh_for_articles(article_ids: list[int]) -> list[int]:
    """Queue a refresh of each story these articles belong to (their analysis changed)."""
    story_ids = sorted(
        set(StoryMembership.objects.filter(article_id__in=article_ids).values_list("story_id", flat=True))
    )
    for story_id in story_ids:
        story_refresh_task.delay(story_id)
    return story_ids


def outlets_rating_changed(*, outlet_ids: list[int]) -> None:
    """The hook sources calls (NEWSROOM_RATING_CHANGED_HOOK) when outlets' effective lean moved:
    once the rating's transaction commits, their stories' coverage is recomputed on a worker."""
    transaction.on_commit(functools.partial(_send, stories_refresh_for_outlets.si(sorted(outlet_ids))))


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def stories_refresh_for_outlets(outlet_ids: list[int]) -> list[int]:
    """Queue a refresh of each story with an article of these outlets (their rating changed):
    the refresh recounts coverage by side and records the ratings it used."""
    story_ids = sorted(
        set(
            StoryMembership.objects.filter(article__outlet_id__in=outlet_ids)
            .values_list("story_id", flat=True)
            .distinct()
        )
    )
    for story_id in story_ids:
        story_coverage_refresh.delay(story_id)
    return story_ids


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def story_coverage_refresh(story_id: int) -> None:
    """Recompute a story's page data with its outlets' current ratings; membership is left alone
    (a rating says nothing about which articles belong together)."""
    story_refresh(story_id=story_id)
