"""Exporting stories as JSONL (id, title, urls): what an evaluation compares with the gold stories."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from sources.models import Article, Outlet
from stories.models import Story
from tests.conftest import analysed_article_make, story_build, unit_vector


@pytest.fixture
def second_story(left_outlet: Outlet) -> Story:
    return story_build([analysed_article_make(outlet=left_outlet, title="Stadium deal signed", vector=unit_vector(77))])


def expected_records(*stories: Story) -> list[dict[str, object]]:
    return [
        {
            "id": story.pk,
            "title": story.title,
            "urls": list(
                Article.objects.filter(membership__cluster_id=story.pk)
                .order_by("published_at", "pk")
                .values_list("url", flat=True)
            ),
        }
        for story in stories
    ]


def test_it_exports_stories_to_a_file(tmp_path: Path, story: Story, second_story: Story) -> None:
    path = tmp_path / "stories.jsonl"
    stdout = StringIO()

    call_command("export_stories", str(path), stdout=stdout)

    lines = path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records == expected_records(story, second_story)
    assert records[0]["urls"] == [
        "https://leftledger.example/2026/11/fare-hike-hits-riders-hardest",
        "https://centercourier.example/2026/11/transit-board-raises-fare-to-$2.75",
        "https://rightrecord.example/2026/11/transit-agency's-spending-forces-fare-rise",
    ]
    assert stdout.getvalue() == f"Exported 2 stories to {path}.\n"


def test_it_exports_stories_to_standard_output(capsys: pytest.CaptureFixture[str], story: Story) -> None:
    call_command("export_stories")

    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == expected_records(story)


def test_it_exports_an_empty_file_when_there_are_no_stories(tmp_path: Path, db: None) -> None:
    path = tmp_path / "stories.jsonl"

    call_command("export_stories", str(path), stdout=StringIO())

    assert path.read_text(encoding="utf-8") == ""
