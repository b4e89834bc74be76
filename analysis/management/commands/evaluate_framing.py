from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.nlp.article import ArticleText
from analysis.nlp.framing import FRAMES, FramingModel, article_features
from analysis.nlp.framing_training import LabelledArticle, Scores, labelled_read, labels_matrix, scores
from analysis.services import analyser

ENCODE_BATCH = 64


def sentence_matrices_compute(
    articles: list[LabelledArticle],
) -> tuple[list[np.ndarray[Any, Any]], list[list[str]]]:
    """Each article's unit sentence vectors and its segments (headline, then sentences), as the analysis makes them."""
    engine = analyser()
    matrices, segments = [], []
    for start in range(0, len(articles), ENCODE_BATCH):
        batch = [
            ArticleText(title=article.title, text=article.text) for article in articles[start : start + ENCODE_BATCH]
        ]
        for item, (sentences, matrix) in zip(batch, engine.sentence_matrices(batch), strict=True):
            if not len(matrix):
                # An article with no sentence long enough: its title stands in, as in the pipeline.
                matrix = engine.encode([item.title or " "])
            matrices.append(matrix)
            segments.append([item.title, *sentences])
    return matrices, segments


def features_compute(
    articles: list[LabelledArticle], cache: Path | None = None
) -> tuple[np.ndarray[Any, Any], list[list[str]]]:
    """What the classifier reads of each article, computed by the analysis pipeline itself (so they match).

    The pooled sentence vectors (rows), and each article's segments: its headline, then its sentences.
    ``cache`` (an ``.npz``) keeps them between runs: encoding is the slow part.
    """
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if len(data["features"]) == len(articles):
                offsets = data["offsets"]
                texts = [str(text) for text in data["segments"]]
                return data["features"], [texts[offsets[row] : offsets[row + 1]] for row in range(len(articles))]
    matrices, segments = sentence_matrices_compute(articles)
    rows = [article_features(matrix) for matrix in matrices]
    features = np.vstack(rows)
    if cache is not None:
        np.savez(
            cache,
            features=features,
            segments=np.array([text for article in segments for text in article]),
            offsets=np.cumsum([0] + [len(article) for article in segments]),
        )
    return features, segments


def scores_write(stream: TextIO, name: str, result: Scores, *, per_frame: bool = False) -> None:
    stream.write(f"{name}: micro-F1 {result.micro_f1:.3f}  macro-F1 {result.macro_f1:.3f}")
    if per_frame:
        for frame, value in result.per_frame.items():
            stream.write(f"    {frame:<46} F1 {value:.3f}")


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
