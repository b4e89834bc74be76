"""Dump what Ask gives each question of a set, for studying the "may not answer" mark offline.

    .venv/bin/python -m lab.ask_mark QUESTIONS.jsonl --corpus CORPUS.jsonl --out var/mark_SET.json

The corpus is imported into a scratch database and run through the pipeline (as ``evaluate_ask``
does); then each question is answered as the runtime answers it (``stories.ask.story_answer``) and
one record is kept per question: its kind, whether the answer holds the expected text, the quotes,
and the question's words the story never uses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.environment import django_setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    django_setup()
    from django.core.management import call_command

    from clustering.evaluation import scratch_database
    from newsroom.management.commands.evaluate_ask import _folded, cases_read, story_find
    from stories.ask import question_clean, story_answer

    cases = cases_read(args.questions)
    records = []
    with scratch_database("ask_mark"):
        call_command("import_articles", str(args.corpus))
        for case in cases:
            story = story_find(case)
            assert story is not None, case
            answer = story_answer(story=story, question=question_clean(case.question))
            quoted = [quote.text for quote in answer.quotes]
            records.append(
                {
                    "line": case.line,
                    "kind": case.kind,
                    "question": case.question,
                    "expected": case.answer,
                    "supported": answer.is_supported,
                    "right": bool(case.answer) and any(_folded(case.answer) in _folded(text) for text in quoted),
                    "quotes": quoted,
                    "scores": [quote.score for quote in answer.quotes],
                    "missing": answer.missing_words,
                    "broad": bool(answer.sections),
                }
            )
    args.out.write_text(json.dumps(records, indent=1), encoding="utf-8")
    print(f"{len(records)} questions -> {args.out}")


if __name__ == "__main__":
    main()
