from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sources.articles import REFUSED, refusal
from sources.importing import ImportReport, Rejected, RowError, lines_read, outlet_row_parse, read_records
from sources.outlets import outlet_import


class Command(BaseCommand):
    help = "Import outlets with their lean ratings from JSONL or CSV (the outlets format of DESIGN.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A .jsonl or .csv file, or - for standard input (JSONL).")
        parser.add_argument("--format", choices=["jsonl", "csv"], help="Defaults to the file's extension.")

    def handle(self, *args: Any, path: str, format: str | None, **options: Any) -> None:
        fmt = format or ("csv" if path.endswith(".csv") else "jsonl")
        try:
            lines = lines_read(path)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        report = ImportReport()
        for line, record in read_records(lines, fmt=fmt):
            try:
                if isinstance(record, RowError):
                    raise record
                # outlet_import runs in a transaction of its own: a row the database refuses rolls back alone.
                _outlet, created = outlet_import(row=outlet_row_parse(record))
            except REFUSED as error:
                report.rejected.append(Rejected(line=line, reason=refusal(error)))
                continue
            if created:
                report.created += 1
            else:
                report.existing += 1
        for rejected in report.rejected:
            self.stderr.write(f"Rejected {rejected}")
        self.stdout.write(
            f"Outlets: {report.created} created, {report.existing} updated, {len(report.rejected)} rejected."
        )
        if report.rejected:
            # After the good rows are in: the exit status tells an operator's script that some were not.
            raise CommandError(f"{len(report.rejected)} row(s) rejected (listed above); the others were imported.")
