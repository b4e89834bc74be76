from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sources.models import Article
from stories.models import Story


class Command(BaseCommand):
    help = "Export stories as JSONL (id, title, urls) to PATH or standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default="-")

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        if path == "-":
            for line in self.lines():
                self.stdout.write(line)
            return
        count = 0
        with Path(path).open("w", encoding="utf-8") as output:
            for line in self.lines():
                output.write(line + "\n")
                count += 1
        self.stdout.write(f"Exported {count} stories to {path}.")

    def lines(self) -> Iterator[str]:
        urls_by_story: dict[int, list[str]] = {}
        for story_id, url in (
            Article.objects.filter(membership__isnull=False)
            .order_by("membership__cluster_id", "published_at", "pk")
            .values_list("membership__cluster_id", "url")
        ):
            urls_by_story.setdefault(story_id, []).append(url)
        for story in Story.objects.order_by("pk").only("pk", "title").iterator():
            record = {"id": story.pk, "title": story.title, "urls": urls_by_story.get(story.pk, [])}
            yield json.dumps(record, ensure_ascii=False)
