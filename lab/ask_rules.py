"""Simulate Ask's answer-model rule variants on a question file, over the stories already in the database.

    DATABASE_URL=sqlite:///var/enc.sqlite3 .venv/bin/python -m lab.ask_rules QUESTIONS.jsonl [--cross PATH]

(the database holds the question file's corpus, imported with ``manage.py import_articles``). For each
question it reads the story's stored sentences, the answer model's probability for every sentence, and
the question's words the story never uses, once; then it prints, for each variant, answerable answered
(a quoted sentence holds the answer), related-only refused and off-topic refused. The variants: the
threshold; the yes-or-no veto; vetoing one or two unknown capitalised words, with or without the
headlines counted. It simplifies the runtime's candidates to the 8 closest sentences at cosine 0.3 and
quotes the 3 most probable above the threshold: the figures the model card calls a simulation.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.environment import django_setup

CANDIDATES, FLOOR, QUOTES = 8, 0.3, 3


@dataclass(frozen=True)
class Case:
    kind: str
    top: list[tuple[float, bool]]  # (probability, holds the answer) of the candidates, most probable first
    yes_no: bool
    names_missing: int  # capitalised words of the question the sentences never use
    names_missing_with_titles: int  # ... that the sentences and the headlines never use
    missing: bool  # a word of the question the sentences and headlines never use


def main() -> None:
    django_setup()
    from analysis.nlp.answer import question_is_yes_no, words_missing
    from analysis.nlp.answer_cross import answer_cross_encoder, answer_probabilities
    from newsroom.management.commands.evaluate_ask import _folded, cases_read, story_find
    from sources.models import Article
    from stories.ask import _story_sentences, question_clean, question_encode

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--cross", default="", help="Adapters (default: the shipped ones).")
    arguments = parser.parse_args()
    cross = answer_cross_encoder(arguments.cross)
    cases: list[Case] = []
    for case in cases_read(arguments.path):
        story = story_find(case)
        if case.is_broad or story is None:
            continue
        sentences, matrix, _, _ = _story_sentences(story)
        question = question_clean(case.question)
        similarity = matrix @ question_encode(question)
        rows = [int(row) for row in np.argsort(-similarity)[:CANDIDATES] if similarity[row] >= FLOOR]
        probabilities = answer_probabilities(cross, question, [sentences[row] for row in rows])
        holds = [bool(case.answer) and _folded(case.answer) in _folded(sentences[row]) for row in rows]
        titles = list(Article.objects.filter(membership__cluster_id=story.pk).values_list("title", flat=True))
        alone, with_titles = words_missing(question, sentences), words_missing(question, [*sentences, *titles])

        def names(words: list[str], question: str = question) -> int:
            return sum(1 for word in words if word[:1].isupper() and not question.startswith(word))

        cases.append(
            Case(
                kind=case.kind,
                top=sorted(zip(probabilities.tolist(), holds, strict=True), key=lambda pair: -pair[0]),
                yes_no=question_is_yes_no(question),
                names_missing=names(alone),
                names_missing_with_titles=names(with_titles),
                missing=bool(with_titles),
            )
        )
    kinds = ("answerable", "related only", "unanswerable")
    totals = {kind: sum(1 for case in cases if case.kind == kind) for kind in kinds}
    print(f"{len(cases)} questions: " + ", ".join(f"{totals[kind]} {kind}" for kind in kinds))
    for threshold, yes_no_veto, names_veto in itertools.product(
        (0.2, 0.25, 0.3, 0.5), (False, True), ("none", "one", "two", "two with headlines")
    ):

        def answered(
            case: Case, threshold: float = threshold, yes_no: bool = yes_no_veto, rule: str = names_veto
        ) -> bool:
            if not case.top or case.top[0][0] < threshold:
                return False
            if yes_no and case.yes_no and case.missing:
                return False
            unknown = {"none": 0, "one": case.names_missing, "two": case.names_missing // 2}.get(
                rule, case.names_missing_with_titles // 2
            )
            return not unknown

        found = sum(
            1
            for case in cases
            if case.kind == "answerable"
            and answered(case)
            and any(holds for probability, holds in case.top[:QUOTES] if probability >= threshold)
        )
        refused = {kind: sum(1 for case in cases if case.kind == kind and not answered(case)) for kind in kinds[1:]}
        print(
            f"threshold {threshold:<4} yes-or-no veto {'on ' if yes_no_veto else 'off'} names veto {names_veto:<18} "
            f"answerable {found}/{totals['answerable']}  related only refused "
            f"{refused['related only']}/{totals['related only']}  off topic refused "
            f"{refused['unanswerable']}/{totals['unanswerable']}"
        )


if __name__ == "__main__":
    main()
