from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from analysis.models import ArticleAnalysis
from sources.models import Article, Lean, Outlet, OutletDomain, Side, side_of_lean
from stories.models import Story, StoryMembership, StoryViewpoint

LEANS = [Lean.LEFT, Lean.LEAN_LEFT, Lean.CENTER, Lean.LEAN_RIGHT, Lean.RIGHT, ""]
FRAMES = ["Economic", "Political", "Health_and_safety", "Fairness_and_equality", "Crime_and_punishment"]
BATCH = 5000


class Command(BaseCommand):
    help = (
        "Fill the database with synthetic stories and articles for load benchmarks, quickly and without "
        "running the models (vectors are random). One story gets --big-story articles. Never use on real data."
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
        rng = random.Random(seed)
        vectors = np.random.default_rng(seed)
        base_time = datetime(2026, 1, 1, tzinfo=UTC)
        with transaction.atomic():
            outlet_objects = Outlet.objects.bulk_create(
                Outlet(name=f"Load Outlet {index}", slug=f"load-outlet-{index}", lean=LEANS[index % len(LEANS)])
                for index in range(outlets)
            )
            OutletDomain.objects.bulk_create(
                OutletDomain(outlet=outlet, domain=f"load{outlet.pk}.example") for outlet in outlet_objects
            )
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
                story_objects = Story.objects.bulk_create(
                    Story(
                        title=f"Synthetic story {start + offset}",
                        summary="A synthetic story for load benchmarks.",
                        centroid=vectors.standard_normal(384).astype(np.float32).tobytes(),
                        first_published_at=base_time + timedelta(hours=start + offset),
                        last_published_at=base_time + timedelta(hours=start + offset + 12),
                        refreshed_at=base_time + timedelta(hours=start + offset + 12),
                    )
                    for offset in range(len(chunk))
                )
                article_objects: list[Article] = []
                owners: list[Story] = []
                for story, size in zip(story_objects, chunk, strict=True):
                    for position in range(size):
                        outlet = outlet_objects[rng.randrange(len(outlet_objects))]
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
                            sentences=["Synthetic sentence one.", "Synthetic sentence two."],
                            frames=[{"frame": rng.choice(FRAMES), "score": 0.5, "sentences": [0]}],
                            tone=rng.uniform(-0.5, 0.5),
                            entities=[{"text": "Synthetic Person", "label": "PERSON", "count": 1}],
                            model_versions={"encoder": "synthetic"},
                        )
                        for article in created
                    ),
                    batch_size=BATCH,
                )
                StoryMembership.objects.bulk_create(
                    (
                        StoryMembership(story=story, article=article, similarity=0.8, reason="synthetic")
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
                        {"text": "Synthetic sentence one.", "article": article.pk, "citations": [article.pk]}
                        for article in members[:3]
                    ]
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
                                    {"text": "Synthetic sentence two.", "article": article.pk}
                                    for article in side_members[:2]
                                ],
                                frames=[{"frame": "Economic", "share": 1.0, "distinctive": False}]
                                if side_members
                                else [],
                                tone=0.0 if side_members else None,
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
                    ],
                )
                StoryViewpoint.objects.bulk_create(viewpoints)
            self.stdout.write(f"  {min(start + 1000, stories)} stories, {article_number} articles")
        self.stdout.write(
            f"Generated {stories} stories and {article_number} articles in {time.perf_counter() - started:.0f} s; "
            f"the story with {big_story} articles is {Story.objects.order_by('pk').first().pk}."
        )
