"""Story assignment at scale: articles per second and milliseconds per assignment, on PostgreSQL.

    .venv/bin/python lab/bench/clustering.py --sizes 1000,200000 --assign 300

For each size it builds a PostgreSQL database (``newsroom_bench_clustering_<size>``) holding that
many analysed articles already in stories, arriving at the same rate (``--per-day`` articles a day,
three to a story: the default fills one window, ``NEWSROOM_CLUSTER_WINDOW_DAYS``, with 1,000) so
that only the length of the history differs between sizes. Then it times ``cluster_assign`` on
``--assign`` new articles at the end of that history (half join an existing story, half start one)
and prints articles per second (assignment and the second pass over the story it touched) and the
p50/p90/p99 milliseconds of one assignment, then of its second pass, with how many stories the
active window held. Assignment reads only the stories of its window (through the index on
``last_published_at``) and their centroids, so the figures should match at both sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
POSTGRES = "postgres://postgres@127.0.0.1:5432"
DIMENSIONS = 384
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def psql(command: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", command], check=True)


def unit_rows(generator: np.random.Generator, count: int) -> np.ndarray:
    rows = generator.normal(size=(count, DIMENSIONS)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def near(generator: np.random.Generator, centre: np.ndarray, noise: float = 0.35) -> np.ndarray:
    vector = centre + noise * unit_rows(generator, 1)[0]
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def load(size: int, per_day: int, generator: np.random.Generator) -> np.ndarray:
    """``size`` analysed articles in stories of three, ending at NOW; returns the recent story centres."""
    from analysis.models import ArticleAnalysis
    from clustering.models import Cluster, Membership
    from sources.models import Article, Outlet, OutletDomain

    outlets = Outlet.objects.bulk_create(Outlet(name=f"Outlet {index}", slug=f"outlet-{index}") for index in range(90))
    OutletDomain.objects.bulk_create(
        OutletDomain(outlet=outlet, domain=f"outlet{index}.example") for index, outlet in enumerate(outlets)
    )
    stories_total = size // 3
    seconds_per_story = 86_400 * 3 / per_day
    recent_centres = []
    batch = 3_000
    for start in range(0, stories_total, batch):
        count = min(batch, stories_total - start)
        centres = unit_rows(generator, count)
        moments = [
            NOW - timedelta(seconds=(stories_total - start - offset) * seconds_per_story) for offset in range(count)
        ]
        stories = Cluster.objects.bulk_create(
            Cluster(
                # Three members near the centre: their sum points the same way.
                lead_sum=(3 * centres[offset]).tobytes(),
                body_sum=(3 * centres[offset]).tobytes(),
                entity_counts={f"entity {start + offset}": 3},
                outlet_ids=[outlets[(3 * (start + offset) + side) % 90].pk for side in range(3)],
                first_published_at=moments[offset],
                last_published_at=moments[offset],
                article_count=3,
            )
            for offset in range(count)
        )
        articles, analyses, memberships = [], [], []
        for offset in range(len(stories)):
            for side in range(3):
                number = 3 * (start + offset) + side
                articles.append(
                    Article(
                        outlet=outlets[number % 90],
                        url=f"https://outlet{number % 90}.example/{number}",
                        canonical_url=f"https://outlet{number % 90}.example/{number}",
                        title=f"Article {number}",
                        published_at=moments[offset],
                        state=Article.State.CLUSTERED,
                    )
                )
        articles = Article.objects.bulk_create(articles)
        for index, article in enumerate(articles):
            story = stories[index // 3]
            vector = near(generator, centres[index // 3])
            analyses.append(
                ArticleAnalysis(
                    article=article,
                    embedding=vector.tobytes(),
                    sentences=["One sentence of the article."],
                    sentence_embeddings=vector.astype(np.float16).tobytes(),
                    entities=[{"text": f"entity {index // 3 + start}", "label": "ORG", "count": 1}],
                )
            )
            memberships.append(Membership(cluster=story, article=article, similarity=0.8, reason="joined"))
        ArticleAnalysis.objects.bulk_create(analyses)
        Membership.objects.bulk_create(memberships)
        recent_centres = centres
    return recent_centres


def new_articles(count: int, centres: np.ndarray, generator: np.random.Generator) -> list[int]:
    """Half follow a recent story (its centre, an outlet not yet in it), half are new events."""
    from analysis.models import ArticleAnalysis
    from sources.models import Article, Outlet

    outlets = list(Outlet.objects.order_by("pk"))
    ids = []
    for index in range(count):
        vector = near(generator, centres[-1 - index]) if index % 2 == 0 else unit_rows(generator, 1)[0]
        article = Article.objects.create(
            outlet=outlets[(index * 7 + 45) % 90],
            url=f"https://bench.example/new/{index}",
            canonical_url=f"https://bench.example/new/{index}",
            title=f"New article {index}",
            published_at=NOW + timedelta(seconds=index),
            state=Article.State.ANALYSED,
        )
        ArticleAnalysis.objects.create(
            article=article,
            embedding=vector.tobytes(),
            sentences=["One sentence of the article."],
            sentence_embeddings=vector.astype(np.float16).tobytes(),
            entities=[{"text": f"new entity {index}", "label": "ORG", "count": 1}],
        )
        ids.append(article.pk)
    return ids


def bench(size: int, assign: int, per_day: int, database: str = "") -> None:
    name = database or f"newsroom_bench_clustering_{size}"
    psql(f"DROP DATABASE IF EXISTS {name}")
    psql(f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = f"{POSTGRES}/{name}"
    from django.db import connection, connections

    connections["default"].close()
    connections["default"].settings_dict["NAME"] = name
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    generator = np.random.default_rng(size)
    started = time.perf_counter()
    centres = load(size, per_day, generator)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"{size:>7} articles loaded in {time.perf_counter() - started:.0f} s", flush=True)

    from clustering.models import Cluster
    from clustering.services import _window, cluster_assign, clusters_recluster
    from sources.models import Article

    ids = new_articles(assign, centres, generator)
    active = Cluster.objects.active_around(NOW, window=_window()).count()
    timings, second_pass = [], []
    started = time.perf_counter()
    for article_id in ids:
        tick = time.perf_counter()
        story_id = cluster_assign(article_id=article_id)
        middle = time.perf_counter()
        # The second pass (split drifted members, merge converged stories) over the story it touched,
        # as the pipeline runs it after each batch: undated articles reach their story only here.
        if story_id:
            clusters_recluster(story_ids=[story_id])
        timings.append(1000 * (middle - tick))
        second_pass.append(1000 * (time.perf_counter() - middle))
    elapsed = time.perf_counter() - started
    joined = Article.objects.filter(pk__in=ids, membership__cluster__article_count__gt=1).count()
    quantiles = statistics.quantiles(timings, n=100)
    print(
        f"{size:>7} articles in the database, {active} stories in the active window: "
        f"{assign / elapsed:.0f} articles/s; ms per assignment p50 {statistics.median(timings):.1f}, "
        f"p90 {quantiles[89]:.1f}, p99 {quantiles[98]:.1f} ({joined} of {assign} joined a story); "
        f"second pass p50 {statistics.median(second_pass):.1f}, p99 {statistics.quantiles(second_pass, n=100)[98]:.1f}",
        flush=True,
    )
    connections["default"].close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,200000")
    parser.add_argument("--assign", type=int, default=300)
    parser.add_argument(
        "--per-day", type=int, default=0, help="Articles a day in the history (default: 1,000 fill one window)."
    )
    parser.add_argument(
        "--database", default="", help="One database name for every size, dropped and made again for each."
    )
    arguments = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings.test")
    os.environ["DATABASE_URL"] = f"{POSTGRES}/postgres"
    import django

    django.setup()
    from django.conf import settings

    per_day = arguments.per_day or round(1000 / settings.NEWSROOM_CLUSTER_WINDOW_DAYS)
    print(f"{per_day} articles a day; window {settings.NEWSROOM_CLUSTER_WINDOW_DAYS:g} days; load {os.getloadavg()}")
    for size in (int(value) for value in arguments.sizes.split(",")):
        bench(size, arguments.assign, per_day, arguments.database)


if __name__ == "__main__":
    main()
