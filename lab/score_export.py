"""Score an ``export_stories`` file against a labelled corpus, as the project's owners measure.

    .venv/bin/python -m lab.score_export GOLD.jsonl EXPORT.jsonl [--outlets OUTLETS.jsonl]

``GOLD.jsonl`` is the corpus that was imported (``url``, ``gold_story``, ``outlet_domain``);
``EXPORT.jsonl`` is what ``manage.py export_stories`` wrote after ``import_outlets`` and
``import_articles`` (each line a story: ``id`` and ``urls``). Prints BCubed and pairwise precision,
recall and F1, and, with the outlets file (``domain``, ``lean``), the false missing and false extra
side rates over (article, side) pairs (definitions in ``../shared/data/README.md``). It is
``evaluate_clustering`` seen from the outside: no database, only the two files, so a difference
between the two is a difference between the import path and the evaluation's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from clustering.evaluation import bcubed, pairwise, side_errors

FOLDED = {"left": "left", "lean left": "left", "center": "center", "lean right": "right", "right": "right"}


def rows_read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def report(
    gold_rows: list[dict[str, object]], stories: list[dict[str, object]], leans: dict[str, str | None] | None = None
) -> list[str]:
    """The lines the command prints: the clustering's scores, and the side rates when ``leans`` (domain to
    folded side) is given. An article the export lacks counts as a story of its own."""
    gold = {str(row["url"]): str(row["gold_story"]) for row in gold_rows}
    predicted = {str(url): str(story["id"]) for story in stories for url in story.get("urls", [])}  # type: ignore[attr-defined]
    missing = [url for url in gold if url not in predicted]
    scores, pairs = bcubed(predicted, gold), pairwise(predicted, gold)
    lines = [
        f"{len(gold)} articles, {len(set(gold.values()))} gold stories, {len(stories)} exported stories",
        f"not exported (each counted as a story of its own): {len(missing)}",
        f"BCubed    P {scores.precision:.3f}  R {scores.recall:.3f}  F1 {scores.f1:.3f}",
        f"pairwise  P {pairs.precision:.3f}  R {pairs.recall:.3f}  F1 {pairs.f1:.3f}",
    ]
    if leans is not None:
        sides = {str(row["url"]): leans.get(str(row.get("outlet_domain", ""))) for row in gold_rows}
        lines.append(str(side_errors(predicted, gold, sides)))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("gold", type=Path)
    parser.add_argument("export", type=Path)
    parser.add_argument("--outlets", type=Path, help="Outlets JSONL with domain and lean.")
    options = parser.parse_args()
    leans = None
    if options.outlets:
        leans = {
            str(outlet.get("domain", "")): FOLDED.get(str(outlet.get("lean", "")).lower())
            for outlet in rows_read(options.outlets)
        }
    for line in report(rows_read(options.gold), rows_read(options.export), leans):
        print(line)


if __name__ == "__main__":
    main()
