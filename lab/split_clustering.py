"""Cut a dated labelled corpus in two by date, whole stories on each side: a part to tune on and
an untouched part to report on.

    .venv/bin/python -m lab.split_clustering ../shared/data/stories/allsides_roundups_dev.jsonl \
        --final-from 2021-09-01 --tune-out var/allsides_tune.jsonl --final-out var/allsides_final.jsonl

A story goes to the final part when its first article is published on or after ``--final-from``,
so no story straddles the cut and every tuned choice predates what it is measured on, as in a
newsroom where the model is fixed before the news it clusters. The rows are copied unchanged
(research data: write them under ``var/``, which git ignores, never into the repository).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

from lab import clustering_training as training

Rows = list[dict[str, Any]]


def split_by_date(rows: Sequence[dict[str, Any]], *, final_from: date) -> tuple[Rows, Rows]:
    """The rows of stories that start before ``final_from`` (tune) and of those that start on or after it (final).

    Every row must be dated: an undated row could belong to either side of the cut.
    """
    starts: dict[str, datetime] = {}
    for row in rows:
        moment = training.moment_of(row.get("published_at"))
        if moment is None:
            raise ValueError(f"{row.get('url')}: no published_at; a split by date needs every row dated")
        story = str(row["gold_story"])
        starts[story] = min(starts.get(story, moment), moment)
    cut = datetime(final_from.year, final_from.month, final_from.day, tzinfo=UTC)
    tune = [row for row in rows if starts[str(row["gold_story"])] < cut]
    final = [row for row in rows if starts[str(row["gold_story"])] >= cut]
    return tune, final


def main(argv: Sequence[str] | None = None, *, stdout: TextIO = sys.stdout) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m lab.split_clustering", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", help="A dated corpus JSONL file with gold_story.")
    parser.add_argument("--final-from", required=True, type=date.fromisoformat, help="First day of the final part.")
    parser.add_argument("--tune-out", required=True, help="Where to write the stories before the cut.")
    parser.add_argument("--final-out", required=True, help="Where to write the stories from the cut on.")
    options = parser.parse_args(argv)
    try:
        rows = training.corpus_read(Path(options.path))
        tune, final = split_by_date(rows, final_from=options.final_from)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    for rows_out, out in ((tune, options.tune_out), (final, options.final_out)):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text("".join(training.json_line(row) for row in rows_out), encoding="utf-8")
        stories = len({row["gold_story"] for row in rows_out})
        stdout.write(f"{out}: {len(rows_out)} rows, {stories} stories\n")


if __name__ == "__main__":
    main()
