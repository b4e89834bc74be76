from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from newsroom import tasks
from sources.models import Feed


class Command(BaseCommand):
    help = "Poll every due feed once and run its new articles through the pipeline."

    def handle(self, *args: Any, **options: Any) -> None:
        feeds = list(Feed.objects.due())
        discovered = 0
        for feed in feeds:
            discovered += len(tasks.feed_poll_and_process.apply(args=[feed.pk]).get())
            feed.refresh_from_db()
            if feed.last_error:
                self.stderr.write(f"{feed.url}: {feed.last_error}")
        self.stdout.write(f"Polled {len(feeds)} feed(s); {discovered} new article(s).")
