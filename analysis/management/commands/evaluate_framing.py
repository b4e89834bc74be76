from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.evaluation import features_compute, labelled_read, labels_matrix, scores, scores_write
from analysis.nlp.framing import FRAMES, FramingModel
from analysis.services import analyser


class Command(BaseCommand):
    help = (
        "Run the installed framing classifier on a JSONL file (title, text, gold_frames) and print "
        "micro-F1 and macro-F1 over the 14 policy frames."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="JSONL with title, text and gold_frames.")
        parser.add_argument("--model", type=Path, help="A weights file to evaluate instead of the installed model.")
        parser.add_argument("--features-cache", type=Path, help="An .npz file to keep the encoded features in.")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        try:
            articles = list(labelled_read(path))
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        if not articles:
            raise CommandError(f"{path} has no labelled articles.")
        model = FramingModel.load(options["model"]) if options.get("model") else analyser().framing
        features, segments = features_compute(articles, options.get("features_cache"))
        predicted = model.decide(model.probabilities(features, segments))
        # The model's frames may be ordered differently from the codebook's: score in the codebook's order.
        order = [model.frames.index(frame) for frame in FRAMES]
        result = scores(labels_matrix(articles), predicted[:, order])
        self.stdout.write(f"Framing model {model.version} on {path.name} ({len(articles)} articles):")
        scores_write(self.stdout, "framing classifier", result, per_frame=True)
