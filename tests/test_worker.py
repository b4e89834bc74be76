"""The same pipeline through a real Celery worker process and the configured broker.

Runs where CELERY_BROKER_URL is set and the database is one a second process can
open (PostgreSQL); CI sets both. The test starts the worker and stops it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F, Max, Q

from clustering.models import Cluster
from newsroom.celery import app as celery_app
from newsroom.tasks import feed_poll_and_process
from sources.models import Article, Feed
from stories.models import Story
from tests.conftest import LocalServer
from tests.fixtures.pipeline_corpus import PAGES
from tests.test_pipeline import serve_corpus

pytestmark = [
    pytest.mark.models,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs a broker: set CELERY_BROKER_URL"),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="the worker process must open the test database: set DATABASE_URL to PostgreSQL",
    ),
]

ROOT = Path(__file__).resolve().parent.parent
QUEUES = "ingest,analysis,clustering"


def worker_database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    return f"postgres://{credentials}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def worker_log(tmp_path: Path) -> Path:
    return tmp_path / "worker.log"


@pytest.fixture
def worker(worker_log: Path) -> Iterator[subprocess.Popen[bytes]]:
    celery_app.control.purge()  # messages left by an earlier, interrupted run
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings.test",
        "DATABASE_URL": worker_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "newsroom",
            "worker",
            "-Q",
            QUEUES,
            "--concurrency=1",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            f"--logfile={worker_log}",
        ],
        cwd=ROOT,
        env=env,
    )
    celery_app.conf.task_always_eager = False
    try:
        yield process
    finally:
        celery_app.conf.task_always_eager = True
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_it_runs_the_pipeline_on_a_worker(
    local_server: LocalServer, worker: subprocess.Popen[bytes], worker_log: Path
) -> None:
    serve_corpus(local_server)

    for feed in Feed.objects.all():
        # Queued, not run here: the worker process polls, fetches, analyses and clusters.
        feed_poll_and_process.delay(feed.pk)

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker exited"
        clustered = Article.objects.filter(state=Article.State.CLUSTERED).count()
        # Settled: every article clustered, and every cluster's story built and refreshed since its last
        # member joined (a story's refresh is a task of its own, which may still be queued after the
        # join: a cluster whose story is not built yet counts too, or the loop can stop with one story
        # of two, as it once did on RabbitMQ).
        stale = (
            Cluster.objects.annotate(last_join=Max("memberships__joined_at"))
            .filter(last_join__isnull=False)
            .filter(
                Q(story__isnull=True) | Q(story__refreshed_at__isnull=True) | Q(story__refreshed_at__lt=F("last_join"))
            )
        )
        if clustered == len(PAGES) and Story.objects.exists() and not stale.exists():
            break
        time.sleep(1)
    else:
        states = list(Article.objects.values_list("state", "last_error"))
        pytest.fail(f"the worker did not finish the pipeline in time: {states}")

    log = worker_log.read_text()
    for task in [
        "feed_poll_and_process",
        "article_fetch_task",
        "article_analyse_task",
        "article_cluster_task",
        "stories_refresh_task",
    ]:
        assert re.search(rf"{task}\[[^\]]+\] succeeded", log), f"{task} did not run on the worker"
    titles = sorted(Story.objects.values_list("title", flat=True))
    assert len(titles) == 2, f"expected the bridge and the council stories, got {titles}"
    bridge = Story.objects.get(cluster__memberships__article__title__startswith="Glenmoor Bridge closed")
    assert (bridge.left_count, bridge.center_count, bridge.right_count) == (1, 1, 0)
    assert not bridge.viewpoints.get(side="right").is_available
    assert Story.objects.get(cluster__memberships__article__title__startswith="Oakdale council cuts").right_count == 1
