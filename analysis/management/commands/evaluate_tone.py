from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.nlp.target_tone import LABELS, ToneModel, tone_model
from analysis.tone_evaluation import classification_scores, labelled_rows


class Command(BaseCommand):
    help = (
        "Run the installed tone model on a JSONL file (sentence, target, target_start, target_end, "
        "gold_polarity: negative, neutral or positive) and print macro-F1 and accuracy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="JSONL with sentence, target_start, target_end and gold_polarity.")
        parser.add_argument("--model", type=Path, help="A weights file to evaluate instead of the installed model.")

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        items: list[tuple[str, list[tuple[int, int]]]] = []
        gold: list[int] = []
        try:
            for number, record in labelled_rows(path):
                polarity = record.get("gold_polarity")
                if polarity not in LABELS:
                    raise ValueError(f"line {number}: gold_polarity must be one of {', '.join(LABELS)}")
                items.append((str(record["sentence"]), [(int(record["target_start"]), int(record["target_end"]))]))
                gold.append(LABELS.index(polarity))
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        if not items:
            raise CommandError(f"{path} has no labelled rows.")
        model = ToneModel.load(options["model"]) if options.get("model") else tone_model()
        predicted = [int(matrix[0].argmax()) for matrix in model.probabilities(items)]
        result = classification_scores(gold, predicted, classes=len(LABELS))
        self.stdout.write(f"Tone model {model.version} on {path.name} ({len(items)} rows):\n")
        self.stdout.write(f"macro-F1 {result.macro_f1:.3f}\n")
        self.stdout.write(f"accuracy {result.accuracy:.3f}\n")
        for label, value in zip(LABELS, result.per_class, strict=True):
            self.stdout.write(f"    {label:<9} F1 {value:.3f}\n")
