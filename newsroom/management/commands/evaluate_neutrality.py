"""Measure how neutral the story pages' own words are: the NeuS framing-bias metric of title + overview.

    manage.py evaluate_neutrality --corpus CORPUS.jsonl --targets TARGETS.jsonl --lexicon NRC-VAD.txt
        [--outlets OUTLETS.jsonl] [--limit N]

The corpus (rows with ``gold_story``, the labels stripped before import) goes through the real
import and pipeline in a scratch database, after the outlets file if given (their leans). For
each story page, the gold story of most of its articles gives the editors' neutral headline and
summary (``neutral_title``, ``neutral_summary`` in TARGETS). The NeuS metric (Lee et al., NAACL
2022) of a text: over its words that are not in the neutral title and summary, the summed NRC-VAD
arousal of clearly positive (valence > 0.65) and clearly negative (< 0.35) words. It prints the
mean over stories of the page's title + overview, beside each side's own article (its headline and
as many of its leading sentences as the overview has), and the share of titles that are a
left- or right-rated outlet's own headline. And the wording of the claims more than one side
stated (the claims table's shared facts): its NeuS per claim, and, of those the center stated
too, the share worded by a left or right outlet's sentence, and the share of their side cells
marked "Similar" (every citing sentence only close to the wording). Lower is more neutral.

The lexicon is read from the path given here, for measurement only: the product never reads it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from analysis.nlp.summarise import stands_alone
from clustering.evaluation import scratch_database
from newsroom import pipeline
from sources.models import Article, Side
from stories.models import Story

POSITIVE_VALENCE, NEGATIVE_VALENCE = 0.65, 0.35
WORD = re.compile(r"[a-z]+(?:['\u2019-][a-z]+)*")


def words_of(text: str) -> list[str]:
    return WORD.findall(text.lower())


def lexicon_read(path: Path) -> dict[str, float]:
    """The arousal of each clearly positive or negative word of an NRC-VAD file (word, valence, arousal, dominance)."""
    arousal = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        try:
            valence, word_arousal = float(parts[1]), float(parts[2])
        except ValueError:
            continue  # a header line
        if valence > POSITIVE_VALENCE or valence < NEGATIVE_VALENCE:
            arousal[parts[0].lower()] = word_arousal
    return arousal


def neus(text: str, neutral: str, arousal: dict[str, float]) -> float:
    """The summed arousal of the polar words of ``text`` that the neutral text does not use (each occurrence)."""
    neutral_words = set(words_of(neutral))
    return sum(arousal.get(word, 0.0) for word in words_of(text) if word not in neutral_words)


class Command(BaseCommand):
    help = (
        "Run a corpus through the pipeline in a scratch database and print the NeuS framing-bias score of the "
        "story pages' title + overview beside each side's own article, and the share of one-sided titles."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--corpus", required=True, type=Path, help="Corpus JSONL whose rows carry gold_story.")
        parser.add_argument(
            "--targets", required=True, type=Path, help="JSONL: gold_story, neutral_title, neutral_summary."
        )
        parser.add_argument("--lexicon", required=True, type=Path, help="The NRC-VAD lexicon (measurement only).")
        parser.add_argument("--outlets", type=Path, help="Outlets JSONL to import first (their leans).")
        parser.add_argument("--limit", type=int, default=0, help="Only the first N gold stories of the corpus.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            arousal = lexicon_read(options["lexicon"])
            targets = {}
            for line in options["targets"].read_text(encoding="utf-8").splitlines():
                if line.strip():
                    record = json.loads(line)
                    targets[str(record["gold_story"])] = f"{record['neutral_title']} {record['neutral_summary']}"
            rows, gold = self._corpus(options["corpus"], options["limit"])
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"Cannot read the files: {error}") from error
        with scratch_database("evaluate_neutrality"):
            if options["outlets"]:
                call_command("import_outlets", str(options["outlets"]), stdout=self.stdout, stderr=self.stderr)
            self._run(rows)
            self._report(gold, targets, arousal)

    def _corpus(self, path: Path, limit: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
        rows: list[dict[str, Any]] = []
        gold: dict[str, str] = {}
        stories: set[str] = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            story = str(record["gold_story"])
            if limit and story not in stories and len(stories) >= limit:
                continue
            stories.add(story)
            gold[record["url"]] = story
            rows.append({key: value for key, value in record.items() if not key.startswith("gold_")})
        return rows, gold

    def _run(self, rows: list[dict[str, Any]]) -> None:
        article_ids, elapsed = pipeline.corpus_run_here(rows, skipped=self.stderr.write)
        self.stdout.write(
            f"Pipeline: {len(article_ids)} articles into a scratch database ({connection.vendor}) in {elapsed:.1f} s."
        )

    def _report(self, gold: dict[str, str], targets: dict[str, str], arousal: dict[str, float]) -> None:
        scores: dict[str, list[float]] = {"page": [], **{side: [] for side in Side.values}}
        one_sided_titles = titled = 0
        # The claims more than one side stated ("Reported by all sides", "by two sides"): their wording.
        shared_claims: list[float] = []
        side_worded = center_stated = 0
        # Their side cells, and those marked "Similar" (every citing sentence only close to the wording).
        cells = similar_cells = 0
        # The page's own wording (overview sentences, claims): how much of it cannot be read on its own.
        worded = dependent = 0
        for story in Story.objects.listed().order_by("pk"):
            articles = list(
                Article.objects.filter(membership__cluster_id=story.pk).select_related("outlet", "analysis")
            )
            votes = Counter(gold[article.url] for article in articles if article.url in gold)
            if not votes:
                continue
            neutral = targets.get(votes.most_common(1)[0][0])
            if neutral is None:
                continue
            overview = [str(sentence.get("text", "")) for sentence in story.overview if isinstance(sentence, dict)]
            scores["page"].append(neus(" ".join([story.title, *overview]), neutral, arousal))
            wordings = overview + [
                str(claim.get("text", "")) for claim in (story.claims if isinstance(story.claims, list) else [])
            ]
            worded += len(wordings)
            dependent += sum(not stands_alone(text) for text in wordings)
            titled += 1
            one_sided_titles += any(
                article.title == story.title and article.outlet.side in (Side.LEFT, Side.RIGHT) for article in articles
            ) and not any(article.title == story.title and article.outlet.side == Side.CENTER for article in articles)
            for claim in story.claims if isinstance(story.claims, list) else []:
                stated = {side for side, ids in claim.get("sides", {}).items() if ids}
                if len(stated) < 2:
                    continue
                shared_claims.append(neus(str(claim.get("text", "")), neutral, arousal))
                similar = set(claim.get("similar", []))
                for ids in claim.get("sides", {}).values():
                    if ids:
                        cells += 1
                        similar_cells += set(ids) <= similar
                if Side.CENTER in stated:
                    center_stated += 1
                    worded_by = next((article for article in articles if article.pk == claim.get("article")), None)
                    side_worded += worded_by is not None and worded_by.outlet.side in (Side.LEFT, Side.RIGHT)
            for side in Side.values:
                own = [article for article in articles if article.outlet.side == side and not article.is_syndicated]
                if not own:
                    continue
                article = own[0]
                analysis = getattr(article, "analysis", None)
                lead = analysis.sentences[: len(overview)] if analysis else []
                scores[side].append(neus(" ".join([article.title, *lead]), neutral, arousal))
        if not titled:
            raise CommandError("No story page matched a gold story of the targets.")
        self.stdout.write(f"Stories measured: {titled}")
        for name, values in scores.items():
            label = "title + overview (the page)" if name == "page" else f"{name}'s own article"
            mean = sum(values) / len(values) if values else float("nan")
            self.stdout.write(f"NeuS {label}: {mean:.2f} over {len(values)} stories")
        self.stdout.write(
            f"Titles that are a left or right outlet's own headline: {one_sided_titles}/{titled} = "
            f"{one_sided_titles / titled:.3f}"
        )
        if shared_claims:
            self.stdout.write(
                f"NeuS of a claim more than one side stated (its wording): "
                f"{sum(shared_claims) / len(shared_claims):.3f} over {len(shared_claims)} claims"
            )
        if center_stated:
            self.stdout.write(
                f"Of those the center stated too, worded by a left or right outlet's sentence: {side_worded}/"
                f"{center_stated} = {side_worded / center_stated:.3f}"
            )
        if cells:
            self.stdout.write(
                f"Their side cells marked Similar (only close to the wording): {similar_cells}/{cells} = "
                f"{similar_cells / cells:.3f}"
            )
        if worded:
            self.stdout.write(
                f"Overview sentences and claims that cannot be read on their own (a pronoun or a pointer back): "
                f"{dependent}/{worded} = {dependent / worded:.3f}"
            )
