from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sources.ratings import ratings_export


class Command(BaseCommand):
    help = "Export every outlet rating (the whole history, oldest entry first) as CSV or JSONL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default="-", help="Where to write; standard output by default.")
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")

    def handle(self, *args: Any, path: str, format: str, **options: Any) -> None:
        if path == "-":
            count = ratings_export(sys.stdout, fmt=format)
        else:
            try:
                with open(path, "w", encoding="utf-8", newline="") as out:
                    count = ratings_export(out, fmt=format)
            except OSError as error:
                raise CommandError(f"Cannot write {path}: {error}") from error
            self.stderr.write(f"Exported {count} rating(s) to {path}.")
