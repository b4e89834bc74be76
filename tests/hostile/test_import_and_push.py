"""Issue 19, import and push: every bad row or item is refused with its line or index and reason,
and the good ones are kept and processed."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from celery.canvas import Signature, _chain
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from kombu.exceptions import OperationalError
from pytest_django.fixtures import Settings

from sources.models import Article, Outlet
from tests.test_importing import command_run, corpus_row, enqueued, jsonl_write  # noqa: F401 - the fixture
from tests.test_push_api import partner, push, queued  # noqa: F401 - the fixtures

FAR_FUTURE = "9999-12-31T23:59:59-14:00"
FAR_PAST = "0001-01-01T00:00:00+14:00"


def test_import_refuses_each_bad_row_with_its_line_and_keeps_the_rest(
    tmp_path: Path,
    db: None,
    enqueued: Any,  # noqa: F811 - the fixture imported above
) -> None:
    path = tmp_path / "corpus.jsonl"
    rows = [
        json.dumps(corpus_row("good-one")).encode(),
        json.dumps(corpus_row("bracket", url="http://[x/")).encode(),
        json.dumps(corpus_row("future", published_at=FAR_FUTURE)).encode(),
        json.dumps(corpus_row("past", published_at=FAR_PAST)).encode(),
        b'{"url": "https://riverton-times.example/latin1", "title": "Caf\xe9 closes"}',
        json.dumps(corpus_row("nul", title="Water\u0000board")).encode(),
        json.dumps(corpus_row("good-two")).encode(),
    ]
    path.write_bytes(b"\n".join(rows) + b"\n")

    run = command_run("import_articles", path, rejects=True)

    kept = set(Article.objects.values_list("title", flat=True))
    assert {"Council story good-one", "Council story good-two", "Waterboard"} <= kept
    assert "Articles: 3 new, 0 already known, 4 rejected." in run.stdout, run.stdout + run.stderr
    for line in (2, 3, 4, 5):
        assert f"line {line}" in run.stderr, run.stderr
    assert "not UTF-8 text" in run.stderr
    queued_ids = [article_id for batch in enqueued.batches for article_id in batch]
    assert sorted(queued_ids) == sorted(Article.objects.values_list("pk", flat=True))


def test_push_refuses_each_bad_item_alone_and_keeps_the_good_ones(
    client: Client,
    partner: User,  # noqa: F811 - the fixtures imported above
    left_outlet: Outlet,
    queued: dict[str, list[int]],  # noqa: F811
) -> None:
    good = {"url": "https://leftledger.example/good", "outlet_domain": "leftledger.example", "title": "Good"}
    long_host = f"{'h' * 60}.{'i' * 60}.{'j' * 60}.{'k' * 20}.example"  # 211 characters, each label legal
    response = push(
        client,
        partner,
        {
            "articles": [
                good,
                {**good, "url": "http://[x/", "title": "Bracket"},
                {**good, "url": "https://leftledger.example/future", "published_at": FAR_FUTURE},
                {**good, "url": "https://leftledger.example/past", "published_at": FAR_PAST},
                {**good, "url": "https://leftledger.example/nul", "title": "Nul\u0000title", "text": "Te\u0000xt"},
                {"url": f"https://{'h' * 60}.{'o' * 60}.{'s' * 60}.{'t' * 60}.{'x' * 55}.example/a", "title": "Long"},
                {"url": f"https://{long_host}/long", "title": "Named by its host"},
            ]
        },
    )

    assert response.status_code == 200, response.content
    statuses = [item["status"] for item in response.json()["items"]]
    assert statuses[0] == "created"
    assert statuses[1] == "rejected"
    assert Article.objects.filter(url="https://leftledger.example/good").exists()
    assert Article.objects.filter(title="Nultitle").exists()
    assert statuses[5] == "rejected"
    assert "longer than DNS allows" in response.json()["items"][5]["reason"]
    assert statuses[6] == "created", response.json()["items"][6]
    assert len(Article.objects.get(title="Named by its host").outlet.name) == 200, "the host, cut to the longest name"
    for item in response.json()["items"]:
        if item["status"] == "rejected":
            assert item["reason"], item


def test_import_with_the_broker_down_says_nothing_was_queued_and_a_rerun_queues_it(
    # Committed as the command commits, so the chains are offered to the broker as they would be.
    tmp_path: Path,
    transactional_db: None,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    path = jsonl_write(tmp_path / "corpus.jsonl", [corpus_row("one"), corpus_row("two")])

    def broker_down(self: Signature, *args: object, **kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(_chain, "apply_async", broker_down)
    stdout, stderr = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"2 article\(s\) stored but not queued: the broker is unavailable"):
        call_command("import_articles", str(path), stdout=stdout, stderr=stderr)

    assert "queued for the workers" not in stdout.getvalue()
    assert "2 articles stored but not queued" in stderr.getvalue()
    assert Article.objects.filter(state=Article.State.FETCHED).count() == 2, "kept, waiting for the sweep"

    # The broker is back: the same import finds them known and queues what they still lack.
    sent: list[Signature] = []
    monkeypatch.setattr(_chain, "apply_async", lambda self, *args, **kwargs: sent.append(self))
    run = command_run("import_articles", path)

    assert "Articles: 0 new, 2 already known, 0 rejected." in run.stdout
    assert "Pipeline: 2 articles queued for the workers." in run.stdout
    assert sorted(sent[0].tasks[0].args[0]) == sorted(Article.objects.values_list("pk", flat=True))


def test_import_outlets_refuses_each_bad_row_with_its_line_and_keeps_the_rest(tmp_path: Path, db: None) -> None:
    path = tmp_path / "outlets.csv"
    long_feed = "https://example.org/" + "a" * 2100
    path.write_bytes(
        b"\n".join(
            [
                b"name,domain,lean,feeds",
                b"Harbor Herald,harborherald.example,lean_left,https://harborherald.example/rss",
                b"Bracket Post,bracketpost.example,center,http://[x/",
                f"Long Feed Times,longfeed.example,center,{long_feed}".encode(),
                b"Nul\x00 Gazette,nulgazette.example,right,",
                b"Caf\xe9 Courier,cafecourier.example,left,",
                b"Plains Post,plainspost.example,right,https://plainspost.example/feed",
            ]
        )
        + b"\n"
    )

    run = command_run("import_outlets", path, rejects=True)

    assert "Outlets: 3 created, 0 updated, 3 rejected." in run.stdout, run.stdout + run.stderr
    assert "Rejected line 3: 'feeds' must be an http(s) URL, got 'http://[x/'" in run.stderr
    assert "Rejected line 4: 'feeds' is longer than 2000 characters" in run.stderr
    assert "Rejected line 6: not UTF-8 text" in run.stderr
    assert set(Outlet.objects.values_list("name", flat=True)) == {"Harbor Herald", "Nul Gazette", "Plains Post"}
    assert run.error == "3 row(s) rejected (listed above); the others were imported."
