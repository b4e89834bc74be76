"""Thin Celery entry points of the analysis stage; they run on the ``analysis`` queue."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from celery import Task, shared_task, signature
from celery.signals import worker_ready

from analysis import services
from sources.models import Article

logger = logging.getLogger(__name__)

# Pools whose tasks run in the worker's main process: models loaded there at start serve every task.
IN_PROCESS_POOLS = {"celery.concurrency.solo", "celery.concurrency.thread"}


@worker_ready.connect
def analyser_preload(sender: Any = None, **kwargs: Any) -> None:
    """Load the models when a worker that consumes the analysis queue starts, not in its first task:
    the first batch then waits for no model, and the worker answers pings once it can analyse.
    A prefork pool's children load on first use (loading in the parent would be copied, unused)."""
    try:
        queues = {queue.name for queue in sender.task_consumer.queues}
        pool_module = type(sender.pool).__module__
    except AttributeError:
        return
    if "analysis" in queues and pool_module in IN_PROCESS_POOLS:
        services.analyser()
        logger.info("Analysis models loaded: %s", services.analyser().versions())


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def article_analyse_task(article_id: int | None) -> int | None:
    """Returns the article id for the next stage, or None when there is nothing to pass on."""
    if article_id is None:
        return None
    services.articles_analyse(article_ids=[article_id])
    # Already analysed counts too: a retried chain must still reach clustering.
    if Article.objects.filter(pk=article_id, state__in=[Article.State.ANALYSED, Article.State.CLUSTERED]).exists():
        return article_id
    return None


# Within the broker's visibility timeout (NEWSROOM_TASK_VISIBILITY_SECONDS): a batch of 32 takes seconds.
@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def articles_analyse_task(article_ids: list[int]) -> list[int]:
    return services.articles_analyse(article_ids=article_ids)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def articles_reanalyse_task(
    article_ids: list[int], force: bool = False, then: dict[str, Any] | None = None
) -> list[int]:
    """Re-analyse a batch; ``then`` (a signature the pipeline passes) receives the ids rewritten."""
    rewritten = services.articles_reanalyse(article_ids=article_ids, force=force)
    if then is not None and rewritten:
        signature(then).delay(rewritten)
    return rewritten


@shared_task(bind=True, acks_late=True, time_limit=600, soft_time_limit=540)
def analyses_reanalyse_from_task(
    self: Task,
    since: str | None,
    after_id: int = 0,
    force: bool = False,
    batch_size: int = 32,
    then: dict[str, Any] | None = None,
) -> int | None:
    """One batch of a re-analysis run, then the next batch queued behind whatever arrived meanwhile.

    Only one batch of a run waits in the analysis queue at a time, so articles ingested
    during a long re-analysis are analysed within a batch's time, not after the whole
    backlog. Returns the cursor (the last article id done), None when the run is over.
    In-process (no broker) the caller loops on the cursor instead of recursing.
    """
    since_at = datetime.fromisoformat(since) if since else None
    article_ids = services.analyses_stale(since=since_at, after_id=after_id, force=force, limit=batch_size)
    if not article_ids:
        return None
    articles_reanalyse_task(article_ids, force, then)
    cursor = article_ids[-1]
    if not self.request.is_eager:
        analyses_reanalyse_from_task.delay(since, cursor, force, batch_size, then)
    return cursor
