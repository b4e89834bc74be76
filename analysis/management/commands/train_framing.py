from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.management.commands.evaluate_framing import features_compute, scores_write
from analysis.nlp.framing import WEIGHTS_PATH
from analysis.nlp.framing_training import (
    framing_cross_validate,
    framing_fit,
    labelled_read,
    labels_matrix,
    majority_cross_validate,
)


class Command(BaseCommand):
    help = (
        "Train the framing classifier on a JSONL file (title, text, gold_frames over the 14 policy frames) "
        "and write its weights; with --cv K, print K-fold cross-validated micro-F1 and macro-F1 instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="JSONL with title, text and gold_frames.")
        parser.add_argument("--cv", type=int, default=0, help="Cross-validate over this many folds; write nothing.")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the fold split.")
        parser.add_argument(
            "--output", type=Path, default=WEIGHTS_PATH, help=f"Where to write the weights (default {WEIGHTS_PATH})."
        )
        parser.add_argument("--name", default="", help="A name recorded in the model's version (default: the file's).")
        parser.add_argument(
            "--features-cache", type=Path, help="An .npz file to keep the encoded features in (encode once)."
        )

    def handle(self, *args: Any, path: Path, cv: int, seed: int, output: Path, name: str, **options: Any) -> None:
        try:
            articles = list(labelled_read(path))
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        if len(articles) < 20:
            raise CommandError(f"{path} has {len(articles)} labelled articles; at least 20 are needed.")
        labels = labels_matrix(articles)
        started = time.perf_counter()
        features, segments = features_compute(articles, options.get("features_cache"))
        self.stderr.write(f"Encoded {len(articles)} articles in {time.perf_counter() - started:.0f}s.")
        if cv:
            if cv < 2:
                raise CommandError("--cv needs at least 2 folds.")
            self.stdout.write(f"{cv}-fold cross-validation on {path.name} ({len(articles)} articles, nested tuning):")
            scores_write(
                self.stdout, "always the most common frames", majority_cross_validate(labels, folds=cv, seed=seed)
            )
            scores_write(
                self.stdout,
                "framing classifier",
                framing_cross_validate(features, labels, segments, folds=cv, seed=seed),
                per_frame=True,
            )
            return
        model = framing_fit(
            features,
            labels,
            segments,
            seed=seed,
            meta={
                "name": name or path.stem,
                "trained_on": path.name,
                "articles": str(len(articles)),
                "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
            },
        )
        model.save(output)
        self.stdout.write(f"Wrote {output} ({output.stat().st_size // 1024} KiB), version {model.version}.")
