"""Measure Ask's retrieval on a file of questions with the answers expected (or none).

Each row names its story by ``story_title`` (exact, then contained, case-insensitive) or by
``url`` (a member article), and carries ``question`` with one of: ``answer`` (a piece of text
one of the returned sentences should contain), ``"unanswerable": true`` (off the story's topic),
``"related_only": true`` (on its topic, but the coverage does not answer it: it must be refused,
its related facts shown apart) or ``"broad": true`` ("What happened?": answered with the cited
overview). It prints the share of answerable questions whose returned sentences contain the
answer and the share of the others refused, then each kind's answered / refused / wrong counts.
Questions asked here are not logged.

With ``--corpus`` (or ``--demo``) the articles are first imported into a throwaway database and
run through the pipeline (as evaluate_clustering does), so the user's database is never touched;
without it, the questions are asked of the stories already in the database (``load_demo``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clustering.evaluation import scratch_database
from sources.models import Article
from stories.ask import question_clean, question_encode, story_answer
from stories.models import Story


@dataclass(frozen=True)
class Case:
    line: int
    question: str
    story_title: str
    url: str
    answer: str
    is_unanswerable: bool
    is_related_only: bool = False
    is_broad: bool = False

    @property
    def kind(self) -> str:
        if self.is_broad:
            return "broad"
        if self.is_related_only:
            return "related only"
        return "unanswerable" if self.is_unanswerable else "answerable"


def cases_read(path: Path) -> list[Case]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error}") from error
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise CommandError(f"{path}:{number}: not JSON ({error.msg}).") from error
        if not isinstance(row, dict) or not str(row.get("question", "")).strip():
            raise CommandError(f"{path}:{number}: a row needs a question.")
        if not row.get("story_title") and not row.get("url"):
            raise CommandError(f"{path}:{number}: a row needs story_title or url to find its story.")
        is_unanswerable = bool(row.get("unanswerable"))
        is_related_only, is_broad = bool(row.get("related_only")), bool(row.get("broad"))
        if not (is_unanswerable or is_related_only or is_broad) and not str(row.get("answer", "")).strip():
            raise CommandError(
                f'{path}:{number}: a row needs an answer, or "unanswerable", "related_only" or "broad": true.'
            )
        cases.append(
            Case(
                line=number,
                question=str(row["question"]),
                story_title=str(row.get("story_title", "")),
                url=str(row.get("url", "")),
                answer=str(row.get("answer", "")),
                is_unanswerable=is_unanswerable or is_related_only,
                is_related_only=is_related_only,
                is_broad=is_broad,
            )
        )
    return cases


def story_find(case: Case) -> Story | None:
    if case.url:
        article = Article.objects.filter(url=case.url).select_related("membership__cluster__story").first()
        membership = getattr(article, "membership", None) if article else None
        return getattr(membership.cluster, "story", None) if membership else None
    stories = Story.objects.listed()
    return (
        stories.filter(title__iexact=case.story_title).first()
        or stories.filter(title__icontains=case.story_title).order_by("-article_count").first()
    )


def _folded(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


class Command(BaseCommand):
    help = (
        "Ask each question of a JSONL file about its story and print the share of answerable questions "
        "whose returned sentences contain the expected answer, and the share of unanswerable ones refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Questions JSONL: story_title or url, question, answer or unanswerable.")
        parser.add_argument(
            "--corpus",
            default="",
            help="A corpus JSONL to import into a scratch database and run through the pipeline first.",
        )
        parser.add_argument("--demo", action="store_true", help="Load the demo corpus into a scratch database first.")

    def handle(self, *args: Any, path: str, corpus: str, demo: bool, **options: Any) -> None:
        cases = cases_read(Path(path))
        if (corpus or demo) and not settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("--corpus and --demo run the pipeline in-process: unset CELERY_BROKER_URL.")
        if not corpus and not demo:
            self._evaluate(cases, int(options.get("verbosity", 1)))
            return
        with scratch_database("evaluate_ask"):
            started = time.perf_counter()
            # By command name, as an operator would run them.
            if demo:
                call_command("load_demo", stdout=self.stdout, stderr=self.stderr)
            else:
                try:
                    call_command("import_articles", corpus, stdout=self.stdout, stderr=self.stderr)
                except CommandError as error:  # rows rejected: measured on the ones it kept, as it says
                    self.stderr.write(str(error))
            self.stdout.write(f"Pipeline done in {time.perf_counter() - started:.1f} s.")
            self._evaluate(cases, int(options.get("verbosity", 1)))

    def _evaluate(self, cases: list[Case], verbosity: int) -> None:
        answerable = found = unanswerable = refused = 0
        outcomes: dict[str, dict[str, int]] = {}
        question_encode("Load the encoder before the clock starts.")
        started = time.perf_counter()
        for case in cases:
            story = story_find(case)
            if story is None:
                raise CommandError(f"line {case.line}: no story for {case.story_title or case.url!r}.")
            try:
                answer = story_answer(story=story, question=question_clean(case.question))
            except ValidationError as error:
                raise CommandError(f"line {case.line}: {' '.join(error.messages)}") from error
            quoted = [quote.text for quote in answer.quotes]
            if case.is_broad:
                success = answer.is_supported and bool(answer.sections)
                outcome = "answered" if success else ("wrong" if answer.is_supported else "refused")
            elif case.is_unanswerable:
                unanswerable += 1
                success = not answer.is_supported
                refused += success
                outcome = "refused" if success else "wrong"
            else:
                answerable += 1
                success = any(_folded(case.answer) in _folded(text) for text in quoted)
                found += success
                outcome = "answered" if success else ("wrong" if answer.is_supported else "refused")
            counts = outcomes.setdefault(case.kind, {"answered": 0, "refused": 0, "wrong": 0, "marked": 0})
            counts[outcome] += 1
            # An answer whose question has words no article uses is marked on the page as possibly not one.
            counts["marked"] += answer.is_supported and not case.is_broad and bool(answer.missing_words)
            if verbosity >= 2 or not success:
                mark = "ok  " if success else "MISS"
                self.stdout.write(f"{mark} line {case.line}: {case.question}")
                for quote in answer.quotes:
                    self.stdout.write(f"       [{quote.number}] {quote.score:.3f} {quote.text[:150]}")
                if not answer.quotes:
                    self.stdout.write("       (refused)")
                for quote in answer.related:
                    self.stdout.write(f"       not an answer: [{quote.number}] {quote.text[:150]}")
                if answer.missing_words:
                    self.stdout.write(f"       words no article uses: {', '.join(answer.missing_words)}")
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Asked {len(cases)} questions in {elapsed:.1f} s.")
        if answerable:
            self.stdout.write(
                f"Answerable: {found}/{answerable} = {found / answerable:.3f}"
                " whose returned sentences contain the answer"
            )
        if unanswerable:
            self.stdout.write(f"Unanswerable: {refused}/{unanswerable} = {refused / unanswerable:.3f} refused")
        for kind, counts in outcomes.items():
            answered, refused_count, wrong = counts["answered"], counts["refused"], counts["wrong"]
            line = f"{kind.capitalize()}: answered {answered}, refused {refused_count}, wrong {wrong}"
            if kind != "broad":
                line += f"; of the {answered + wrong} answers given, {counts['marked']} marked as possibly not one"
            if kind in ("unanswerable", "related only"):
                total = answered + refused_count + wrong
                line += f"; refused or marked {refused_count + counts['marked']}/{total}"
            self.stdout.write(line)
