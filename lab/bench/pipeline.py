"""End-to-end pipeline throughput through a real Celery worker on PostgreSQL and Redis.

    .venv/bin/python lab/bench/pipeline.py [--corpus FILE.jsonl] [--limit 300] [--workers split|single]

Imports the corpus into a fresh PostgreSQL database with the broker switched on, so the
workers started here analyse and cluster every article. ``--workers split`` (the default)
is the deployment the README recommends: one solo worker on the ``analysis`` queue (the
models) and one on ``ingest,clustering`` (assignment and the story pages), so one batch is
clustered while the next is analysed (``--analysis-workers N``: N solo workers on ``analysis``);
``single`` is one solo worker on all queues. Prints
end-to-end articles per second, the raw encoder's throughput on the same texts in the same
run and their ratio, the latency from an article's arrival to its appearance on its story
page (p50, p95), and each worker's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DATABASE = os.environ.get("NEWSROOM_BENCH_DATABASE", "newsroom_bench_pipeline")
CORPUS_PATH = Path("shared", "data", "stories", "allsides_roundups_dev.jsonl")
# The checkout's sibling shared/ folder, or the nearest one above (a worktree sits deeper).
DEFAULT_CORPUS = next(
    (folder / CORPUS_PATH for folder in ROOT.parents if (folder / CORPUS_PATH).exists()), ROOT.parent / CORPUS_PATH
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def psql(command: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", command], check=True)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, every process) since boot."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def raw_encoder_articles_per_second(rows: list[dict[str, str]]) -> tuple[float, float]:
    """The ceiling: the encoder alone over the same texts, split into sentences as the analysis does."""
    sys.path.insert(0, str(ROOT))
    from analysis.nlp.models import sentence_encoder

    encoder = sentence_encoder("")
    texts = []
    for row in rows:
        sentences = [s for s in SENTENCE_END.split(" ".join((row.get("text") or "").split())) if s][:40]
        texts.append(". ".join([row.get("title") or "", " ".join(sentences[:3])]))
        texts.extend(sentences)
    encoder.encode(texts[:64], batch_size=32, show_progress_bar=False)  # warm up
    started = time.perf_counter()
    encoder.encode(texts, batch_size=32, show_progress_bar=False)
    elapsed = time.perf_counter() - started
    return len(rows) / elapsed, len(texts) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL database to (re)create for the run")
    parser.add_argument(
        "--profile",
        type=Path,
        help="record a worker with py-spy into this SVG, or .txt for collapsed stacks (pip install py-spy)",
    )
    parser.add_argument(
        "--profile-worker",
        choices=("first", "last"),
        default="first",
        help="which worker --profile records: the first (analysis) or the last (ingest,clustering when split)",
    )
    parser.add_argument(
        "--workers",
        choices=("split", "single"),
        default="split",
        help="split: an analysis worker and an ingest+clustering worker (the README's deployment); single: one for all",
    )
    parser.add_argument(
        "--worker-threads",
        type=int,
        default=0,
        help="OMP_NUM_THREADS of each worker (0: PyTorch's default, every core); the raw encoder keeps the default",
    )
    parser.add_argument(
        "--analysis-threads",
        type=int,
        default=0,
        help="OMP_NUM_THREADS of the analysis worker alone when split (0: as --worker-threads)",
    )
    parser.add_argument(
        "--analysis-workers",
        type=int,
        default=1,
        help="how many solo workers on the analysis queue when split (each a process with its own models)",
    )
    args = parser.parse_args()
    database = args.database

    lines = args.corpus.read_text().splitlines()[: args.limit]
    rows = [json.loads(line) for line in lines]
    corpus = Path(f"/tmp/newsroom-bench-corpus-{database}.jsonl")
    corpus.write_text("\n".join(lines) + "\n")

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "newsroom.settings.local",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "CELERY_BROKER_URL": args.broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOG_LEVEL": "WARNING",
    }
    worker_env = {**env, "OMP_NUM_THREADS": str(args.worker_threads)} if args.worker_threads else env
    analysis_env = {**env, "OMP_NUM_THREADS": str(args.analysis_threads)} if args.analysis_threads else worker_env
    psql(f"DROP DATABASE IF EXISTS {database}")
    psql(f"CREATE DATABASE {database}")
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [PYTHON, "-m", "celery", "-A", "newsroom", "purge", "-f"], cwd=ROOT, env=env, check=True, capture_output=True
    )

    print("raw encoder on the same texts ...", flush=True)
    raw_before = raw_encoder_articles_per_second(rows)

    # Several analysis workers are told apart by "#n" (their queue is "analysis" all the same).
    analysis_queues = (
        ["analysis"] if args.analysis_workers == 1 else [f"analysis#{n}" for n in range(args.analysis_workers)]
    )
    queue_sets = [*analysis_queues, "ingest,clustering"] if args.workers == "split" else ["ingest,analysis,clustering"]
    workers = {
        queues: subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "newsroom",
                "worker",
                "-Q",
                queues.split("#")[0],
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
                "-n",
                f"bench-{queues.replace(',', '-').replace('#', '-')}@%h",
            ],
            cwd=ROOT,
            env=analysis_env if queues.startswith("analysis") else worker_env,
        )
        for queues in queue_sets
    }
    # The same broker as the worker's, so the ping below reaches it.
    os.environ.update({key: env[key] for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL")})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from clustering.models import Membership
    from newsroom.celery import app
    from sources.models import Article

    try:
        for _ in range(300):  # a worker loads its models before it answers
            if len(app.control.ping(timeout=1.0)) >= len(workers):
                break
        else:
            sys.exit("the workers did not all answer a ping in 300 s")
        profiler = None
        if args.profile:
            py_spy = [str(ROOT / ".venv" / "bin" / "py-spy"), "record", "--rate", "50", "--nonblocking"]
            if args.profile.suffix == ".txt":  # collapsed stacks, to read or sum up as text
                py_spy += ["--format", "raw"]
            profiler = subprocess.Popen(
                [
                    *py_spy,
                    "-o",
                    str(args.profile),
                    "--pid",
                    str(list(workers.values())[0 if args.profile_worker == "first" else -1].pid),
                ],
                stdout=subprocess.DEVNULL,
            )
        started = time.time()
        busy_at_start = machine_busy_seconds()
        workers_cpu_at_start = {queues: cpu_seconds(worker.pid) for queues, worker in workers.items()}
        importer = subprocess.Popen([PYTHON, "manage.py", "import_articles", str(corpus)], cwd=ROOT, env=env)
        _pid, status, usage = os.wait4(importer.pid, 0)
        if status:
            sys.exit("the import command failed")
        import_cpu = usage.ru_utime + usage.ru_stime
        imported = time.time() - started
        total = Article.objects.count()
        seen: dict[int, float] = {}
        last_progress = time.time()
        while len(seen) < total:
            now = time.time()
            if any(worker.poll() is not None for worker in workers.values()) or now - last_progress > 300:
                sys.exit(f"stalled: {len(seen)} of {total} articles reached a story page; see the workers' log above")
            for article_id, joined, refreshed in (
                Membership.objects.filter(cluster__story__refreshed_at__isnull=False)
                .exclude(article_id__in=list(seen))
                .values_list("article_id", "joined_at", "cluster__story__refreshed_at")
            ):
                if refreshed >= joined:
                    seen[article_id] = now
                    last_progress = now
            time.sleep(0.2)
        elapsed = max(seen.values()) - started
        peaks = {queues: peak_rss_mib(worker.pid) for queues, worker in workers.items()}
        busy = machine_busy_seconds() - busy_at_start
        workers_cpu = {
            queues: cpu_seconds(worker.pid) - workers_cpu_at_start[queues] for queues, worker in workers.items()
        }
        # Measured again after the run: on a shared machine the load moves, and the ratio uses the mean.
        print("raw encoder again ...", flush=True)
        raw_after = raw_encoder_articles_per_second(rows)
        raw_articles = (raw_before[0] + raw_after[0]) / 2
        raw_sentences = (raw_before[1] + raw_after[1]) / 2
        arrivals = dict(Article.objects.values_list("pk", "discovered_at"))
        latencies = sorted(seen[pk] - arrivals[pk].timestamp() for pk in seen)
        pipeline_rate = len(seen) / elapsed
        broker = args.broker.split(":")[0]
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(
            f"\ncorpus: {args.corpus.name}, {total} articles;"
            f" solo workers on queues {' + '.join(workers)}, broker {broker}"
        )
        print(
            f"raw encoder:         {raw_articles:7.2f} articles/s ({raw_sentences:.0f} sentences/s;"
            f" {raw_before[0]:.2f} before the run, {raw_after[0]:.2f} after)"
        )
        print(f"end-to-end pipeline: {pipeline_rate:7.2f} articles/s ({len(seen)} on story pages in {elapsed:.1f} s)")
        print(f"ratio:               {pipeline_rate / raw_articles:7.2f}")
        print(f"of which the import command (its own process; queues each batch as imported): {imported:.1f} s")
        print(f"arrival to story page: p50 {statistics.median(latencies):.1f} s, p95 {p95:.1f} s")
        # Where the machine's time went: the raw encoder's figure uses every core, so the ratio is bounded by
        # the encoder's share of all the CPU time the run needed (the rest: spaCy, clustering, PostgreSQL, ...).
        cores = os.cpu_count() or 1
        print(f"CPU time during the run: {busy:.1f} s busy of {cores * elapsed:.1f} s on {cores} cores, of which")
        for queues, seconds in workers_cpu.items():
            print(f"  the worker on {queues}: {seconds:.1f} s")
        print(f"  the import command: {import_cpu:.1f} s")
        rest = busy - sum(workers_cpu.values()) - import_cpu
        print(f"  everything else (PostgreSQL, the broker, other processes): {rest:.1f} s")
        for queues, peak in peaks.items():
            print(f"peak resident memory of the worker on {queues}: {peak:.0f} MiB")
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
    finally:
        for worker in workers.values():
            worker.send_signal(signal.SIGTERM)
        for worker in workers.values():
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()


if __name__ == "__main__":
    main()
