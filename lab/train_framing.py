"""Train the framing classifier and write its weights, or cross-validate it.

    .venv/bin/python -m lab.train_framing FILE.jsonl [--cv 5] [--seed 0] [--output PATH] [--name NAME]
        [--features-cache PATH.npz]

FILE is JSONL with ``title``, ``text`` and ``gold_frames`` over the 14 policy frames. Without
``--cv`` it fits the model (choices by inner cross-validation, see ``lab.framing_training``) and
writes its weights (default: the shipped ``analysis/nlp/weights/framing.npz``); with ``--cv K``
it prints K-fold nested cross-validated micro-F1 and macro-F1 instead and writes nothing.

With ``--grouped`` (the shipped model since issue 18) the folds hold whole topic clusters out
and the model is the embedding model alone, with a confidence below which a frame is not shown
(``lab.framing_grouped``): ``--cv K`` then prints the grouped figures, with the precision of the
frames shown.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from lab.environment import django_setup

MINIMUM_ARTICLES = 20


def main(argv: Sequence[str] | None = None, *, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> None:
    django_setup()
    from analysis.evaluation import features_compute, labelled_read, labels_matrix, scores_write
    from analysis.nlp.framing import WEIGHTS_PATH
    from lab.framing_training import framing_cross_validate, framing_fit, majority_cross_validate

    parser = argparse.ArgumentParser(
        prog="python -m lab.train_framing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
    parser.add_argument(
        "--grouped", action="store_true", help="Folds by topic cluster; the embedding model with a display threshold."
    )
    arguments = parser.parse_args(argv)
    path: Path = arguments.path

    try:
        articles = list(labelled_read(path))
    except (OSError, ValueError) as error:
        parser.error(f"Cannot read {path}: {error}")
    if len(articles) < MINIMUM_ARTICLES:
        parser.error(f"{path} has {len(articles)} labelled articles; at least {MINIMUM_ARTICLES} are needed.")
    if arguments.cv and arguments.cv < 2:
        parser.error("--cv needs at least 2 folds.")
    labels = labels_matrix(articles)
    started = time.perf_counter()
    features, segments = features_compute(articles, arguments.features_cache)
    stderr.write(f"Encoded {len(articles)} articles in {time.perf_counter() - started:.0f}s.\n")
    if arguments.grouped:
        from lab.framing_grouped import grouped_cross_validate, grouped_fit, topic_groups

        groups = topic_groups(features, seed=arguments.seed)
        if arguments.cv:
            result = grouped_cross_validate(features, labels, groups, folds=arguments.cv)
            stdout.write(f"{arguments.cv}-fold cross-validation grouped by topic cluster on {path.name}:\n")
            scores_write(stdout, "framing classifier (tags)", result.tags, per_frame=True)
            stdout.write(
                f"frames shown: precision {result.shown_precision:.3f}, {result.shown_share:.3f} of the tags, "
                f"articles with one at least {result.articles_with_a_shown_frame:.3f}\n"
            )
            return
        model = grouped_fit(
            features,
            labels,
            groups,
            meta={
                "name": arguments.name or path.stem,
                "trained_on": path.name,
                "articles": str(len(articles)),
                "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
            },
        )
        output: Path = arguments.output
        model.save(output)
        stdout.write(f"Wrote {output} ({output.stat().st_size // 1024} KiB), version {model.version}.\n")
        return
    if arguments.cv:
        folds, seed = arguments.cv, arguments.seed
        stdout.write(f"{folds}-fold cross-validation on {path.name} ({len(articles)} articles, nested tuning):\n")
        scores_write(stdout, "always the most common frames", majority_cross_validate(labels, folds=folds, seed=seed))
        scores_write(
            stdout,
            "framing classifier",
            framing_cross_validate(features, labels, segments, folds=folds, seed=seed),
            per_frame=True,
        )
        return
    model = framing_fit(
        features,
        labels,
        segments,
        seed=arguments.seed,
        meta={
            "name": arguments.name or path.stem,
            "trained_on": path.name,
            "articles": str(len(articles)),
            "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        },
    )
    model.save(arguments.output)
    stdout.write(
        f"Wrote {arguments.output} ({arguments.output.stat().st_size // 1024} KiB), version {model.version}.\n"
    )


if __name__ == "__main__":
    main()
