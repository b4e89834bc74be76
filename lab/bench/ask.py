"""Ask under load: p50/p99 latency of 20 concurrent askers on a warm server, beside a trivial view.

    .venv/bin/python lab/bench/ask.py [--articles 2000] [--askers 20] [--seconds 10] [--workers 2] [--new-questions]

Builds (or reuses) the PostgreSQL database of ``lab/bench/pages.py`` at that size (synthetic
data from ``manage.py generate_load_data``: the first story has 100 articles of six analysed
sentences each), serves it with gunicorn on 127.0.0.1 with a private redis-server as the cache
(production settings), loads the encoder in each worker and asks every question once, then
drives ``POST /api/v1/stories/<id>/ask/`` with wrk: ``--askers`` connections, each cycling
through a list of questions (specific ones, answered from the sentences, and broad ones,
answered from the overview; it prints which were answered, the rest being refusals). Every
asking is logged (StoryQuestion), as in production; the
bench checks afterwards that the log counted every request wrk made. It prints requests/s and
p50/p99 latency of the asks and of the trivial view measured just before at the same
concurrency, the machine's load average, and the peak resident memory of a web worker.
Needs Debian's wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lab.bench.pages import (
    GUNICORN,
    PYTHON,
    ROOT,
    database_ready,
    first_story_id,
    peak_rss_mib,
    redis_start,
    run,
    server_env,
)

QUESTIONS = [
    "How much will the budget grow?",
    "Who voted against the plan?",
    "What did the mayor say about the fares?",
    "When will the new rules take effect?",
    "Why does it matter?",
    "What happened?",
    "How many people were affected?",
    "What do the critics say?",
]

WRK_SCRIPT = """
local questions = {%s}
local novel = %s
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
setup = function(thread)
  thread:set("seed", math.random(1, 1000000000))
end
init = function(args)
  math.randomseed(seed)
end
request = function()
  counter = counter + 1
  local question = questions[(counter %% #questions) + 1]
  if novel then
    -- A question no one asked before: encoded and answered afresh (its made-up case is refused).
    question = string.sub(question, 1, -2) .. " in case " .. math.random(1, 1000000000) .. "?"
  end
  local body = '{"question": "' .. question .. '"}'
  return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("REQUESTS %%d\\n", summary.requests))
end
"""


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> tuple[float, float, float, int]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", script]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses", output):
        raise SystemExit(f"{url} answered errors under load:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]

    def percentile(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rps, percentile("50"), percentile("99"), requests


def asked_count(env: dict[str, str], story_id: str) -> int:
    code = f"from stories.models import StoryQuestion; from django.db.models import Sum; print(StoryQuestion.objects.filter(story_id={story_id}).aggregate(n=Sum('count'))['n'] or 0)"  # noqa: E501
    return int(run([PYTHON, "manage.py", "shell", "-c", code], env).strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--askers", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread when above 1).")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--redis-port", type=int, default=6393)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--new-questions",
        action="store_true",
        help="Every question one never asked before (its made-up case is refused): none answered from memory.",
    )
    args = parser.parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        sys.exit("wrk is not installed: apt-get install wrk")

    name = f"newsroom_bench_{args.articles}"
    env = {**server_env(name, f"redis://127.0.0.1:{args.redis_port}/0"), "NEWSROOM_WARM_MODELS": "true"}
    redis = redis_start(args.redis_port)
    server = None
    try:
        database_ready(name, args.articles, env, args.rebuild)
        run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], env)
        story_id = first_story_id(env)
        command = [GUNICORN, "newsroom.wsgi:application", "-b", f"127.0.0.1:{args.port}", "-w", str(args.workers)]
        if args.threads > 1:
            command += ["--threads", str(args.threads)]
        server = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{args.port}"
        ask_url = f"{base}/api/v1/stories/{story_id}/ask/"
        for _ in range(150):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        # Warm: every worker loads its encoder (in the background at start), then each question once a worker.
        time.sleep(5)
        answered: set[str] = set()
        for question in QUESTIONS * args.workers * 2:
            request = urllib.request.Request(
                ask_url,
                data=json.dumps({"question": question}).encode(),
                headers={"Content-Type": "application/json"},
            )
            if json.loads(urllib.request.urlopen(request, timeout=120).read())["is_supported"]:
                answered.add(question)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(
                WRK_SCRIPT
                % (", ".join(json.dumps(question) for question in QUESTIONS), str(args.new_questions).lower())
            )
        load_before = os.getloadavg()[0]
        baseline, base_p50, base_p99, _ = wrk(f"{base}/healthz", args.seconds, args.askers)
        before = asked_count(env, story_id)
        rps, p50, p99, requests = wrk(ask_url, args.seconds, args.askers, script.name)
        logged = asked_count(env, story_id) - before
        load_after = os.getloadavg()[0]
        Path(script.name).unlink()
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        peak = max(peak_rss_mib(int(pid)) for pid in workers)
        threads = f", {args.threads} threads each" if args.threads > 1 else ""
        print(
            f"{args.articles} articles, story {story_id} (100 articles); gunicorn -w {args.workers}{threads}; "
            f"wrk -c{args.askers} {args.seconds}s"
        )
        asked = "every question new" if args.new_questions else f"{len(QUESTIONS)} questions asked again and again"
        print(f"{'endpoint':20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}   ({asked})")
        print(f"{'trivial view':20} {baseline:8.1f} {base_p50:8.1f} {base_p99:8.1f}")
        print(f"{'Ask (API, logged)':20} {rps:8.1f} {p50:8.1f} {p99:8.1f}   ({rps / baseline:.3f} of the trivial view)")
        print(f"asks logged during the run: {logged}; wrk counted {requests} (not those in flight at its end)")
        print(f"questions answered (the rest refused): {len(answered)} of {len(QUESTIONS)}: {sorted(answered)}")
        print(
            f"peak resident memory per web worker: {peak:.0f} MiB; "
            f"load average {load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} CPUs"
        )
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        redis.terminate()
        redis.wait(timeout=10)


if __name__ == "__main__":
    main()
