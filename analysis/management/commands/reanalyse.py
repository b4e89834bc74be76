from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.module_loading import import_string


def moment_parse(value: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 date and time (UTC when it names no zone)."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--since {value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date and time.")
        moment = datetime(day.year, day.month, day.day)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Re-tag analysed articles whose analysis an older model version made (all of them with --force), "
        "through the analysis queue a batch at a time beside ingestion, then refresh their stories. "
        "Without a broker it runs in-process and returns when done."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="Only articles published (or, undated, discovered) since this date.")
        parser.add_argument("--force", action="store_true", help="Redo articles the current models analysed too.")

    def handle(self, *args: Any, since: str | None, force: bool, **options: Any) -> None:
        since_at = moment_parse(since) if since else None
        import_string(settings.NEWSROOM_REANALYSE_ENQUEUE)(since=since_at, force=force)
        done = "done" if settings.CELERY_TASK_ALWAYS_EAGER else "queued on the analysis queue"
        self.stdout.write(
            f"Re-analysis {'of every article' if force else 'of stale analyses'}"
            f"{f' since {since_at:%Y-%m-%d %H:%M} UTC' if since_at else ''}: {done}."
        )
