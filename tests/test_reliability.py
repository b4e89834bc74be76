"""The database is the source of truth: a worker killed in the middle of the pipeline loses nothing.

A real worker process is killed (SIGKILL) while articles are between stages, the broker's
queues are emptied (the messages are lost, as with a broker restarted without persistence),
and a fresh worker plus the periodic sweep bring every article to the end of the pipeline,
analysed once and in exactly one story. Runs where CELERY_BROKER_URL is set and the
database is PostgreSQL, like tests/test_worker.py; the light tests below run everywhere.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from celery.canvas import Signature, _chain
from django.conf import settings
from django.db.models import F, Q
from kombu.exceptions import OperationalError
from pytest_django.fixtures import Settings

from analysis.models import ArticleAnalysis
from clustering.models import Membership
from newsroom import tasks
from newsroom.celery import app as celery_app
from sources.articles import article_discover, article_fetch
from sources.models import Article, Feed, Outlet
from stories.models import Story
from tests.conftest import STORY_TIME, LocalServer, Route
from tests.test_feeds import FARE_ITEMS, rss_feed

ROOT = Path(__file__).resolve().parent.parent
QUEUES = ["ingest", "analysis", "clustering"]
needs_worker = [
    pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs a broker: set CELERY_BROKER_URL"),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="the worker process must open the test database: set DATABASE_URL to PostgreSQL",
    ),
]


# --- Without a worker: a broker outage leaves the articles to the sweep ------------------------


def test_a_broker_outage_while_polling_loses_no_article(
    left_outlet: Outlet,
    local_server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    clock: time_machine.Coordinates,
) -> None:
    clock.move_to(STORY_TIME, tick=False)
    feed = Feed.objects.create(outlet=left_outlet, url=local_server.url("/feed.xml"))
    local_server.routes["/feed.xml"] = Route(
        body=rss_feed(*FARE_ITEMS), headers={"Content-Type": "application/rss+xml"}
    )
    sent: list[Signature] = []

    def broker_down(self: Signature, *args: object, **kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(_chain, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        new_ids = tasks.feed_poll_and_process.apply(args=[feed.pk]).get()

    assert len(callbacks) == 2, "each article's chain was offered to the broker, which refused it"

    assert len(new_ids) == 2
    assert set(Article.objects.values_list("state", flat=True)) == {Article.State.DISCOVERED}

    # The broker is back; the sweep finds the articles in the database and queues them again.
    monkeypatch.setattr(_chain, "apply_async", lambda self, *args, **kwargs: sent.append(self))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.articles_sweep(stuck_after_seconds=3600) == 0, "not stuck yet"
        clock.shift(3601)
        assert tasks.articles_sweep(stuck_after_seconds=3600) == 2
    assert sorted(signature.tasks[0].args[0] for signature in sent) == sorted(new_ids)


def test_the_sweep_tries_a_failed_fetch_again_a_few_times(
    left_outlet: Outlet,
    local_server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.NEWSROOM_ARTICLE_FETCH_ATTEMPTS = 2
    local_server.routes["/busy"] = Route(status=503, headers={"Content-Type": "text/html"})
    article, _created = article_discover(outlet=left_outlet, url=local_server.url("/busy"))
    imported, _created = article_discover(
        outlet=left_outlet, url="https://leftledger.example/imported", text="Imported with its text."
    )
    Article.objects.filter(pk=imported.pk).update(state=Article.State.FAILED)  # failed later, in analysis
    sent: list[Signature] = []
    monkeypatch.setattr(_chain, "apply_async", lambda self, *args, **kwargs: sent.append(self))

    assert article_fetch(article_id=article.pk).state == Article.State.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        tasks.articles_sweep(stuck_after_seconds=0)
    article.refresh_from_db()
    assert article.state == Article.State.DISCOVERED
    assert [signature.tasks[0].args[0] for signature in sent] == [article.pk]

    assert article_fetch(article_id=article.pk).attempts == 2
    with django_capture_on_commit_callbacks(execute=True):
        tasks.articles_sweep(stuck_after_seconds=0)
    article.refresh_from_db()
    assert article.state == Article.State.FAILED, "two attempts in all, then it stays failed with its error"
    assert article.last_error.startswith("HTTP 503 from")
    assert len(sent) == 1


# --- With a real worker, killed mid-pipeline ----------------------------------------------------


def worker_start(log: Path, **extra_env: str) -> subprocess.Popen[bytes]:
    from tests.test_worker import worker_database_url

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings.test",
        "DATABASE_URL": worker_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **extra_env,
    }
    command = [sys.executable, "-m", "celery", "-A", "newsroom", "worker", "-Q", ",".join(QUEUES)]
    command += ["--concurrency=1", "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen([*command, "--loglevel=INFO", f"--logfile={log}"], cwd=ROOT, env=env)


def queues_purge() -> None:
    """Drop every message waiting in the pipeline's queues: the broker lost them."""
    with celery_app.connection_for_write() as connection:
        for queue in QUEUES:
            try:
                connection.default_channel.queue_purge(queue)
            except Exception:  # a queue the broker never declared has nothing to lose
                connection.close()
                connection.connect()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    queues_purge()
    celery_app.conf.task_always_eager = False
    try:
        yield started
    finally:
        celery_app.conf.task_always_eager = True
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        queues_purge()


