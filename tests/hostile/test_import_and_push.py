"""Issue 19, import and push: every bad row or item is refused with its line or index and reason,
and the good ones are kept and processed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from sources.models import Article, Outlet
from tests.test_importing import command_run, corpus_row, enqueued  # noqa: F401 - the fixture
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
            ]
        },
    )

    assert response.status_code == 200, response.content
    statuses = [item["status"] for item in response.json()["items"]]
    assert statuses[0] == "created"
    assert statuses[1] == "rejected"
    assert Article.objects.filter(url="https://leftledger.example/good").exists()
    assert Article.objects.filter(title="Nultitle").exists()
    for item in response.json()["items"]:
        if item["status"] == "rejected":
            assert item["reason"], item
