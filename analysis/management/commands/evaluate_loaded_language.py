from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.nlp.loaded_language import OUTLET_VOICE, LoadedLanguageModel, loaded_language_model
from analysis.services import analyser
from analysis.tone_evaluation import flag_scores, labelled_rows

CHUNK = 256


class Command(BaseCommand):
    help = (
        "Run the installed loaded-language model on a JSONL file (text, gold_loaded_language) and print "
        "the precision, recall and F1 of the paragraphs it flags (a paragraph is flagged when one of its "
        "sentences is, as the analysis splits an article), then of those it flags in the outlet's own "
        "voice (loaded language inside quotations is shown to readers as the quoted source's)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="JSONL with text and gold_loaded_language (true or false).")
        parser.add_argument("--model", type=Path, help="A weights file to evaluate instead of the installed model.")
        parser.add_argument(
            "--whole-paragraphs",
            action="store_true",
            help="Read each paragraph as one sentence (the earlier protocol), not as the analysis splits it.",
        )

    def handle(self, *args: Any, path: Path, **options: Any) -> None:
        texts: list[str] = []
        gold: list[bool] = []
        try:
            for number, record in labelled_rows(path):
                label = record.get("gold_loaded_language")
                if not isinstance(label, bool):
                    raise ValueError(f"line {number}: gold_loaded_language must be true or false")
                texts.append(str(record.get("text") or ""))
                gold.append(label)
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        if not texts:
            raise CommandError(f"{path} has no labelled paragraphs.")
        model = LoadedLanguageModel.load(options["model"]) if options.get("model") else loaded_language_model()
        # A paragraph is read as the analysis reads an article: split into its sentences, each scored
        # from the analysis's encoder pass (its unit vector and, for a model with its own top layer, its
        # token states; a chunk at a time: token states take about 3 KB a word piece), and flagged when
        # one of them is.
        engine = analyser()
        sentences = [[text] for text in texts] if options.get("whole_paragraphs") else engine.sentences(texts)
        flat = [sentence for paragraph in sentences for sentence in paragraph]
        flags: list[str] = []
        for start in range(0, len(flat), CHUNK):
            part = flat[start : start + CHUNK]
            wanted = range(len(part)) if model.reads_token_states else range(0)
            encoded = engine.encode_states(part, states_for=wanted)
            states = [encoded.states[index] for index in wanted] if model.reads_token_states else None
            flags += model.flags(encoded.vectors, part, states)
        bounds = np.cumsum([0, *(len(paragraph) for paragraph in sentences)])
        # Every flag a reader is shown (SemEval labels loaded language inside quotations as loaded too),
        # then the outlet's own voice alone (what the page counts as the outlet's).
        result = flag_scores(gold, [any(flags[bounds[row] : bounds[row + 1]]) for row in range(len(texts))])
        own = flag_scores(
            gold,
            [OUTLET_VOICE in flags[bounds[row] : bounds[row + 1]] for row in range(len(texts))],
        )
        self.stdout.write(f"Loaded-language model {model.version} on {path.name} ({len(texts)} paragraphs):\n")
        self.stdout.write(f"precision {result.precision:.3f}\n")
        self.stdout.write(f"recall {result.recall:.3f}\n")
        self.stdout.write(f"F1 {result.f1:.3f}\n")
        self.stdout.write(
            f"In the outlet's own voice (loaded language it quotes left out): precision {own.precision:.3f}, "
            f"recall {own.recall:.3f}, F1 {own.f1:.3f}\n"
        )
