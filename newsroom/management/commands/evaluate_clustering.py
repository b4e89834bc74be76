"""Measure story clustering on a labelled corpus, in a scratch database.

The corpus goes through the real import and pipeline (analysis, assignment, the merge
and split pass, refresh), in-process, into a throwaway database made by Django's
test-database machinery; the user's database is never touched. The ``gold_*`` keys are
stripped from every row before import and read only to score the result.

With ``--outlets FILE`` the outlets (and their leans) are imported first, as
``import_outlets`` would, so the articles are matched to rated outlets and the report adds
what readers see: the false missing and false extra side rates.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test.utils import override_settings

from clustering import evaluation
from clustering.models import Cluster
from newsroom import pipeline
from sources.importing import RowError, outlet_row_parse, read_records
from sources.models import Article, side_of_lean
from sources.outlets import outlet_import

BATCH_SIZE = 32


class Command(BaseCommand):
    help = (
        "Import a corpus JSONL file into a scratch database, run the pipeline, and print BCubed and "
        "pairwise precision, recall and F1 of the stories against the rows' gold_story."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A corpus JSONL file whose rows carry gold_story.")
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            help="A pair model JSON to compare (repeatable): each re-clusters the same analysed articles.",
        )
        parser.add_argument("--limit", type=int, default=0, help="Only the first N rows.")
        parser.add_argument(
            "--outlets",
            default="",
            help="An outlets JSONL or CSV file (the import_outlets format) imported first: the leans that the "
            "false missing and false extra side rates are counted with.",
        )

    def handle(self, *args: Any, path: str, model: list[str], limit: int, outlets: str, **options: Any) -> None:
        rows, gold = self._read(Path(path), limit)
        outlet_lines = self._outlet_lines(Path(outlets)) if outlets else []
        with evaluation.scratch_database("evaluate_clustering"):
            if outlet_lines:
                self._import_outlets(outlet_lines, fmt="csv" if outlets.endswith(".csv") else "jsonl")
            self._evaluate(rows, gold, model)

    def _outlet_lines(self, path: Path) -> list[str]:
        try:
            return path.read_text(encoding="utf-8").split("\n")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error}") from error

    def _import_outlets(self, lines: list[str], *, fmt: str) -> None:
        imported = 0
        for line, record in read_records(lines, fmt=fmt):
            try:
                if isinstance(record, RowError):
                    raise record
                outlet_import(row=outlet_row_parse(record))
            except RowError as error:
                self.stderr.write(f"Skipped outlet on line {line}: {error}")
                continue
            imported += 1
        self.stdout.write(f"Imported {imported} outlets.")

    def _read(self, path: Path, limit: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        rows, gold = [], {}
        for line in lines[: limit or None]:
            if not line.strip():
                continue
            record = json.loads(line)
            if "gold_story" not in record:
                raise CommandError(f"A row has no gold_story: {record.get('url')}")
            gold[record["url"]] = str(record["gold_story"])
            # The pipeline never sees a label.
            rows.append({key: value for key, value in record.items() if not key.startswith("gold_")})
        return rows, gold

    def _evaluate(self, rows: list[dict[str, Any]], gold: dict[str, str], models: list[str]) -> None:
        article_ids, elapsed = pipeline.corpus_run_here(rows, skipped=self.stderr.write)
        self.stdout.write(f"Imported {len(article_ids)} articles into a scratch database ({connection.vendor}).")
        self.stdout.write(f"Pipeline: {len(article_ids)} articles analysed and clustered in {elapsed:.1f} s.")
        self._report("shipped model" if not models else "default model", gold)
        for model_path in models:
            with override_settings(NEWSROOM_CLUSTER_MODEL_PATH=model_path):
                started = time.perf_counter()
                self._recluster(article_ids)
                self._report(f"{model_path} ({time.perf_counter() - started:.1f} s)", gold)

    def _recluster(self, article_ids: list[int]) -> None:
        """The clustering stage again over the same analyses: stories gone, articles back to analysed."""
        Cluster.objects.all().delete()
        Article.objects.filter(pk__in=article_ids).update(state=Article.State.ANALYSED)
        ordered = list(
            Article.objects.filter(pk__in=article_ids)
            .order_by("published_at", "discovered_at", "pk")
            .values_list("pk", flat=True)
        )
        for start in range(0, len(ordered), BATCH_SIZE):
            pipeline.cluster_chain(ordered[start : start + BATCH_SIZE]).apply()

    def _report(self, label: str, gold: dict[str, str]) -> None:
        predicted = dict(Article.objects.filter(membership__isnull=False).values_list("url", "membership__cluster_id"))
        bcubed = evaluation.bcubed(predicted, gold)
        pairwise = evaluation.pairwise(predicted, gold)
        stories = len(set(predicted.values()))
        self.stdout.write(f"{label}: {stories} stories for {len(set(gold.values()))} gold stories")
        self.stdout.write(f"  BCubed    {bcubed}")
        self.stdout.write(f"  pairwise  {pairwise}")
        # The side of each article by its outlet's lean now, folded to left, center and right.
        sides = {
            url: side_of_lean(lean)
            for url, lean in Article.objects.filter(url__in=list(gold)).values_list("url", "outlet__lean")
        }
        rated = sum(1 for side in sides.values() if side)
        if not rated:
            self.stdout.write("  sides     no article's outlet is rated (import outlets with --outlets)")
            return
        self.stdout.write(f"  sides     {evaluation.side_errors(predicted, gold, sides)} ({rated} rated articles)")
