"""Ingestion throughput: N feeds of M articles each, served on 127.0.0.1, polled and fetched.

    .venv/bin/python lab/bench/ingest.py [--feeds 50] [--articles 40] [--database sqlite|postgres]

A child process serves N outlets, each on its own port (so each is its own host for the
politeness limits), with an RSS feed of M article pages of generated prose; one article in ten
is a wire copy of another outlet's (to exercise the near-duplicate index). This process polls
every feed and fetches, extracts, language-tags and fingerprints every article with the real
services (no analysis, no clustering: those have their own benches), in one thread, as one
ingest worker would. It prints articles per second and this process's peak resident memory.

The per-host delay is 0 here (``--host-delay`` to change it): with the default of 1 s, a
worker's rate from one outlet is bounded by the delay, not by the code this measures.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WORDS = [
    "council",
    "budget",
    "transit",
    "river",
    "bridge",
    "school",
    "vote",
    "minister",
    "court",
    "report",
    "police",
    "hospital",
    "election",
    "tax",
    "housing",
    "water",
    "energy",
    "senator",
    "governor",
    "city",
    "county",
    "market",
    "workers",
    "union",
    "plan",
    "rules",
    "study",
    "data",
    "museum",
    "library",
    "storm",
    "drought",
    "farmers",
    "port",
    "airport",
    "railway",
    "program",
    "funding",
    "inquiry",
    "judge",
    "ruling",
    "officials",
    "residents",
    "said",
    "week",
    "month",
    "year",
    "new",
    "old",
    "public",
    "private",
    "local",
    "national",
    "after",
    "before",
    "during",
]


def prose(seed: int, paragraphs: int = 6) -> list[str]:
    generator = random.Random(seed)
    return [
        " ".join(
            (" ".join(generator.choice(WORDS) for _ in range(generator.randint(8, 16))).capitalize() + ".")
            for _ in range(5)
        )
        for _ in range(paragraphs)
    ]


def page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    return (
        f'<!doctype html><html lang="en"><head><title>{title}</title></head><body><nav>Home | World</nav>'
        f"<article><h1>{title}</h1>{body}</article><footer>Copyright</footer></body></html>"
    ).encode()


def serve(feeds: int, articles: int, ports: Any, ready: Any) -> None:
    servers = []
    for outlet in range(feeds):
        routes: dict[str, bytes] = {}
        items = []
        for number in range(articles):
            # One in ten is a copy of the article with the same number at the first outlet.
            seed = number if outlet and number % 10 == 0 else outlet * 1000 + number
            title = f"Outlet {outlet} story {number}"
            routes[f"/a/{number}"] = page(title, prose(seed))
            items.append(f"<item><title>{title}</title><link>LINK/a/{number}?utm_source=rss</link></item>")
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {outlet}</title>{"".join(items)}'
        feed += "</channel></rss>"

        class Handler(BaseHTTPRequestHandler):
            pages = routes
            document = feed

            def do_GET(self) -> None:  # the name http.server calls
                host = f"http://127.0.0.1:{self.server.server_address[1]}"
                if self.path == "/feed.xml":
                    body, kind = self.document.replace("LINK", host).encode(), "application/rss+xml"
                else:
                    found = self.pages.get(self.path.split("?")[0])
                    body, kind = (found, "text/html; charset=utf-8") if found else (b"", "text/plain")
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        servers.append(server)
        ports.append(server.server_address[1])
    import threading

    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    threading.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--host-delay", type=float, default=0.0)
    args = parser.parse_args()

    manager = multiprocessing.Manager()
    ports, ready = manager.list(), manager.Event()
    server = multiprocessing.Process(target=serve, args=(args.feeds, args.articles, ports, ready), daemon=True)
    server.start()
    ready.wait()

    scratch = tempfile.mkdtemp(prefix="newsroom-bench-ingest-")
    database = "newsroom_bench_ingest"
    if args.database == "postgres":
        import subprocess

        for command in (f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", command], check=True)
        url = f"postgres://postgres@127.0.0.1:5432/{database}"
    else:
        url = f"sqlite:///{scratch}/ingest.sqlite3"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "newsroom.settings.local",
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": "",
            "NEWSROOM_FETCH_ALLOWED_HOSTS": "127.0.0.1:*",
            "NEWSROOM_HOST_DELAY_SECONDS": str(args.host_delay),
            "NEWSROOM_POLITENESS_REDIS_URL": "",
            "LOG_LEVEL": "ERROR",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from sources.articles import article_fetch, language_of
    from sources.feeds import feed_poll
    from sources.models import Article, Feed
    from sources.outlets import outlet_create

    for index, port in enumerate(ports):
        outlet = outlet_create(name=f"Bench outlet {index}", domain=f"outlet{index}.example")
        Feed.objects.create(outlet=outlet, url=f"http://127.0.0.1:{port}/feed.xml")
    language_of("Warm the language model up before the clock starts, as a worker would have.")

    started = time.perf_counter()
    article_ids: list[int] = []
    for feed_id in Feed.objects.values_list("pk", flat=True):
        article_ids.extend(feed_poll(feed_id=feed_id))
    polled = time.perf_counter()
    for article_id in article_ids:
        article_fetch(article_id=article_id)
    elapsed = time.perf_counter() - started

    fetched = Article.objects.filter(state=Article.State.FETCHED).count()
    failed = Article.objects.filter(state=Article.State.FAILED).count()
    copies = Article.objects.syndicated().count()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"feeds: {args.feeds} x {args.articles} articles ({args.database}, host delay {args.host_delay} s)")
    print(f"polled {len(article_ids)} new articles in {polled - started:.1f} s")
    print(f"fetched and extracted {fetched} ({failed} failed, {copies} linked as syndicated copies)")
    print(f"throughput: {fetched / elapsed:.1f} articles/s over {elapsed:.1f} s (poll + fetch + extract)")
    print(f"peak memory (this process, RSS): {peak_mib:.0f} MiB")
    server.terminate()
    if args.database == "postgres":
        from django.db import connections

        connections.close_all()


if __name__ == "__main__":
    main()
