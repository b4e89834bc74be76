from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from analysis.services import analyser
from newsroom import pipeline
from sources.articles import REFUSED, article_import, refusal
from sources.importing import ImportReport, Rejected, RowError, corpus_row_parse, lines_read, read_records
from sources.models import Article


class Command(BaseCommand):
    help = (
        "Import articles from corpus JSONL and run them through the pipeline. Bad rows are reported "
        "with their line number; good rows are kept. Without a broker the command returns once the "
        "articles are analysed and clustered; with one, once they are queued."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A corpus JSONL file, or - for standard input.")

    def handle(self, *args: Any, path: str, **options: Any) -> None:
        try:
            lines = lines_read(path)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        report = ImportReport()
        new_ids: list[int] = []
        queued = 0  # how many of new_ids are already handed to articles_process
        sent: list[pipeline.Queued] = []
        known_ids: list[int] = []
        for line, record in read_records(lines, fmt="jsonl"):
            try:
                if isinstance(record, RowError):
                    raise record
                # Each row in a savepoint of its own: one the database refuses rolls back alone.
                with transaction.atomic():
                    article, created = article_import(row=corpus_row_parse(record))
            except REFUSED as error:
                report.rejected.append(Rejected(line=line, reason=refusal(error)))
                continue
            if created:
                report.created += 1
                new_ids.append(article.pk)
                if not settings.CELERY_TASK_ALWAYS_EAGER and len(new_ids) - queued >= pipeline.BATCH_SIZE:
                    # With workers, each full batch goes to them at once: they analyse while the rest imports.
                    sent.append(pipeline.articles_process(new_ids[queued:]))
                    queued = len(new_ids)
            else:
                report.existing += 1
                # Known, yet perhaps never queued (an earlier run with the broker down): the pipeline
                # entry point queues what it still lacks and skips what is done.
                known_ids.append(article.pk)
        for rejected in report.rejected:
            self.stderr.write(f"Rejected {rejected}")
        self.stdout.write(
            f"Articles: {report.created} new, {report.existing} already known, {len(report.rejected)} rejected."
        )
        if settings.CELERY_TASK_ALWAYS_EAGER and new_ids:
            # Load the models before the clock starts, so the figure below is the pipeline's own.
            loading = time.perf_counter()
            analyser()
            self.stdout.write(f"Models loaded in {time.perf_counter() - loading:.1f} s.")
        started = time.perf_counter()
        sent.append(pipeline.articles_process(list(dict.fromkeys(new_ids[queued:] + known_ids))))
        unsent = [article_id for batch in sent for article_id in batch.unsent]
        if settings.CELERY_TASK_ALWAYS_EAGER and new_ids:
            elapsed = time.perf_counter() - started
            in_stories = Article.objects.filter(pk__in=new_ids, state=Article.State.CLUSTERED).count()
            self.stdout.write(
                f"Pipeline: {in_stories} of {len(new_ids)} articles analysed and in a story in {elapsed:.1f} s "
                f"({len(new_ids) / elapsed:.1f} articles/s)."
            )
            if in_stories < len(new_ids):
                self.stdout.write(f"{len(new_ids) - in_stories} could not be fetched or analysed: see their errors.")
        elif unsent:
            self.stderr.write(
                f"Pipeline: {len(unsent)} articles stored but not queued: the broker is unavailable. They are "
                "kept, and the periodic sweep queues them once the broker is back (or run this import again "
                "then: known articles still waiting are queued)."
            )
        else:
            waiting = sum(batch.count for batch in sent)
            if waiting:
                self.stdout.write(f"Pipeline: {waiting} articles queued for the workers.")
        if unsent:
            raise CommandError(f"{len(unsent)} article(s) stored but not queued: the broker is unavailable.")
        if report.rejected:
            # After the good rows are in: the exit status tells an operator's script that some were not.
            raise CommandError(f"{len(report.rejected)} row(s) rejected (listed above); the others were imported.")
