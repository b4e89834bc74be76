"""The whole pipeline, wired in one place.

    feed poll / import / push / sweep ──> articles_process(ids), which picks each article's chain by its state:

    discovered:  fetch ─> analyse ─> cluster ─> recluster ─> refresh the story pages   (one article a chain)
    fetched:               analyse ─> cluster ─> recluster ─> refresh                   (batches: text arrived with it)
    analysed:                         cluster ─> recluster ─> refresh                   (batches)

Each stage is a thin Celery task in its app (``sources.tasks``, ``analysis.tasks``,
``clustering.tasks``, ``stories.tasks``) around a service; this module only builds the
chains and queues them, and the periodic and hook entry points in ``newsroom.tasks`` call
it. The database is the source of truth: every article records its state, so the sweep
finds work whose message was lost and hands it to ``articles_process`` again.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from celery import chain
from celery.canvas import Signature
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

from analysis.tasks import (
    analyses_reanalyse_from_task,
    article_analyse_task,
    articles_analyse_task,
    articles_reanalyse_task,
)
from clustering.tasks import article_cluster_task, articles_cluster_task, clusters_recluster_task
from sources.models import Article
from sources.tasks import article_fetch_task
from stories.tasks import (
    stories_refresh_for_articles_task,
    stories_refresh_for_outlets_task,
    stories_refresh_task,
    story_refresh_task,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 32


def article_chain(article_id: int) -> Signature:
    """A discovered article through every stage; each task hands the next the ids it needs."""
    return chain(
        article_fetch_task.si(article_id),
        article_analyse_task.s(),
        article_cluster_task.s(),
        clusters_recluster_task.s(),
        stories_refresh_task.s(),
    )


def batch_chain(article_ids: list[int]) -> Signature:
    """Articles that arrived with their text (imports, pushes): analysed as one batch, then clustered."""
    return chain(articles_analyse_task.si(article_ids), *_clustering_stages(article_ids))


def cluster_chain(article_ids: list[int]) -> Signature:
    """Analysed articles that wait for a story."""
    return chain(*_clustering_stages(article_ids))


def _clustering_stages(article_ids: list[int]) -> list[Signature]:
    # Every id of the batch, not only those the analysis step just wrote: a retried batch
    # whose analysis had already run still clusters its articles (the task skips the rest).
    return [articles_cluster_task.si(article_ids), clusters_recluster_task.s(), stories_refresh_task.s()]


def send(signature: Signature) -> bool:
    """Queue a chain; with the broker down, log and go on: the articles' state is in the database,
    and the sweep hands them to ``articles_process`` again once they have been stuck for a while."""
    try:
        signature.apply_async()
    except BrokerUnavailable:
        logger.exception("Broker unavailable; the sweep will queue these articles again")
        return False
    return True


PIPELINE_QUEUES = ("ingest", "analysis", "clustering")


def messages_waiting() -> int | None:
    """Messages waiting in the pipeline's queues (not those a worker holds); None without a broker
    or when the broker cannot say."""
    app = article_fetch_task.app
    if app.conf.task_always_eager:
        return None
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel
            return sum(channel.queue_declare(queue=name, passive=True).message_count for name in PIPELINE_QUEUES)
    except Exception:  # a queue never declared, the broker down: the caller goes on as if unknown
        logger.info("Could not count the messages waiting in the pipeline's queues", exc_info=True)
        return None


@dataclass
class Queued:
    """What ``articles_process`` queued, by the chain each article took."""

    fetch: list[int] = field(default_factory=list)
    analyse: list[int] = field(default_factory=list)
    cluster: list[int] = field(default_factory=list)
    # Already in a story, failed or a duplicate: nothing left to do.
    done: list[int] = field(default_factory=list)
    # Stored, but their chain could not be handed to the broker (filled when the transaction commits):
    # the sweep queues them again once they have been stuck for a while.
    unsent: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.fetch) + len(self.analyse) + len(self.cluster)


def articles_process(article_ids: Iterable[int]) -> Queued:
    """The one entry point: queue each article's remaining stages by its state, once the current
    transaction commits. Queuing an article twice is harmless: every stage skips an article
    already past it."""
    states = dict(Article.objects.filter(pk__in=list(article_ids)).order_by("pk").values_list("pk", "state"))
    queued = Queued()
    for article_id, state in states.items():
        match state:
            case Article.State.DISCOVERED:
                queued.fetch.append(article_id)
            case Article.State.FETCHED:
                queued.analyse.append(article_id)
            case Article.State.ANALYSED:
                queued.cluster.append(article_id)
            case _:
                queued.done.append(article_id)
    signatures = [(article_chain(article_id), [article_id]) for article_id in queued.fetch]
    signatures += [(batch_chain(batch), batch) for batch in _batches(queued.analyse)]
    signatures += [(cluster_chain(batch), batch) for batch in _batches(queued.cluster)]
    for signature, ids in signatures:
        transaction.on_commit(functools.partial(_send_recording, signature, ids, queued.unsent))
    return queued


def _send_recording(signature: Signature, article_ids: list[int], unsent: list[int]) -> None:
    if not send(signature):
        unsent.extend(article_ids)


def _batches(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]


# --- Re-analysis and rating changes: stories refreshed after the stage that changed -------------

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
    then = stories_refresh_for_articles_task.s()
    if article_ids is not None:
        for start in range(0, len(article_ids), REANALYSE_BATCH_SIZE):
            batch = article_ids[start : start + REANALYSE_BATCH_SIZE]
            transaction.on_commit(functools.partial(articles_reanalyse_task.delay, batch, force, then))
        return
    since_text = since.isoformat() if since else None

    def reanalyse() -> None:
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
    reanalyse()


def outlets_rating_changed(*, outlet_ids: list[int]) -> None:
    """The hook sources calls (NEWSROOM_RATING_CHANGED_HOOK) when outlets' effective lean moved:
    once the rating's transaction commits, their stories' coverage is recomputed on a worker."""
    transaction.on_commit(functools.partial(send, stories_refresh_for_outlets_task.si(sorted(outlet_ids))))


def story_refresh_enqueue(story_id: int) -> None:
    """A story's page rebuilt on a worker (the sweep's answer to a lost refresh)."""
    send(story_refresh_task.si(story_id))


def corpus_run_here(rows: Iterable[dict[str, Any]], *, skipped: Callable[[str], None]) -> tuple[list[int], float]:
    """Imports corpus rows (labels already stripped) and runs each batch of the new articles through the
    whole pipeline in this process, as the evaluation commands measure it. Returns the new articles' ids
    and the seconds the pipeline took (the models are loaded before the clock starts). A row the
    importer refuses is reported to ``skipped`` and left out."""
    from analysis.services import analyser
    from sources.articles import article_import
    from sources.importing import RowError, corpus_row_parse

    article_ids = []
    for row in rows:
        try:
            article, created = article_import(row=corpus_row_parse(row))
        except RowError as error:
            skipped(f"Skipped {row.get('url')}: {error}")
            continue
        if created:
            article_ids.append(article.pk)
    analyser()
    started = time.perf_counter()
    for start in range(0, len(article_ids), BATCH_SIZE):
        batch_chain(article_ids[start : start + BATCH_SIZE]).apply()
    return article_ids, time.perf_counter() - started
