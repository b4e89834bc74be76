"""The one entry point of the pipeline: each article takes the chain its state calls for, whoever
hands it over (feed poll, import, push, the sweep)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from celery.canvas import Signature
from django.core.management import call_command

from newsroom import pipeline
from sources.articles import article_discover
from sources.models import Article, Outlet
from stories.models import Story
from tests.conftest import LocalServer, Route, analysed_article_make, story_build, unit_vector
from tests.fixtures.pipeline_corpus import PAGES, page_html


def task_names(signature: Signature) -> list[str]:
    return [task.name.rsplit(".", 1)[-1] for task in signature.tasks]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Signature]:
    """What the entry point queues; nothing runs here."""
    chains: list[Signature] = []
    monkeypatch.setattr(pipeline, "send", lambda signature: chains.append(signature) or True)
    return chains


def test_it_picks_each_article_s_chain_by_its_state(
    left_outlet: Outlet, sent: list[Signature], django_capture_on_commit_callbacks: object
) -> None:
    discovered, _ = article_discover(outlet=left_outlet, url="https://leftledger.example/a", title="Only a title")
    fetched, _ = article_discover(
        outlet=left_outlet, url="https://leftledger.example/b", title="With text", text="Some text. " * 40
    )
    Article.objects.filter(pk=fetched.pk).update(state=Article.State.FETCHED)
    analysed = analysed_article_make(outlet=left_outlet, title="Analysed", vector=unit_vector(5))
    in_story = analysed_article_make(outlet=left_outlet, title="In a story", vector=unit_vector(6))
    story_build([in_story])

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        queued = pipeline.articles_process([discovered.pk, fetched.pk, analysed.pk, in_story.pk])

    assert (queued.fetch, queued.analyse, queued.cluster, queued.done) == (
        [discovered.pk],
        [fetched.pk],
        [analysed.pk],
        [in_story.pk],
    )
    assert [task_names(signature) for signature in sent] == [
        [
            "article_fetch_task",
            "article_analyse_task",
            "article_cluster_task",
            "clusters_recluster_task",
            "stories_refresh_task",
        ],
        ["articles_analyse_task", "articles_cluster_task", "clusters_recluster_task", "stories_refresh_task"],
        ["articles_cluster_task", "clusters_recluster_task", "stories_refresh_task"],
    ]


def test_it_queues_nothing_for_an_unknown_id(sent: list[Signature], db: None) -> None:
    assert pipeline.articles_process([999_999]).count == 0
    assert sent == []


@pytest.mark.models
@pytest.mark.django_db(transaction=True)
def test_an_imported_title_only_row_ends_in_a_story_without_the_sweep(
    local_server: LocalServer, tmp_path: Path
) -> None:
    """A corpus row with a URL and a title but no text is fetched first, then analysed and clustered."""
    page = PAGES[0]
    local_server.routes[f"/left/{page.slug}"] = Route(
        body=page_html(page), headers={"Content-Type": "text/html; charset=utf-8"}
    )
    corpus = tmp_path / "title-only.jsonl"
    row = {"url": local_server.url(f"/left/{page.slug}"), "outlet": "Tessel Valley Voice", "title": page.title}
    corpus.write_text(json.dumps(row) + "\n", encoding="utf-8")
    out = StringIO()

    call_command("import_articles", str(corpus), stdout=out)

    article = Article.objects.get()
    assert article.state == Article.State.CLUSTERED, article.last_error
    assert "Glenmoor Bridge" in article.text
    story = Story.objects.get(cluster__memberships__article=article)
    assert story.title == page.title
    assert "1 of 1 articles analysed and in a story" in out.getvalue()
