"""Simulate Ask's answer-model rule variants on a question file, over the stories already in the database.

    DATABASE_URL=sqlite:///var/enc.sqlite3 .venv/bin/python -m lab.ask_rules QUESTIONS.jsonl [--cross PATH]

(the database holds the question file's corpus, imported with ``manage.py import_articles``). For each
question it reads what the runtime reads, once (``stories.ask.judged_candidates``: the candidate
sentences, the answer model's probability for each, whether each names what the question asks for,
the question's words the story never uses); then it prints, for each variant, answerable answered (a
quoted sentence holds the answer), related-only refused and off-topic refused. The variants:

- the threshold (``NEWSROOM_ASK_MIN_ANSWER_PROBABILITY``);
- the yes-or-no veto and the unknown-names veto (none, one capitalised word, two, two with the
  headlines counted: shipped); the unnamed-speaker veto ("What did Biden say ...?" of a story that
  never names him);
- the typed rule: the sentences naming what the question asks for (a person for "who") get a bonus
  in the ranking ("bonus"), and when one of them passes, only they are quoted ("strict": shipped);
  "refuse": strict, and a question that asks for a kind of answer none of the quotes names is refused;
  "refuse values": the same for a question that asks for a value only (a date, a number, a sum);
- the yes-or-no cover: a yes-or-no question quotes only sentences holding at least this share of
  its content words (none: no such rule);
- the missing-share veto: a question with two or more words the story never uses is refused when
  they are at least this share of its content words (none: no such veto);
- ``--spacy-labels``: whether a candidate names what is asked, read from spaCy's own entities of it
  rather than the analysis's kept actors and ``value_labels`` (which the runtime reads);
- the missing-word bar: a wh-question with a word the story never uses is answered only when the
  model's best probability reaches it ("none": no bar).
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass
from pathlib import Path

from lab.environment import django_setup

QUOTES = 3


@dataclass(frozen=True)
class Variant:
    threshold: float = 0.3
    yes_no_veto: bool = True
    names_veto: str = "two with headlines"
    typed: str = "strict"
    missing_bar: float | None = None
    speaker_veto: bool = True
    yes_no_cover: float | None = None
    missing_share: float | None = None

    def __str__(self) -> str:
        bar = "none" if self.missing_bar is None else f"{self.missing_bar}"
        return (
            f"threshold {self.threshold:<4} yes-or-no veto {'on ' if self.yes_no_veto else 'off'} "
            f"names veto {self.names_veto:<18} speaker veto {'on ' if self.speaker_veto else 'off'} "
            f"typed {self.typed:<6} missing-word bar {bar:<4}"
            + ("" if self.yes_no_cover is None else f" yes-or-no cover {self.yes_no_cover}")
            + ("" if self.missing_share is None else f" missing share veto {self.missing_share}")
        )


def main() -> None:
    django_setup()
    from analysis.nlp.answer import (
        ANSWER_TYPE_WORDS,
        answer_labels,
        content_words,
        passages_judged,
        passages_typed,
        question_asks_unnamed_speaker,
        question_is_yes_no,
        sentence_words,
        value_labels,
        words_missing,
    )
    from analysis.nlp.answer_cross import answer_cross_encoder
    from newsroom.management.commands.evaluate_ask import _folded, cases_read, story_find
    from stories.ask import _story_sentences, judged_candidates, question_clean, question_encode

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--cross", default="", help="Adapters (default: the shipped ones).")
    parser.add_argument("--all", action="store_true", help="Every combination, not only one change at a time.")
    parser.add_argument(
        "--spacy-labels",
        action="store_true",
        help="Whether a candidate names what is asked, by spaCy's labels of it (who: a person, organisation or group).",
    )
    parser.add_argument("--show", action="store_true", help="List the shipped rule's misses (answered or not).")
    parser.add_argument(
        "--diff",
        default="",
        metavar="TYPED",
        help="List the questions a typed rule (refuse, refuse values, refuse no value) answers otherwise.",
    )
    arguments = parser.parse_args()
    judge = answer_cross_encoder(arguments.cross)
    assert judge is not None

    def names(words: list[str], question: str) -> int:
        return sum(1 for word in words if word[:1].isupper() and not question.startswith(word))

    cases = []
    judged_sentences: dict[int, list[str]] = {}
    for case in cases_read(arguments.path):
        story = story_find(case)
        if case.is_broad or story is None:
            continue
        story_sentences = _story_sentences(story)
        sentences, matrix = story_sentences[0], story_sentences[1]
        question = question_clean(case.question)
        judged = judged_candidates(question, question_encode(question), story_sentences, judge)
        if arguments.spacy_labels:
            import dataclasses

            from analysis.services import analyser

            nlp = analyser().nlp
            wanted = answer_labels(question)
            spacy_found = [
                {entity.label_ for entity in doc.ents} for doc in nlp.pipe(sentences[row] for row in judged.rows)
            ]
            if "PERSON" in wanted:
                spacy_found = [
                    labels | ({"PERSON"} if labels & {"PERSON", "ORG", "NORP"} else set()) for labels in spacy_found
                ]
            named = [old or bool(wanted & labels) for old, labels in zip(judged.named, spacy_found, strict=True)]
            judged = dataclasses.replace(judged, named=named)
        holds = {row for row in judged.rows if case.answer and _folded(case.answer) in _folded(sentences[row])}
        unknown = {
            "none": 0,
            "one": names(words_missing(question, sentences), question),
            "two": names(words_missing(question, sentences), question) // 2,
            "two with headlines": names(judged.missing, question) // 2,
        }
        judged_sentences[id(judged)] = sentences
        cases.append((case.kind, question, judged, matrix, holds, unknown))

    def answered(variant: Variant, question: str, judged, matrix, unknown: dict[str, int]) -> list[int] | None:  # type: ignore[no-untyped-def]
        chosen = passages_judged(
            judged.rows,
            judged.probabilities,
            judged.similarity,
            matrix,
            min_probability=variant.threshold,
            count=len(judged.rows),
            named=judged.named,
        )
        if variant.typed in ("strict", "refuse", "refuse values", "refuse no value"):
            chosen = passages_typed(chosen, judged.rows, judged.named)
        if variant.yes_no_cover is not None and question_is_yes_no(question):
            # A yes-or-no question is answered by a sentence about what it asks: most of its words in it.
            asked = content_words(question)
            sentences = judged_sentences[id(judged)]
            chosen = [
                passage
                for passage in chosen
                if len(asked & sentence_words(sentences[passage.row])) >= variant.yes_no_cover * len(asked)
            ]
        chosen = chosen[:QUOTES]
        if not chosen:
            return None
        if variant.yes_no_veto and question_is_yes_no(question) and judged.missing:
            return None
        if unknown[variant.names_veto]:
            return None
        if variant.speaker_veto and question_asks_unnamed_speaker(question, judged.missing):
            return None
        if variant.missing_bar is not None and judged.missing and chosen[0].score < variant.missing_bar:
            return None
        if variant.missing_share is not None and len(judged.missing) >= 2:
            asked = content_words(question, skip=ANSWER_TYPE_WORDS)
            missing = set().union(*(content_words(word) for word in judged.missing))
            if len(missing) >= variant.missing_share * max(len(asked), 1):
                return None
        wanted = answer_labels(question)
        values = variant.typed == "refuse values" and wanted and not wanted & {"PERSON", "GPE", "LOC", "FAC"}
        if variant.typed == "refuse no value" and wanted and not wanted & {"PERSON", "GPE", "LOC", "FAC"}:
            # A question asking for a value, of quotes that state none (no number, date, sum or time).
            sentences = judged_sentences[id(judged)]
            if not any(value_labels(sentences[passage.row]) for passage in chosen):
                return None
        if (variant.typed == "refuse" and wanted) or values:
            named_rows = {row for row, names in zip(judged.rows, judged.named, strict=True) if names}
            if not any(passage.row in named_rows for passage in chosen):
                return None
        return [passage.row for passage in chosen]

    if arguments.show:
        for kind, question, judged, matrix, holds, unknown in cases:
            rows = answered(Variant(), question, judged, matrix, unknown)
            if (kind == "answerable" and not (rows and holds & set(rows))) or (kind != "answerable" and rows):
                best = max(judged.probabilities.tolist(), default=0.0)
                print(f"miss ({kind}, best {best:.2f}, missing {judged.missing}): {question}")
    if arguments.diff:
        for kind, question, judged, matrix, _holds, unknown in cases:
            shipped_rows = answered(Variant(), question, judged, matrix, unknown)
            rows = answered(Variant(typed=arguments.diff), question, judged, matrix, unknown)
            if shipped_rows != rows:
                sentences = judged_sentences[id(judged)]
                quoted = " | ".join(sentences[row][:90] for row in shipped_rows or [])
                print(f"{kind}: {question}\n    was: {quoted}\n    now: {rows or 'refused'}")
    kinds = ("answerable", "related only", "unanswerable")
    totals = {kind: sum(1 for case in cases if case[0] == kind) for kind in kinds}
    print(f"{len(cases)} questions: " + ", ".join(f"{totals[kind]} {kind}" for kind in kinds))
    shipped = Variant()
    if arguments.all:
        variants = [
            Variant(*values)
            for values in itertools.product(
                (0.2, 0.3, 0.5),
                (False, True),
                ("none", "one", "two", "two with headlines"),
                ("bonus", "strict", "refuse", "refuse values"),
                (None, 0.5, 0.7, 0.9),
                (False, True),
            )
        ]
    else:
        variants = [
            shipped,
            *(Variant(threshold=value) for value in (0.2, 0.25, 0.5)),
            Variant(yes_no_veto=False),
            Variant(speaker_veto=False),
            *(Variant(names_veto=value) for value in ("none", "one", "two")),
            Variant(typed="bonus"),
            Variant(typed="refuse"),
            Variant(typed="refuse values"),
            Variant(typed="refuse no value"),
            *(Variant(missing_bar=value) for value in (0.5, 0.6, 0.7, 0.8, 0.9)),
            *(Variant(yes_no_cover=value) for value in (0.5, 0.67, 0.8, 1.0)),
            *(Variant(missing_share=value) for value in (0.0, 0.34, 0.5, 0.67)),
        ]
    for variant in variants:
        results = [
            (kind, answered(variant, question, judged, matrix, unknown), holds)
            for kind, question, judged, matrix, holds, unknown in cases
        ]
        found = sum(1 for kind, rows, holds in results if kind == "answerable" and rows and holds & set(rows))
        refused = {kind: sum(1 for case_kind, rows, _ in results if case_kind == kind and not rows) for kind in kinds}
        print(
            f"{variant}  answerable {found}/{totals['answerable']} (refused {refused['answerable']})  "
            f"related only refused {refused['related only']}/{totals['related only']}  "
            f"off topic refused {refused['unanswerable']}/{totals['unanswerable']}"
        )


if __name__ == "__main__":
    main()
