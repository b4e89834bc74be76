"""The project's own Celery entry points: Celery beat's schedule and the feed poll, each handing
articles to the one pipeline entry point (``newsroom.pipeline.articles_process``)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from clustering.models import Cluster
from newsroom import pipeline
from sources.articles import articles_fetch_retry
from sources.feeds import feed_poll
from sources.models import Article, Feed

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=180, soft_time_limit=150)
def feed_poll_and_process(feed_id: int) -> list[int]:
    """Poll one feed; its new articles go down the pipeline."""
    new_ids = feed_poll(feed_id=feed_id)
    pipeline.articles_process(new_ids)
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
    """Hand the pipeline again the articles whose next stage has not run for a while (a lost message).

    Stuck means unchanged for NEWSROOM_SWEEP_STUCK_AFTER_SECONDS (or ``stuck_after_seconds``).
    Queuing one twice is harmless: every stage skips an article already past it.
    """
    seconds = settings.NEWSROOM_SWEEP_STUCK_AFTER_SECONDS if stuck_after_seconds is None else stuck_after_seconds
    cutoff = timezone.now() - timedelta(seconds=seconds)
    waiting = pipeline.messages_waiting()
    if waiting:
        # A backlog, not a loss: an article waiting behind thousands of others has not moved for a
        # while either, and queuing it again would only grow the queue. Lost messages are found
        # once the queues drain (the broker hands back a killed worker's messages on its own).
        logger.info("Sweep: %s messages still waiting in the pipeline's queues; stuck articles wait too", waiting)
        stuck: list[int] = []
    else:
        stuck = list(Article.objects.stuck(cutoff).values_list("pk", flat=True)[:1000])
    Article.objects.filter(pk__in=stuck).update(state_changed_at=timezone.now())
    # Through the entry point: articles that arrived with their text go in batches.
    pipeline.articles_process(stuck)
    # Pages that failed to fetch (a timeout, a 503) get another try after the same wait.
    retried = articles_fetch_retry(failed_before=cutoff)
    pipeline.articles_process(retried)
    # A cluster with no page yet, or one an article joined after its page's last refresh (lost).
    unrefreshed = (
        Cluster.objects.filter(
            Q(story__isnull=True, created_at__lt=cutoff)
            | Q(story__refreshed_at__isnull=True, created_at__lt=cutoff)
            | Q(memberships__joined_at__gt=F("story__refreshed_at"), memberships__joined_at__lt=cutoff)
        )
        .values_list("pk", flat=True)
        .distinct()[:1000]
    )
    for story_id in unrefreshed:
        pipeline.story_refresh_enqueue(story_id)
    if stuck or retried:
        logger.info("Re-queued %s stuck articles and %s failed fetches", len(stuck), len(retried))
    return len(stuck)
