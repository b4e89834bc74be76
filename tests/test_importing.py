"""Importing outlets and articles: bad rows reported by line number, good rows kept, re-imports idempotent."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.fixtures import Settings

from newsroom import pipeline
from sources.importing import RowError, corpus_row_parse, outlet_row_parse, read_records
from sources.models import Article, Factuality, Feed, Lean, Outlet, OutletRating


@dataclass
class EnqueueRecorder:
    """Stands in for the pipeline: the tests here are about import, not analysis."""

    batches: list[list[int]] = field(default_factory=list)

    def __call__(self, article_ids: list[int]) -> pipeline.Queued:
        self.batches.append(list(article_ids))
        return pipeline.Queued(analyse=list(article_ids))


@dataclass
class CommandRun:
    stdout: str
    stderr: str
    # What the command failed with (its exit status is then 1): rows rejected, say.
    error: str = ""


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> EnqueueRecorder:
    recorder = EnqueueRecorder()
    monkeypatch.setattr(pipeline, "articles_process", recorder)
    # As with a broker: the command queues the work and returns, and never loads the models in-process.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    return recorder


def command_run(name: str, path: Path, *, rejects: bool = False) -> CommandRun:
    """Run a command; with ``rejects`` it must end in the error that says rows were rejected."""
    stdout, stderr = StringIO(), StringIO()
    if not rejects:
        call_command(name, str(path), stdout=stdout, stderr=stderr)
        return CommandRun(stdout=stdout.getvalue(), stderr=stderr.getvalue())
    with pytest.raises(CommandError, match="rejected") as raised:
        call_command(name, str(path), stdout=stdout, stderr=stderr)
    return CommandRun(stdout=stdout.getvalue(), stderr=stderr.getvalue(), error=str(raised.value))


def jsonl_write(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    """One line per row: dicts are encoded, strings written as they are (to make bad lines)."""
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def corpus_row(slug: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "url": f"https://riverton-times.example/2026/11/{slug}",
        "outlet": "Riverton Times",
        "outlet_domain": "riverton-times.example",
        "title": f"Council story {slug}",
        "text": f"The council met on Tuesday about {slug}. It voted to approve the plan.",
        "published_at": "2026-11-18T09:00:00Z",
        "language": "en",
    }
    row.update(overrides)
    return row


# --- Articles ---------------------------------------------------------------


def test_it_reports_bad_rows_with_their_line_numbers_and_keeps_the_good_ones(
    db: None, tmp_path: Path, enqueued: EnqueueRecorder
) -> None:
    path = jsonl_write(
        tmp_path / "corpus.jsonl",
        [
            corpus_row("first"),  # line 1
            '{"url": "https://riverton-times.example/broken", "title": ',  # line 2: not JSON
            "",  # line 3: blank, skipped but still counted
            {"title": "No address", "text": "Some text."},  # line 4
            corpus_row("ftp", url="ftp://riverton-times.example/file.txt"),  # line 5
            corpus_row("when", published_at="next Tuesday"),  # line 6
            '["a", "list"]',  # line 7: not an object
            corpus_row("last"),  # line 8
        ],
    )

    run = command_run("import_articles", path, rejects=True)

    assert run.error == "5 row(s) rejected (listed above); the others were imported."
    rejected_lines = [line for line in run.stderr.splitlines() if line.startswith("Rejected")]
    assert rejected_lines == [
        rejected_lines[0],
        "Rejected line 4: 'url' is required",
        "Rejected line 5: 'url' must be an http(s) URL, got 'ftp://riverton-times.example/file.txt'",
        "Rejected line 6: 'published_at' is not an ISO 8601 date: 'next Tuesday'",
        "Rejected line 7: expected a JSON object",
    ]
    assert rejected_lines[0].startswith("Rejected line 2: not valid JSON")
    assert "Articles: 2 new, 0 already known, 5 rejected." in run.stdout
    assert "Pipeline: 2 articles queued for the workers." in run.stdout
    kept = Article.objects.order_by("pk")
    assert [article.title for article in kept] == ["Council story first", "Council story last"]
    assert enqueued.batches == [[article.pk for article in kept]]


def test_it_keeps_the_text_date_and_language_of_an_imported_article(
    db: None, tmp_path: Path, enqueued: EnqueueRecorder
) -> None:
    path = jsonl_write(tmp_path / "corpus.jsonl", [corpus_row("dates", published_at="2026-11-18", language="EN")])

    command_run("import_articles", path)

    article = Article.objects.get()
    # Text arrived with the row, so the article skips fetching and waits for analysis.
    assert article.state == Article.State.FETCHED
    assert article.text.startswith("The council met on Tuesday")
    assert article.published_at == datetime(2026, 11, 18, tzinfo=UTC)
    assert article.language == "en"


def test_it_ignores_gold_labels_and_unknown_keys(db: None, tmp_path: Path, enqueued: EnqueueRecorder) -> None:
    path = jsonl_write(
        tmp_path / "corpus.jsonl",
        [corpus_row("gold", gold_story=17, gold_lean={"label": "left"}, shares=1200, author=["A. Writer"])],
    )

    run = command_run("import_articles", path)

    assert run.stderr == ""
    assert "1 new, 0 already known, 0 rejected" in run.stdout
    assert Article.objects.get().title == "Council story gold"


def test_it_matches_outlets_by_domain_then_name_and_creates_unknown_ones_unrated(
    tmp_path: Path, center_outlet: Outlet, enqueued: EnqueueRecorder
) -> None:
    path = jsonl_write(
        tmp_path / "corpus.jsonl",
        [
            # The domain is known (the www. prefix does not matter), whatever the row calls the outlet.
            corpus_row("by-domain", outlet="The Courier (syndicated)", outlet_domain="www.centercourier.example"),
            # An unknown domain, but the name matches (in any case): the domain joins the outlet.
            corpus_row(
                "by-name",
                url="https://courier-mirror.example/2026/11/by-name",
                outlet="CENTER COURIER",
                outlet_domain="courier-mirror.example",
            ),
            corpus_row("unknown", url="https://brandnew.example/a", outlet="Brand New Daily", outlet_domain=""),
        ],
    )
    outlets_before = Outlet.objects.count()

    command_run("import_articles", path)

    by_title = {article.title: article.outlet for article in Article.objects.select_related("outlet")}
    assert by_title["Council story by-domain"] == center_outlet
    assert by_title["Council story by-name"] == center_outlet
    assert set(center_outlet.domains.values_list("domain", flat=True)) == {
        "centercourier.example",
        "courier-mirror.example",
    }
    created = by_title["Council story unknown"]
    assert Outlet.objects.count() == outlets_before + 1
    assert created.name == "Brand New Daily"
    assert list(created.domains.values_list("domain", flat=True)) == ["brandnew.example"]
    assert created.lean == ""
    assert not created.ratings.exists()


def test_it_creates_nothing_when_the_same_file_is_imported_twice(
    db: None, tmp_path: Path, enqueued: EnqueueRecorder
) -> None:
    path = jsonl_write(
        tmp_path / "corpus.jsonl",
        [
            corpus_row("one"),
            # The same article again, behind tracking parameters: one article per canonical URL.
            corpus_row("one", url="https://riverton-times.example/2026/11/one?utm_source=newsletter"),
            corpus_row("two"),
        ],
    )
    first = command_run("import_articles", path)
    articles, outlets = Article.objects.count(), Outlet.objects.count()

    second = command_run("import_articles", path)

    assert "2 new, 1 already known, 0 rejected" in first.stdout
    assert "0 new, 3 already known, 0 rejected" in second.stdout
    assert (Article.objects.count(), Outlet.objects.count()) == (articles, outlets) == (2, 1)
    # Known articles go back to the pipeline's entry point, which queues only what they still lack
    # (nothing, once they are in a story): an import cut short by a broker outage is finished so.
    ids = sorted(Article.objects.values_list("pk", flat=True))
    assert [sorted(batch) for batch in enqueued.batches] == [ids, ids]


def test_it_refuses_to_import_a_missing_file(db: None, tmp_path: Path, enqueued: EnqueueRecorder) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        command_run("import_articles", tmp_path / "nowhere.jsonl")
    assert enqueued.batches == []


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"url": 42, "title": "x"}, "'url' must be a string"),
        ({"url": "https://a.example/x"}, "a row needs a 'title' or a 'text'"),
        ({"url": "https:///no-host", "title": "x"}, "'url' must be an http(s) URL"),
        ({"url": "https://a.example/x", "title": "x", "published_at": 20261118}, "'published_at' must be an ISO"),
        ({"url": "https://a.example/x", "title": "x", "published_at": "2026-13-45"}, "not an ISO 8601 date"),
    ],
)
def test_it_explains_why_a_corpus_row_is_rejected(record: dict[str, object], reason: str) -> None:
    with pytest.raises(RowError, match=re.escape(reason)):
        corpus_row_parse(record)


# --- Outlets ----------------------------------------------------------------


HARBOR_FEEDS = "https://harborherald.example/rss https://harborherald.example/politics.rss"
OUTLETS_CSV = f"""name,domain,lean,factuality,country,feeds,rated_by,rated_at,note
Harbor Herald,www.harborherald.example,Lean Left,Mostly factual,us,{HARBOR_FEEDS},Chart v3,2026-10-01,From the chart
Plains Post,plainspost.example,right,high,US,,Chart v3,2026-10-01,
Middle Road,middleroad.example,far-left,high,US,,Chart v3,2026-10-01,
Summit Signal,summitsignal.example,center,,US,,,,
"""


def test_it_imports_outlets_from_csv_with_feeds_and_ratings(db: None, tmp_path: Path) -> None:
    path = tmp_path / "outlets.csv"
    path.write_text(OUTLETS_CSV, encoding="utf-8")

    run = command_run("import_outlets", path, rejects=True)

    assert "Outlets: 3 created, 0 updated, 1 rejected." in run.stdout
    # The header is line 1, so the third outlet is on line 4.
    assert "Rejected line 4: 'lean' must be one of left, lean_left, center, lean_right, right" in run.stderr
    assert not Outlet.objects.filter(name="Middle Road").exists()

    harbor = Outlet.objects.get(name="Harbor Herald")
    assert (harbor.lean, harbor.factuality, harbor.country) == (Lean.LEAN_LEFT, Factuality.MOSTLY_FACTUAL, "US")
    assert list(harbor.domains.values_list("domain", flat=True)) == ["harborherald.example"]
    assert set(Feed.objects.filter(outlet=harbor).values_list("url", flat=True)) == {
        "https://harborherald.example/rss",
        "https://harborherald.example/politics.rss",
    }
    rating = harbor.ratings.get()
    assert (rating.rated_by, rating.rated_at, rating.note) == ("Chart v3", date(2026, 10, 1), "From the chart")

    # The three-way scale is a subset of the five levels.
    assert Outlet.objects.get(name="Plains Post").lean == Lean.RIGHT
    summit = Outlet.objects.get(name="Summit Signal")
    assert summit.lean == Lean.CENTER
    assert summit.ratings.get().rated_by == "Imported without attribution"


def outlet_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": "Harbor Herald",
        "domain": "harborherald.example",
        "lean": "center",
        "factuality": "high",
        "country": "US",
        "feeds": ["https://harborherald.example/rss"],
        "rated_by": "Chart v3",
        "rated_at": "2026-10-01",
    }
    record.update(overrides)
    return record


def test_it_imports_outlets_from_jsonl_and_reports_bad_lines(db: None, tmp_path: Path) -> None:
    path = jsonl_write(
        tmp_path / "outlets.jsonl",
        [
            outlet_record(),
            outlet_record(name="", domain="nameless.example"),
            "{not json",
            outlet_record(name="Feedless", domain="feedless.example", feeds=["ftp://feedless.example/rss"]),
            outlet_record(name="Rated Later", domain="ratedlater.example", rated_at="sometime"),
            outlet_record(name="Odd Quality", domain="oddquality.example", factuality="excellent"),
        ],
    )

    run = command_run("import_outlets", path, rejects=True)

    assert "Outlets: 1 created, 0 updated, 5 rejected." in run.stdout
    for line, reason in [
        (2, "'name' is required"),
        (3, "not valid JSON"),
        (4, "'feeds' must be an http(s) URL"),
        (5, "'rated_at' is not a date"),
        (6, "'factuality' must be one of"),
    ]:
        assert f"Rejected line {line}: {reason}" in run.stderr
    harbor = Outlet.objects.get()
    assert harbor.lean == Lean.CENTER
    assert list(harbor.feeds.values_list("url", flat=True)) == ["https://harborherald.example/rss"]


def test_it_appends_a_rating_when_a_later_import_changes_the_lean(db: None, tmp_path: Path) -> None:
    command_run("import_outlets", jsonl_write(tmp_path / "2026-10.jsonl", [outlet_record()]))

    run = command_run(
        "import_outlets",
        jsonl_write(
            tmp_path / "2026-12.jsonl",
            [outlet_record(lean="lean_right", rated_by="Chart v4", rated_at="2026-12-01", note="Moved right")],
        ),
    )

    assert "0 created, 1 updated" in run.stdout
    harbor = Outlet.objects.get()
    assert harbor.lean == Lean.LEAN_RIGHT
    assert [(rating.lean, rating.rated_by) for rating in harbor.ratings.all()] == [
        (Lean.LEAN_RIGHT, "Chart v4"),
        (Lean.CENTER, "Chart v3"),
    ]
    assert Feed.objects.count() == 1


def test_it_does_not_append_a_rating_when_the_lean_is_unchanged(db: None, tmp_path: Path) -> None:
    path = jsonl_write(tmp_path / "outlets.jsonl", [outlet_record()])
    command_run("import_outlets", path)
    command_run("import_outlets", path)
    command_run(
        "import_outlets",
        jsonl_write(tmp_path / "later.jsonl", [outlet_record(rated_by="Chart v4", rated_at="2026-12-01")]),
    )

    harbor = Outlet.objects.get()
    assert harbor.ratings.count() == 1
    assert (Outlet.objects.count(), OutletRating.objects.count(), Feed.objects.count()) == (1, 1, 1)


def test_it_does_not_append_an_older_imported_rating_again_on_each_import(db: None, tmp_path: Path) -> None:
    # A curator's newer rating outranks the file's; re-running the import must not pile up copies of the file's.
    path = jsonl_write(tmp_path / "outlets.jsonl", [outlet_record(lean="center", rated_at="2026-10-01")])
    command_run("import_outlets", path)
    harbor = Outlet.objects.get()
    from sources.ratings import outlet_rating_add

    outlet_rating_add(outlet=harbor, lean=Lean.LEFT, rated_by="Internal review", rated_at=date(2026, 11, 20))

    command_run("import_outlets", path)
    command_run("import_outlets", path)

    harbor.refresh_from_db()
    assert harbor.lean == Lean.LEFT
    assert harbor.ratings.count() == 2


def test_it_reads_csv_line_numbers_after_the_header() -> None:
    records = list(read_records(["name,lean\n", "A,left\n", "\n", "B,center\n"], fmt="csv"))

    assert [(line, record) for line, record in records] == [
        (2, {"name": "A", "lean": "left"}),
        (4, {"name": "B", "lean": "center"}),
    ]


def test_it_accepts_outlet_feeds_as_a_list_or_as_space_separated_urls() -> None:
    from_list = outlet_row_parse(outlet_record(feeds=["https://a.example/rss", "https://a.example/b.rss"]))
    from_text = outlet_row_parse(outlet_record(feeds="https://a.example/rss  https://a.example/b.rss"))

    assert from_list.feeds == from_text.feeds == ("https://a.example/rss", "https://a.example/b.rss")


def test_with_workers_each_full_batch_is_queued_while_the_rest_imports(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path, db: None
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    imported_when_queued: list[tuple[int, int]] = []
    monkeypatch.setattr(
        pipeline,
        "articles_process",
        lambda ids: imported_when_queued.append((len(ids), Article.objects.count())) or pipeline.Queued(),
    )
    path = jsonl_write(tmp_path / "many.jsonl", [corpus_row(f"story-{number}") for number in range(70)])

    command_run("import_articles", path)

    size = pipeline.BATCH_SIZE
    assert imported_when_queued == [(size, size), (size, 2 * size), (70 - 2 * size, 70)]
