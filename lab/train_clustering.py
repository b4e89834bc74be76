"""Fit the clustering pair model on labelled corpus files and write it (and its term table) as JSON.

    .venv/bin/python -m lab.train_clustering FILE.jsonl ... [--limit N] [--features lead,body,...]
        [--df-out PATH] [--out PATH] [--evaluate FILE.jsonl ...] [--cache-dir DIR]

The pair model is a logistic regression on article-to-story pairs of corpus files with
``gold_story``; the join thresholds, and the undated join and merge thresholds of the merge
pass (average linkage) together, are chosen by replaying the online clusterer on them.
``--evaluate`` replays held-out files offline. The articles go through the pipeline's
analyser once and are cached (``--cache-dir``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from django.core.management.base import OutputWrapper

from clustering import scoring
from clustering.scoring import PairModel
from lab import clustering_training as training
from lab.clustering_training import LabelledArticle
from lab.environment import django_setup

JOIN_GRID = tuple(round(value, 2) for value in np.arange(0.05, 0.96, 0.05))
# The merge pass (average linkage): undated articles may join only the nearest stories (or none: 1.0),
# the merge pass grouping the rest.
LINKAGE_JOIN_GRID = (0.8, 0.9, 1.0)
LINKAGE_MERGE_GRID = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
# The merge thresholds of dated stories, and of stories whose sides complement each other (issue 16).
DATED_MERGE_GRID = (0.05, 0.1, 0.2, 0.3, 0.4)
COMPLEMENTARY_GRID = (0.005, 0.01, 0.02)
# The near-miss floor: this share of the complementary threshold (the page's safety net, not a merge).
NEAR_MISS_SHARE = 0.1


def coefficients_line(names: Sequence[str], weights: Sequence[float], intercept: float) -> str:
    return ", ".join(f"{name} {weight:+.3f}" for name, weight in zip(names, weights, strict=True)) + (
        f", intercept {intercept:+.3f}"
    )


def arguments_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lab.train_clustering", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", help="Training corpus JSONL files (rows with gold_story).")
    parser.add_argument("--limit", type=int, default=0, help="Only the first N rows of each training file.")
    parser.add_argument(
        "--features",
        default=",".join(scoring.FEATURE_NAMES),
        help=f"Comma-separated pair features, among {', '.join(scoring.FEATURE_NAMES)}.",
    )
    parser.add_argument("--regularisation", type=float, default=10.0, help="The inverse regularisation C.")
    parser.add_argument(
        "--stream-stories",
        type=int,
        default=307,
        help="Undated training files are replayed in streams of this many gold stories (the density of "
        "a day of news, or of the NeuS val file).",
    )
    parser.add_argument(
        "--min-precision",
        type=float,
        default=0.95,
        help="The join threshold maximises BCubed F1 among those keeping this precision (if any does).",
    )
    parser.add_argument("--decay-days", type=float, default=1.0, help="The logit falls by 1 per this many days.")
    parser.add_argument("--evaluate", action="append", default=[], help="A held-out file to replay (repeatable).")
    parser.add_argument("--out", default="", help="Where to write the model JSON (default: print it).")
    parser.add_argument(
        "--df-out",
        default="",
        help="Where to write the term document counts from the training files (needed by the terms feature; "
        "default: use the shipped table).",
    )
    parser.add_argument("--cache-dir", default="var/cluster_cache", help="Where analysed corpora are cached.")
    parser.add_argument(
        "--date-jitter-days",
        type=float,
        default=1.0,
        help="The dated merge thresholds are also scored on a copy of each dated stream whose articles' times "
        "move by up to this many days either way (seeded): one story's reports are rarely published at once.",
    )
    parser.add_argument(
        "--outlets",
        default="",
        help="An outlets JSONL file (name, lean): the sides of the articles, for the merge threshold of "
        "stories whose sides complement each other, chosen on the dated training streams.",
    )
    return parser


class TrainingError(Exception):
    """What stops a training run: a file that cannot be read, a feature that does not exist."""


class Training:
    """One run: its output streams, and the steps that print as they go."""

    def __init__(self, stdout: TextIO) -> None:
        # Django's wrapper ends each write with a newline, as a management command's streams do.
        self.stdout = OutputWrapper(stdout)

    def run(self, options: dict[str, Any]) -> None:
        names = tuple(name.strip() for name in options["features"].split(",") if name.strip())
        unknown = [name for name in names if name not in scoring.FEATURE_NAMES]
        if unknown or not names:
            raise TrainingError(f"Unknown features {unknown}: choose among {', '.join(scoring.FEATURE_NAMES)}")
        cache_dir = Path(options["cache_dir"]) if options["cache_dir"] else None
        corpora = [self._load(Path(path), cache_dir, options["limit"]) for path in options["paths"]]
        articles = [article for corpus in corpora for article in corpus]
        self.stdout.write(f"{len(articles)} training articles in {len({a.gold for a in articles})} stories.")

        if options["df_out"]:
            # Every row of the training files, not only the --limit ones: counts of words need no analysis.
            table = training.df_table(
                [
                    (str(row.get("title", "")), str(row.get("text", "")))
                    for path in options["paths"]
                    for row in training.corpus_read(Path(path))
                ]
            )
            table["provenance"] = (
                "Document counts of the words of titles and leads (first "
                f"{scoring.LEAD_CHARS} characters) of the training files "
                f"{', '.join(Path(path).name for path in options['paths'])}; words in at least "
                f"{training.DF_MIN_COUNT} articles, {training.DF_MAX_TERMS} at most. Counts only."
            )
            Path(options["df_out"]).write_text(json.dumps(table, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
            weights = scoring.TermWeights(documents=table["documents"], counts=table["counts"])
            # The pair features read the shipped table: a new one there takes effect now.
            scoring.term_weights.cache_clear()
            self.stdout.write(f"Wrote {len(table['counts'])} term counts to {options['df_out']}.")
        else:
            weights = scoring.term_weights()

        streams = [
            stream
            for corpus in corpora
            for stream in training.streams_of(corpus, stories_per_stream=options["stream_stories"])
        ]
        sides = training.outlet_sides(Path(options["outlets"])) if options["outlets"] else {}
        signals = [training.signals_of(stream, weights, sides) for stream in streams]
        rows, gaps, labels = [], [], []
        for stream, stream_signals in zip(streams, signals, strict=True):
            stream_rows, stream_gaps, stream_labels = training.training_pairs(
                stream_signals, [article.gold for article in stream], names
            )
            rows.append(stream_rows)
            gaps.append(stream_gaps)
            labels.append(stream_labels)
        features, gap, label = np.vstack(rows), np.concatenate(gaps), np.concatenate(labels)
        # The decay is fixed, not fitted: it enters the logit as an offset.
        fitted_weights, intercept = training.logistic_fit(
            features, label, regularisation=options["regularisation"], offset=-gap / options["decay_days"]
        )
        self.stdout.write(
            f"Fitted on {len(label)} pairs ({int(label.sum())} positive): "
            + coefficients_line(names, fitted_weights, intercept)
        )
        model = PairModel(
            features=names,
            weights=tuple(fitted_weights),
            intercept=intercept,
            join_probability=0.5,
            merge_probability=0.9,
            split_probability=0.02,
            decay_days=options["decay_days"],
        )
        # The join threshold: the best F1 on the dated streams (all, if none is dated), since time
        # keeps apart two events on one subject. The undated threshold: the best F1 on the undated
        # streams that keeps --min-precision, since nothing else will.
        dated = [index for index, stream in enumerate(streams) if stream[0].published_at is not None]
        undated = [index for index in range(len(streams)) if index not in dated]
        chosen: dict[str, tuple[float, float, float]] = {}
        for kind, indices, floor in (("dated", dated or undated, 0.0), ("undated", undated, options["min_precision"])):
            if indices:
                chosen[kind] = self._threshold(
                    model, [streams[i] for i in indices], [signals[i] for i in indices], floor
                )
                self.stdout.write(
                    f"{kind.capitalize()} join threshold {chosen[kind][0]:.2f}: training BCubed "
                    f"P {chosen[kind][1]:.4f} F1 {chosen[kind][2]:.4f}"
                )
        model = training.model_with(
            model,
            join_probability=chosen["dated"][0],
            join_probability_undated=chosen["undated"][0] if "undated" in chosen else None,
        )
        # The merge pass groups what the joins left apart: its threshold and the undated join threshold, together.
        model, chosen["undated"] = self._linkage_thresholds(model, streams, signals, options["min_precision"])
        if sides and dated:
            dated_streams = [streams[i] for i in dated]
            dated_signals = [signals[i] for i in dated]
            if options["date_jitter_days"]:
                dated_streams += dated_streams
                dated_signals += [training.jittered(stream, options["date_jitter_days"]) for stream in dated_signals]
            model = self._complementary_threshold(model, dated_streams, dated_signals, options["min_precision"])

        evaluations = []
        for path in options["evaluate"]:
            held_out = self._load(Path(path), cache_dir, 0)
            where = training.replay(training.signals_of(held_out, weights, sides), model)
            bcubed, pair = training.scores_of(held_out, where)
            evaluations.append(f"{Path(path).name}: BCubed {bcubed}; pairwise F1 {pair.f1:.4f}")
            if sides:
                errors = training.side_errors_of(held_out, where, sides)
                evaluations[-1] += (
                    f"; false missing side {errors.missing_rate:.4f}, false extra side {errors.extra_rate:.4f}"
                )
            self.stdout.write(f"Held out (offline replay) {evaluations[-1]}")

        data = training.model_dict(
            model,
            provenance=(
                f"Logistic regression (C={options['regularisation']}) on {len(label)} article-to-story pairs "
                f"({int(label.sum())} positive) from {', '.join(Path(path).name for path in options['paths'])}"
                + (f" (first {options['limit']} rows each)" if options["limit"] else "")
                + "; join thresholds by replaying the clusterer on them: "
                + "; ".join(
                    f"{kind} {values[0]:.2f} (training BCubed P {values[1]:.4f} F1 {values[2]:.4f})"
                    for kind, values in chosen.items()
                )
                + f", undated ones keeping precision {options['min_precision']}"
                + f"; merge pass by average linkage at {model.merge_probability:.2f}, the undated join threshold "
                f"{model.join_probability_undated:.2f} chosen with it by replay keeping precision "
                f"{options['min_precision']}. Written by python -m lab.train_clustering."
            ),
        )
        text = json.dumps(data, indent=2) + "\n"
        if options["out"]:
            Path(options["out"]).write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {options['out']}.")
        else:
            self.stdout.write(text)

    def _linkage_thresholds(
        self, model: PairModel, streams: list[Any], signals: list[Any], floor: float
    ) -> tuple[PairModel, tuple[float, float, float]]:
        """The undated join and the merge thresholds, together, for average linkage: the best mean BCubed F1
        over the undated streams (all, if none is) among those keeping ``floor`` precision."""
        dated = {index for index, stream in enumerate(streams) if stream[0].published_at is not None}
        indices = [index for index in range(len(streams)) if index not in dated] or list(range(len(streams)))
        best: tuple[Any, float, float, float] | None = None
        for join in LINKAGE_JOIN_GRID:
            for merge in LINKAGE_MERGE_GRID:
                candidate = training.model_with(
                    model,
                    join_probability=join,
                    join_probability_undated=None,
                    merge_probability=merge,
                )
                scored = [training.scores_of(streams[i], training.replay(signals[i], candidate))[0] for i in indices]
                precision = float(np.mean([score.precision for score in scored]))
                f1 = float(np.mean([score.f1 for score in scored]))
                self.stdout.write(
                    f"  undated join {join:.2f}, linkage merge {merge:.2f}: BCubed P {precision:.4f} F1 {f1:.4f}"
                )
                key = (precision >= floor, f1)
                if best is None or key > best[0]:
                    best = (key, join, merge, precision)
        assert best is not None
        self.stdout.write(
            f"Average linkage: undated join threshold {best[1]:.2f}, merge threshold {best[2]:.2f} "
            f"(training BCubed F1 {best[0][1]:.4f})"
        )
        fitted = training.model_with(model, join_probability_undated=best[1], merge_probability=best[2])
        return fitted, (best[1], best[3], best[0][1])

    def _complementary_threshold(
        self, model: PairModel, streams: list[Any], signals: list[Any], floor: float
    ) -> PairModel:
        """The merge thresholds of dated stories and of stories whose sides complement each other, together,
        and the near-miss floor under the latter: the best mean BCubed F1 over the dated streams among
        those keeping ``floor`` precision."""
        best: tuple[Any, float, float] | None = None
        for dated in DATED_MERGE_GRID:
            for threshold in COMPLEMENTARY_GRID:
                candidate = training.model_with(
                    model, merge_probability_dated=dated, merge_probability_complementary=threshold
                )
                scored = [
                    training.scores_of(stream, training.replay(stream_signals, candidate))[0]
                    for stream, stream_signals in zip(streams, signals, strict=True)
                ]
                precision = float(np.mean([score.precision for score in scored]))
                f1 = float(np.mean([score.f1 for score in scored]))
                self.stdout.write(
                    f"  dated merge {dated:.2f}, complementary merge {threshold:.3f}: "
                    f"BCubed P {precision:.4f} F1 {f1:.4f}"
                )
                key = (precision >= floor, f1)
                if best is None or key > best[0]:
                    best = (key, dated, threshold)
        assert best is not None
        self.stdout.write(
            f"Dated merge threshold {best[1]:.2f}, complementary {best[2]:.3f} (training BCubed F1 {best[0][1]:.4f})"
        )
        return training.model_with(
            model,
            merge_probability_dated=best[1],
            merge_probability_complementary=best[2],
            near_miss_probability=round(best[2] * NEAR_MISS_SHARE, 4),
        )

    def _threshold(
        self, model: PairModel, streams: list[Any], signals: list[Any], floor: float
    ) -> tuple[float, float, float]:
        """The join threshold of the best mean BCubed F1 over the streams among those keeping ``floor`` precision."""
        best: tuple[Any, float, float, float] | None = None
        for threshold in JOIN_GRID:
            candidate = training.model_with(model, join_probability=threshold, join_probability_undated=None)
            scored = [
                training.scores_of(stream, training.replay(stream_signals, candidate))[0]
                for stream, stream_signals in zip(streams, signals, strict=True)
            ]
            precision = float(np.mean([score.precision for score in scored]))
            f1 = float(np.mean([score.f1 for score in scored]))
            self.stdout.write(f"  join {threshold:.2f}: BCubed P {precision:.4f} F1 {f1:.4f}")
            key = (precision >= floor, f1)
            if best is None or key > best[0]:
                best = (key, threshold, precision, f1)
        assert best is not None
        return best[1], best[2], best[3]

    def _load(self, path: Path, cache_dir: Path | None, limit: int) -> list[LabelledArticle]:
        try:
            return training.features_load(path, cache_dir=cache_dir, limit=limit)
        except (OSError, ValueError) as error:
            raise TrainingError(f"Cannot read {path}: {error}") from error


def main(argv: Sequence[str] | None = None, *, stdout: TextIO = sys.stdout) -> None:
    django_setup()
    parser = arguments_parser()
    options = vars(parser.parse_args(argv))
    try:
        Training(stdout).run(options)
    except TrainingError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
