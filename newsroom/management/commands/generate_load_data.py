from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from analysis.models import ArticleAnalysis
from analysis.services import encoder_configured
from clustering.models import Cluster, Membership
from sources.models import Article, Factuality, Lean, Outlet, OutletDomain, OutletRating, Side, side_of_lean
from stories.models import Story, StoryQuestion, StoryViewpoint

LEANS = [Lean.LEFT, Lean.LEAN_LEFT, Lean.CENTER, Lean.LEAN_RIGHT, Lean.RIGHT, ""]
FRAMES = ["Economic", "Political", "Health_and_safety", "Fairness_and_equality", "Crime_and_punishment"]
BATCH = 5000
SENTENCES = [
    "Officials announced the measure on Monday.",
    "Critics slammed the plan as reckless.",
    "The vote is expected next week.",
    "Supporters said it would lower costs.",
    "The agency declined to comment.",
    "Analysts said the effect would be small.",
]
# Each flagged sentence's loaded words (analysis.loaded_sentences); the page marks them.
LOADED = [{"sentence": 1, "words": ["slammed", "reckless"]}]
CLAIMS_SHARED, CLAIMS_ONE_SIDED = 6, 1
FAQ_QUESTIONS = 8


def sentences_encode(sentences: list[str]) -> bytes:
    """The sentences' vectors as an analysis stores them (float16 rows), from the configured encoder."""
    return np.asarray(encoder_configured().encode(sentences).vectors, dtype=np.float16).tobytes()


