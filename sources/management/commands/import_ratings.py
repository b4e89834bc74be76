from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sources.ratings import format_of, ratings_import


class Command(BaseCommand):
    help = (
        "Import outlet ratings from CSV or JSONL, all or nothing: a file with any bad line changes nothing. "
        "--dry-run shows each outlet's effective lean before and after without changing anything."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A .csv or .jsonl file, or - for standard input.")
        parser.add_argument("--format", choices=["jsonl", "csv"], help="Defaults to the file's extension (else JSONL).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; change nothing.")

    def handle(self, *args: Any, path: str, format: str | None, dry_run: bool, **options: Any) -> None:
        if path == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(path).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"Cannot read {path}: {error}") from error
        report = ratings_import(lines=text.split("\n"), fmt=format_of(path, explicit=format or ""), dry_run=dry_run)
        if report.errors:
            for line in report.lines():
                self.stderr.write(line)
            raise CommandError(f"{len(report.errors)} bad line(s) in {path}: nothing was imported.")
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
        for line in report.lines():
            self.stdout.write(line)
