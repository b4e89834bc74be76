from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandParser

from sources.models import Article
from stories.models import Story


class Command(BaseCommand):
    help = "Export stories as JSONL (id, title, urls) to PATH or standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default="-")

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        urls_by_story: dict[int, list[str]] = {}
        for story_id, url in (
            Article.objects.filter(membership__isnull=False)
            .order_by("membership__story_id", "published_at", "pk")
            .values_list("membership__story_id", "url")
        ):
            urls_by_story.setdefault(story_id, []).append(url)
        output: TextIO = sys.stdout if path == "-" else open(path, "w", encoding="utf-8")  # noqa: SIM115
        try:
            count = 0
            for story in Story.objects.order_by("pk").only("pk", "title").iterator():
                record = {"id": story.pk, "title": story.title, "urls": urls_by_story.get(story.pk, [])}
                output.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        finally:
            if output is not sys.stdout:
                output.close()
        if path != "-":
            self.stdout.write(f"Exported {count} stories to {path}.")
