"""Pages and API under load: requests per second and p50/p99 latency beside a trivial view.

    .venv/bin/python lab/bench/pages.py --sizes 10000,100000

For each size it builds (or reuses) a PostgreSQL database holding that many synthetic
articles in a tenth as many stories (``manage.py generate_load_data``), serves it with
gunicorn on 127.0.0.1, drives it with wrk, and prints, for the home page, a story page
with 100 articles, the story list API, the story detail API, the blindspot feed and an
outlet page, the requests per second, the ratio to the trivial view measured just before
it in the same run (the machines are shared and their load moves), and p50/p99 latency;
then the peak resident memory of a web worker. Needs Debian's wrk (apt-get install wrk).

The cache is Redis as in production (``--cache redis``, the default: a private
redis-server started for the run on ``--redis-port``, shared by the workers), or each
worker's own memory (``--cache locmem``). The API's anonymous rate limit is raised so
wrk is never refused, but the throttle still counts every request in that cache.
A story's Ask (POST), which runs the sentence encoder per question, has its own bench: ask.py.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
POSTGRES = "postgres://postgres@127.0.0.1:5432"


def run(command: list[str], env: dict[str, str]) -> str:
    return subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def first_story_id(env: dict[str, str]) -> str:
    """The id of the bench database's first story (the one with 100 articles)."""
    command = "from stories.models import Story; print(Story.objects.order_by('pk').first().pk)"
    return run([PYTHON, "manage.py", "shell", "-c", command], env).strip().splitlines()[-1]


def database_ready(name: str, articles: int, env: dict[str, str], rebuild: bool) -> None:
    exists = (
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname='{name}'"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        == "1"
    )
    if exists and not rebuild:
        count = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", name, "-tAc", "SELECT count(*) FROM sources_article"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if count == str(articles):
            run([PYTHON, "manage.py", "migrate", "-v0"], env)
            return
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    run([PYTHON, "manage.py", "migrate", "-v0"], env)
    print(f"generating {articles} articles ...", flush=True)
    print(
        run(
            [PYTHON, "manage.py", "generate_load_data", "--articles", str(articles), "--stories", str(articles // 10)],
            env,
        )
        .strip()
        .splitlines()[-1]
    )
    # As autovacuum leaves a table in service: 100,000 rows inserted at once left the full-text
    # index's pending list unmerged (a search for a word in no article took 4 ms instead of 0.1).
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", name, "-qc", "VACUUM ANALYZE"], check=True)
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", name, "-qc", "VACUUM ANALYZE"], check=True)


def wrk(url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    if re.search(r"Non-2xx or 3xx responses", output):
        raise SystemExit(f"{url} answered errors under load:\n{output}")

    def percentile(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rps, percentile("50"), percentile("99")


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def redis_start(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(50):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip():
            return server
        time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"redis-server did not start on port {port}")


def server_env(database: str, cache_url: str, *, settings: str = "production") -> dict[str, str]:
    """The environment of a bench's web server: production settings on the loopback, no broker."""
    env = {
        **os.environ,
        "DATABASE_URL": f"{POSTGRES}/{database}",
        "DJANGO_SETTINGS_MODULE": f"newsroom.settings.{settings}",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # Plain HTTP on the loopback: no redirect to HTTPS, no HSTS.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_COOKIES": "false",
        "LOG_LEVEL": "WARNING",
        "CACHE_URL": cache_url,
        # Far above what wrk sends: the throttle runs (and counts in the cache) but never refuses.
        "NEWSROOM_API_ANON_RATE": "100000000/minute",
    }
    env.pop("CELERY_BROKER_URL", None)
    return env


def measure(size: int, args: argparse.Namespace) -> None:
    name = f"newsroom_bench_{size}"
    cache_url = f"redis://127.0.0.1:{args.redis_port}/0" if args.cache == "redis" else "locmemcache://bench"
    # Production settings, except that production refuses a cache each process keeps alone.
    env = server_env(name, cache_url, settings="production" if args.cache == "redis" else "local")
    database_ready(name, size, env, args.rebuild)
    run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    story_id = first_story_id(env)
    if args.cache == "redis":
        subprocess.run(["redis-cli", "-p", str(args.redis_port), "flushall"], check=True, capture_output=True)
    server = subprocess.Popen(
        [
            GUNICORN,
            "newsroom.wsgi:application",
            "-b",
            f"127.0.0.1:{args.port}",
            "-w",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        targets = [
            ("trivial view", "/healthz"),
            ("home page", "/"),
            ("story page (100 articles)", f"/stories/{story_id}/"),
            ("story list API", "/api/v1/stories/?format=json"),
            ("story detail API", f"/api/v1/stories/{story_id}/?format=json"),
            ("blindspot feed", "/blindspot/"),
            ("outlet page", "/outlets/load-outlet-0/"),
            ("outlet list", "/outlets/"),
            ("search, a word in no article", "/search/?q=officials+measure"),
            ("search, a word in every one", "/search/?q=synthetic"),
            ("article list API", "/api/v1/articles/?format=json"),
            ("outlet list API", "/api/v1/outlets/?format=json"),
        ]
        print(
            f"\n{size} articles, {size // 10} stories; "
            f"gunicorn -w {args.workers}; wrk -c{args.connections} {args.seconds}s each; cache {args.cache}"
        )
        # The machine is shared and its load moves: each endpoint is measured right after the
        # trivial view, and its ratio is to that measurement.
        print(
            f"{'endpoint':28} {'req/s':>8} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} {'trivial req/s':>14} {'load':>5}"
        )
        for label, path in targets[1:]:
            wrk(base + path, 2, args.connections)  # warm up
            baseline, _, _ = wrk(base + targets[0][1], args.seconds, args.connections)
            rps, p50, p99 = wrk(base + path, args.seconds, args.connections)
            load = os.getloadavg()[0]  # the machine's, over the last minute: other work moves the figures
            print(
                f"{label:28} {rps:8.1f} {rps / baseline:6.2f} {p50:8.1f} {p99:8.1f} {baseline:14.1f} {load:5.1f}",
                flush=True,
            )
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        print(f"peak resident memory per web worker: {max(peak_rss_mib(int(pid)) for pid in workers):.0f} MiB")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="Article counts, comma-separated.")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--rebuild", action="store_true", help="Regenerate the databases even if they exist.")
    parser.add_argument("--cache", choices=["redis", "locmem"], default="redis")
    parser.add_argument("--redis-port", type=int, default=6391, help="Port of the private redis-server.")
    args = parser.parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        sys.exit("wrk is not installed: apt-get install wrk")
    redis = redis_start(args.redis_port) if args.cache == "redis" else None
    try:
        for size in (int(value) for value in args.sizes.split(",")):
            measure(size, args)
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)


if __name__ == "__main__":
    main()
