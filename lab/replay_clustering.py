"""Replay the shipped clusterer on a dated labelled corpus with its articles' times spread, per window.

    .venv/bin/python -m lab.replay_clustering var/allsides_tune.jsonl \\
        --outlets ../shared/data/outlets/allsides_outlets_2021.jsonl --windows 3,7 --jitters 0,1,2,3,5

One story's reports are rarely published at once, yet in the AllSides dev file the three reports of a
story share one timestamp. Each row here moves every article's time by up to ``J`` days either way
(uniform; seeds 0-2, averaged), then replays the clusterer offline (``clustering_training.replay``:
the pipeline's batches, window, shortlist and merge pass) with the shipped model, for each window
(``NEWSROOM_CLUSTER_WINDOW_DAYS``) and time decay asked. It prints BCubed precision, recall, F1 and
the false missing / extra side rates. Choose on the tune part; read the final part once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.environment import django_setup

SEEDS = (0, 1, 2)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m lab.replay_clustering",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", help="A dated corpus JSONL file with gold_story.")
    parser.add_argument("--outlets", default="", help="Outlets JSONL (name, lean): the side rates and the merge pass.")
    parser.add_argument("--windows", default="", help="Comma-separated windows in days (default: the setting).")
    parser.add_argument("--decays", default="", help="Comma-separated time decays in days (default: the model's).")
    parser.add_argument("--jitters", default="0,1,2,3", help="Comma-separated spreads in days.")
    parser.add_argument("--cache-dir", default="var/cluster_cache", help="Where analysed corpora are cached.")
    options = parser.parse_args()
    django_setup()
    from django.conf import settings

    from clustering import scoring
    from lab import clustering_training as training

    sides = training.outlet_sides(Path(options.outlets)) if options.outlets else {}
    articles = training.features_load(Path(options.path), cache_dir=Path(options.cache_dir))
    base = scoring.model_load()
    signals = training.signals_of(articles, scoring.term_weights(), sides)
    windows = [float(value) for value in options.windows.split(",") if value] or [settings.NEWSROOM_CLUSTER_WINDOW_DAYS]
    decays = [float(value) for value in options.decays.split(",") if value] or [base.decay_days]
    for decay in decays:
        model = training.model_with(base, decay_days=decay)
        for window in windows:
            for days in (float(value) for value in options.jitters.split(",")):
                rows = []
                for seed in SEEDS if days else SEEDS[:1]:
                    spread = training.jittered(signals, days, seed=seed) if days else signals
                    where = training.replay(spread, model, window_days=window)
                    scores, _pairs = training.scores_of(articles, where)
                    line = [scores.precision, scores.recall, scores.f1]
                    if sides:
                        errors = training.side_errors_of(articles, where, sides)
                        line += [errors.missing_rate, errors.extra_rate]
                    rows.append(line)
                mean = [sum(row[index] for row in rows) / len(rows) for index in range(len(rows[0]))]
                text = f"P {mean[0]:.3f} R {mean[1]:.3f} F1 {mean[2]:.3f}"
                if sides:
                    text += f" false missing side {mean[3]:.4f} false extra side {mean[4]:.4f}"
                print(f"decay {decay:g} d, window {window:g} d, times spread ±{days:g} d: {text}", flush=True)


if __name__ == "__main__":
    main()
