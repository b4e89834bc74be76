"""Score the same-claim model on labelled sentence pairs: precision, recall and F1 at its shipped threshold.

    manage.py evaluate_claims FILE.jsonl [--model PATH] [--cross-encoder PATH|off]

FILE is JSONL with ``sentence_a``, ``sentence_b`` and ``gold_same_claim``. The figures are those
of the ``precise`` threshold (what a citation needs: the cross-encoder's call, among the pairs the
logistic head passes at its ``recall`` threshold); the ``recall`` threshold (what the claims table
needs before it calls a fact one side's), the logistic head alone (what runs without the
cross-encoder's file) and the old fixed cosine follow, for comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.claims_evaluation import PairScores, model_probabilities, pair_scores, pairs_encode, pairs_read
from analysis.nlp.same_claim import SameClaimModel

# What the story pages used before the model (issue 17): the cosine of the two sentence vectors.
OLD_COSINE = 0.72


class Command(BaseCommand):
    help = (
        "Print precision, recall and F1 of the same-claim model at its shipped threshold on JSONL pairs "
        "(sentence_a, sentence_b, gold_same_claim)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="JSONL with sentence_a, sentence_b and gold_same_claim.")
        parser.add_argument("--model", default="", help="Another weights file (default: the installed model).")
        parser.add_argument(
            "--cross-encoder",
            default=None,
            help='Another cross-encoder adapter file, or "off": the logistic head alone (default: the installed one).',
        )

    def handle(self, *args: Any, path: Path, model: str, cross_encoder: str | None, **options: Any) -> None:
        try:
            pairs = pairs_read(path)
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        try:
            head_path = model or settings.NEWSROOM_SAME_CLAIM_MODEL
            cross_path = settings.NEWSROOM_SAME_CLAIM_CROSS_ENCODER if cross_encoder is None else cross_encoder
            same_claim = SameClaimModel.load(
                head_path,
                cross_path=None if cross_path == "off" else cross_path,
                encoder_path=settings.NEWSROOM_EMBEDDING_MODEL,
            )
            head_alone = SameClaimModel.load(head_path, cross_path=None)
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"Cannot read the model: {error}") from error
        if not pairs:
            raise CommandError(f"{path} has no pairs.")
        first, second = pairs_encode(pairs)
        gold = np.array([pair.same for pair in pairs])
        probabilities = model_probabilities(same_claim, pairs, first, second)
        cosine = (first * second).sum(axis=1)
        self.stdout.write(f"Model: {same_claim.version}; {len(pairs)} pairs, {int(gold.sum())} the same claim.")
        self._write(
            f"at the shipped threshold {same_claim.precise:.4f}", pair_scores(gold, probabilities >= same_claim.precise)
        )
        self._write(
            f"at the recall threshold {same_claim.recall:.4f}", pair_scores(gold, probabilities >= same_claim.recall)
        )
        if same_claim.cross is None:
            self.stdout.write("No cross-encoder: the logistic head alone decides.")
        else:
            alone = model_probabilities(head_alone, pairs, first, second)
            self._write(
                f"of the logistic head alone at {head_alone.precise:.4f}",
                pair_scores(gold, alone >= head_alone.precise),
            )
        self._write(f"cosine >= {OLD_COSINE} (before the model)", pair_scores(gold, cosine >= OLD_COSINE))

    def _write(self, name: str, scores: PairScores) -> None:
        self.stdout.write(f"Precision {name}: {scores.precision:.3f}")
        self.stdout.write(f"Recall {name}: {scores.recall:.3f}")
        self.stdout.write(f"F1 {name}: {scores.f1:.3f}")