class Command(BaseCommand):
    help = (
        "Fill the database with synthetic stories and articles for load benchmarks, quickly and without "
        "running the models (article vectors are random; the six sentences every article repeats are "
        "encoded once). One story gets --big-story articles. Everything the reader pages show is filled "
        "in: outlet ratings, each story's claims, ratings snapshot, overview "
        "and viewpoints, the analyses' frames, tone and loaded language, the big story's FAQ; every fourth "
        "story is a blindspot. Never use on real data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stories", type=int, default=10_000)
        parser.add_argument("--articles", type=int, default=100_000)
        parser.add_argument("--big-story", type=int, default=100, help="Articles in the first story.")
        parser.add_argument("--outlets", type=int, default=60)
        parser.add_argument("--seed", type=int, default=7)

    def handle(
        self, *args: Any, stories: int, articles: int, big_story: int, outlets: int, seed: int, **options: Any
    ) -> None:
        started = time.perf_counter()
        # The six sentences' vectors from the encoder Ask reads them with (encoded once, not per article),
        # so a question about the story is answered as on real data: without them every question was
        # refused before it was encoded, and lab/bench/ask.py measured only refusals.
        sentence_embeddings = sentences_encode(SENTENCES)
        rng = random.Random(seed)
        vectors = np.random.default_rng(seed)
        base_time = datetime(2026, 1, 1, tzinfo=UTC)
        with transaction.atomic():
            outlet_objects = Outlet.objects.bulk_create(
                Outlet(
                    name=f"Load Outlet {index}",
                    slug=f"load-outlet-{index}",
                    lean=LEANS[index % len(LEANS)],
                    factuality=Factuality.HIGH if LEANS[index % len(LEANS)] else "",
                    lean_rule="latest" if LEANS[index % len(LEANS)] else "",
                )
                for index in range(outlets)
            )
            OutletDomain.objects.bulk_create(
                OutletDomain(outlet=outlet, domain=f"load{outlet.pk}.example") for outlet in outlet_objects
            )
            ratings = OutletRating.objects.bulk_create(
                OutletRating(
                    outlet=outlet,
                    lean=outlet.lean,
                    factuality=outlet.factuality,
                    rated_by="Synthetic chart v1",
                    rated_at=base_time.date(),
                )
                for outlet in outlet_objects
                if outlet.lean
            )
            for rating in ratings:
                rating.outlet.effective_rating = rating
            Outlet.objects.bulk_update([rating.outlet for rating in ratings], ["effective_rating"])
        snapshot_entry = {
            outlet.pk: {
                "lean": outlet.lean,
                "rating_id": outlet.effective_rating_id,
                "rated_by": "Synthetic chart v1" if outlet.lean else "",
                "rated_at": base_time.date().isoformat() if outlet.lean else None,
                "rule": outlet.lean_rule,
            }
            for outlet in outlet_objects
        }
        # A blindspot story draws only from outlets not on the side it misses.
        not_right = [outlet for outlet in outlet_objects if side_of_lean(outlet.lean) != Side.RIGHT]
        not_left = [outlet for outlet in outlet_objects if side_of_lean(outlet.lean) != Side.LEFT]
        # Articles per story: the first story is the big one, the rest share what is left evenly.
        rest = max(articles - big_story, 0)
        sizes = [big_story] + [
            rest // max(stories - 1, 1) + (1 if index < rest % max(stories - 1, 1) else 0)
            for index in range(stories - 1)
        ]
        article_number = 0
        for start in range(0, stories, 1000):
            with transaction.atomic():
                chunk = sizes[start : start + 1000]
                clusters = Cluster.objects.bulk_create(
                    Cluster(
                        lead_sum=vectors.standard_normal(384).astype(np.float32).tobytes(),
                        first_published_at=base_time + timedelta(hours=start + offset),
                        last_published_at=base_time + timedelta(hours=start + offset + 12),
                        article_count=size,
                        confidence=rng.uniform(0.6, 1.0),
                        reclustered_at=base_time + timedelta(hours=start + offset + 12),
                    )
                    for offset, size in enumerate(chunk)
                )
                story_objects = Story.objects.bulk_create(
                    Story(
                        cluster=cluster,
                        title=f"Synthetic story {start + offset}",
                        summary="A synthetic story for load benchmarks.",
                        first_published_at=cluster.first_published_at,
                        last_published_at=cluster.last_published_at,
                        refreshed_at=cluster.reclustered_at,
                    )
                    for offset, cluster in enumerate(clusters)
                )
                article_objects: list[Article] = []
                owners: list[Story] = []
                for offset, (story, size) in enumerate(zip(story_objects, chunk, strict=True)):
                    number = start + offset
                    pool = outlet_objects if number % 4 or number == 0 else (not_right, not_left)[number // 4 % 2]
                    for position in range(size):
                        outlet = pool[rng.randrange(len(pool))]
                        article_number += 1
                        article_objects.append(
                            Article(
                                outlet=outlet,
                                url=f"https://load{outlet.pk}.example/{article_number}",
                                canonical_url=f"https://load{outlet.pk}.example/{article_number}",
                                title=f"Synthetic article {article_number}",
                                text="Synthetic text. " * 20,
                                published_at=story.first_published_at + timedelta(minutes=position),
                                language="en",
                                state=Article.State.CLUSTERED,
                            )
                        )
                        owners.append(story)
                created = Article.objects.bulk_create(article_objects, batch_size=BATCH)
                ArticleAnalysis.objects.bulk_create(
                    (
                        ArticleAnalysis(
                            article=article,
                            embedding=vectors.standard_normal(384).astype(np.float32).tobytes(),
                            sentences=SENTENCES,
                            sentence_embeddings=sentence_embeddings,
                            frames=[
                                {"frame": frame, "score": 0.5, "sentences": [index, index + 1]}
                                for index, frame in enumerate(rng.sample(FRAMES, 2))
                            ],
                            tone=rng.uniform(-0.5, 0.5),
                            entities=[{"text": "Synthetic Person", "label": "PERSON", "count": 1}],
                            loaded_sentences=LOADED if article.pk % 4 == 0 else [],
                            model_versions={"encoder": "synthetic"},
                        )
                        for article in created
                    ),
                    batch_size=BATCH,
                )
                Membership.objects.bulk_create(
                    (
                        Membership(cluster_id=story.pk, article=article, similarity=0.8, reason="synthetic")
                        for story, article in zip(owners, created, strict=True)
                    ),
                    batch_size=BATCH,
                )
                by_story: dict[int, list[Article]] = {}
                for story, article in zip(owners, created, strict=True):
                    by_story.setdefault(story.pk, []).append(article)
                viewpoints = []
                for story in story_objects:
                    members = by_story.get(story.pk, [])
                    counts = dict.fromkeys([*Side.values, None], 0)
                    for article in members:
                        counts[side_of_lean(article.outlet.lean)] += 1
                    story.article_count = len(members)
                    story.outlet_count = len({article.outlet_id for article in members})
                    story.left_count, story.center_count = counts[Side.LEFT], counts[Side.CENTER]
                    story.right_count, story.unrated_count = counts[Side.RIGHT], counts[None]
                    story.overview = [
                        {"text": SENTENCES[index], "article": article.pk, "citations": [article.pk]}
                        for index, article in enumerate(members[:3])
                    ]
                    story.claims = claims_make(members, rng)
                    story.ratings_snapshot = {
                        str(outlet_id): snapshot_entry[outlet_id] for outlet_id in {a.outlet_id for a in members}
                    }
                    story.ratings_as_of = story.refreshed_at
                    for side in Side.values:
                        side_members = [article for article in members if side_of_lean(article.outlet.lean) == side]
                        viewpoints.append(
                            StoryViewpoint(
                                story=story,
                                side=side,
                                article_count=len(side_members),
                                outlet_count=len({article.outlet_id for article in side_members}),
                                is_available=bool(side_members),
                                unavailable_reason="" if side_members else StoryViewpoint.Unavailable.NO_ARTICLES,
                                summary=[
                                    {"text": SENTENCES[index + 2], "article": article.pk}
                                    for index, article in enumerate(side_members[:2])
                                ],
                                frames=[{"frame": "Economic", "share": 1.0, "distinctive": False}]
                                if side_members
                                else [],
                                tone=0.0 if side_members else None,
                                entities=[{"text": "Synthetic Person", "count": len(side_members)}]
                                if side_members
                                else [],
                            )
                        )
                Story.objects.bulk_update(
                    story_objects,
                    [
                        "article_count",
                        "outlet_count",
                        "left_count",
                        "center_count",
                        "right_count",
                        "unrated_count",
                        "overview",
                        "claims",
                        "ratings_snapshot",
                        "ratings_as_of",
                    ],
                )
                StoryViewpoint.objects.bulk_create(viewpoints)
                if start == 0:
                    StoryQuestion.objects.bulk_create(faq_make(story_objects[0], by_story[story_objects[0].pk]))
            self.stdout.write(f"  {min(start + 1000, stories)} stories, {article_number} articles")
        self.stdout.write(
            f"Generated {stories} stories and {article_number} articles in {time.perf_counter() - started:.0f} s; "
            f"the story with {big_story} articles is {Story.objects.earliest('pk').pk}."
        )


def claims_make(members: list[Article], rng: random.Random) -> list[dict[str, Any]]:
    """Claims shaped as stories.services._claims writes them: shared ones first, then one-sided ones."""
    by_side: dict[str, list[Article]] = {side: [] for side in Side.values}
    for article in members:
        side = side_of_lean(article.outlet.lean)
        if side:
            by_side[side].append(article)
    claims = []

    def claim(text: str, chosen: list[Article]) -> dict[str, Any]:
        sides = {side: sorted(a.pk for a in chosen if side_of_lean(a.outlet.lean) == side) for side in Side.values}
        return {
            "text": text,
            "article": chosen[0].pk,
            "sides": sides,
            "quotes": {str(article.pk): text for article in chosen},
        }

    covered = [side for side in Side.values if by_side[side]]
    for index in range(CLAIMS_SHARED if len(covered) > 1 else 0):
        chosen = [rng.choice(by_side[side]) for side in covered[: 2 + index % 2]]
        claims.append(claim(SENTENCES[index % len(SENTENCES)], chosen))
    for side in covered:
        claims.extend(claim(f"Only the {side} reported this.", [by_side[side][0]]) for _ in range(CLAIMS_ONE_SIDED))
    return claims


def faq_make(story: Story, members: list[Article]) -> list[StoryQuestion]:
    """The big story's readers' FAQ: supported questions a curator approved, each quoting three articles."""
    questions = []
    for index in range(FAQ_QUESTIONS):
        quotes = [
            {
                "text": SENTENCES[(index + offset) % len(SENTENCES)],
                "article_id": article.pk,
                "number": 0,
                "outlet": article.outlet.name,
                "side": side_of_lean(article.outlet.lean),
                "score": 0.8,
            }
            for offset, article in enumerate(members[index : index + 3])
        ]
        question = f"What happened in part {index}?"
        questions.append(
            StoryQuestion(
                story=story,
                question=question,
                normalised=question.lower().rstrip("?"),
                count=10 - index,
                is_supported=True,
                review=StoryQuestion.Review.APPROVED,
                answer={"question": question, "is_supported": True, "refusal_reason": "", "quotes": quotes},
            )
        )
    return questions