@pytest.mark.models
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("_marks", [pytest.param(None, marks=needs_worker, id="killed-worker")])
def test_a_worker_killed_mid_pipeline_loses_nothing_and_repeats_nothing(
    _marks: None, local_server: LocalServer, workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    from tests.fixtures.pipeline_corpus import PAGES
    from tests.test_pipeline import serve_corpus

    serve_corpus(local_server)
    first = worker_start(tmp_path / "first.log")
    workers.append(first)
    for feed_id in Feed.objects.values_list("pk", flat=True):
        tasks.feed_poll_and_process.delay(feed_id)

    # Kill it once an article waits between stages (the worker is loading the models to analyse it).
    deadline = time.monotonic() + 180
    while not Article.objects.filter(state=Article.State.FETCHED).exists():
        assert first.poll() is None, "the first worker exited"
        assert time.monotonic() < deadline, "no article was fetched in time"
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    states = dict(Article.objects.values_list("pk", "state"))
    assert Article.State.CLUSTERED not in states.values(), f"killed too late to show anything: {states}"
    queues_purge()

    second = worker_start(tmp_path / "second.log")
    workers.append(second)
    deadline = time.monotonic() + 300
    sweeps, last_sweep = 0, time.monotonic()
    while True:
        assert second.poll() is None, "the second worker exited"
        # What Celery beat does on its schedule: poll the feeds that are due, sweep what is stuck.
        if sweeps == 0 or time.monotonic() > last_sweep + 20:
            tasks.feeds_poll_due()
            tasks.articles_sweep(stuck_after_seconds=0 if sweeps == 0 else 15)
            sweeps, last_sweep = sweeps + 1, time.monotonic()
        clustered = Article.objects.filter(state=Article.State.CLUSTERED).count()
        stale = Story.objects.filter(
            Q(refreshed_at__isnull=True) | Q(cluster__memberships__joined_at__gt=F("refreshed_at"))
        ).exists()
        if clustered == len(PAGES) and not stale:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"not every article finished: {list(Article.objects.values_list('state', 'last_error'))}")
        time.sleep(0.5)

    # Every article once: one analysis and one story membership each, and two stories in all.
    assert Article.objects.count() == len(PAGES)
    assert ArticleAnalysis.objects.count() == len(PAGES)
    assert Membership.objects.count() == len(PAGES)
    assert sorted(Story.objects.values_list("article_count", flat=True)) == [2, 3]
    bridge = Story.objects.get(cluster__memberships__article__title__startswith="Glenmoor Bridge closed")
    assert (bridge.left_count, bridge.center_count, bridge.right_count) == (1, 1, 0)


@pytest.mark.models
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("_marks", [pytest.param(None, marks=needs_worker, id="killed-mid-batch")])
def test_a_batch_whose_worker_was_killed_runs_again_without_the_sweep(
    _marks: None, workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Nothing purged this time: the broker itself hands the killed worker's message to the next
    worker (at once on RabbitMQ; on Redis after the visibility timeout, short here)."""
    from tests.conftest import outlet_make
    from tests.fixtures.pipeline_corpus import PAGES

    outlets = {
        "left": outlet_make("Tessel Valley Voice", "lean_left", domain="voice.example"),
        "center": outlet_make("County Record", "center", domain="record.example"),
        "right": outlet_make("Harwick Herald", "right", domain="herald.example"),
    }
    ids = [
        article_discover(
            outlet=outlets[page.outlet],
            url=f"https://{outlets[page.outlet].domains.get().domain}/{page.slug}",
            title=page.title,
            text="\n\n".join(page.paragraphs),
            published_at=STORY_TIME,
        )[0].pk
        for page in PAGES
    ]
    assert set(Article.objects.values_list("state", flat=True)) == {Article.State.FETCHED}
    first_log = tmp_path / "first.log"
    first = worker_start(first_log, NEWSROOM_TASK_VISIBILITY_SECONDS="5")
    workers.append(first)

    tasks.pipeline.articles_process(ids)  # one batch: every article arrived with its text

    # Kill it as soon as it has taken the batch (it is loading the models to analyse it).
    deadline = time.monotonic() + 120
    while "articles_analyse_task[" not in (first_log.read_text() if first_log.exists() else ""):
        assert first.poll() is None, "the first worker exited"
        assert time.monotonic() < deadline, "the worker never took the batch"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert ArticleAnalysis.objects.count() == 0, "killed too late: the batch had already been analysed"

    second = worker_start(tmp_path / "second.log", NEWSROOM_TASK_VISIBILITY_SECONDS="5")
    workers.append(second)
    deadline = time.monotonic() + 300
    while Article.objects.filter(state=Article.State.CLUSTERED).count() < len(PAGES):
        assert second.poll() is None, "the second worker exited"
        if time.monotonic() > deadline:
            pytest.fail(f"the batch was not run again: {list(Article.objects.values_list('state', flat=True))}")
        time.sleep(0.5)

    assert ArticleAnalysis.objects.count() == len(PAGES)
    assert Membership.objects.count() == len(PAGES)


def test_the_sweep_leaves_a_backlog_alone(
    left_outlet: Outlet,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    clock: time_machine.Coordinates,
) -> None:
    article, _created = article_discover(
        outlet=left_outlet, url="https://leftledger.example/waiting", text="Imported with its text."
    )
    sent: list[Signature] = []
    monkeypatch.setattr(_chain, "apply_async", lambda self, *args, **kwargs: sent.append(self))
    clock.shift(7200)

    monkeypatch.setattr(tasks.pipeline, "messages_waiting", lambda: 5000)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.articles_sweep() == 0, "5,000 messages wait: the article is in the backlog, not lost"
    assert sent == []

    monkeypatch.setattr(tasks.pipeline, "messages_waiting", lambda: 0)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.articles_sweep() == 1
    assert [signature.tasks[0].args[0] for signature in sent] == [[article.pk]]
