from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from sources.models import Article
from stories.api.serializers import StoryDetailSerializer
from stories.models import Story
from stories.selectors import story_detail_queryset, story_page_build


class Command(BaseCommand):
    help = (
        "Export stories as JSONL (id, title, urls) to PATH or standard output; with --full, each story as the "
        "API's story detail (GET /api/v1/stories/{id}/), one a line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default="-")
        parser.add_argument(
            "--full", action="store_true", help="Each line the API's story detail instead of id, title and urls."
        )

    def handle(self, *args: Any, path: str, full: bool = False, **options: Any) -> None:
        lines = self.full_lines() if full else self.lines()
        if path == "-":
            for line in lines:
                self.stdout.write(line)
            return
        count = 0
        with Path(path).open("w", encoding="utf-8") as output:
            for line in lines:
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

    def full_lines(self) -> Iterator[str]:
        """The API's story detail of each listed story, in id order (the same page data, the same serializer)."""
        for story in story_detail_queryset().order_by("pk").iterator(chunk_size=100):
            data = StoryDetailSerializer(story_page_build(story)).data
            yield json.dumps(data, ensure_ascii=False, cls=DjangoJSONEncoder)
