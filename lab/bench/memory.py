"""Resident memory of a web worker and of the analysis worker with their models loaded, per encoder backend.

    .venv/bin/python lab/bench/memory.py [--articles 64]

Each role runs in a fresh interpreter with the project's settings (``newsroom.settings.local``),
as its process would: the web worker loads the URLconf and warms Ask's encoder as it does at
start (``newsroom.warmup.models_warm``) and answers a question's encoding; the analysis worker
loads its models and analyses the demo corpus in batches of the worker's size. Printed: the
peak resident memory (VmHWM) and the resident memory at the end (VmRSS) of each, for the PyTorch
encoder and, when onnxruntime is installed, ONNX Runtime's (the graphs exported first, as
``manage.py export_onnx`` does before a deployment starts), whether PyTorch was loaded, and the load
average.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def memory_mib() -> tuple[float, float]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmHWM"], values["VmRSS"]


def role_run(role: str, articles: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings.local")
    import django

    django.setup()
    if role == "web":
        import newsroom.urls  # noqa: F401 (what a worker imports to serve its first request)
        from newsroom.warmup import models_warm
        from stories.ask import question_encode

        models_warm()
        question_encode("When does the new fare take effect?")
    else:
        from django.conf import settings

        from analysis.nlp.article import ArticleText
        from analysis.services import analyser

        corpus = ROOT / "newsroom" / "demo" / "articles.jsonl"
        records = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
        items = [
            ArticleText(title=str(record.get("title") or ""), text=str(record.get("text") or ""))
            for record in (records * (articles // len(records) + 1))[:articles]
        ]
        size = settings.NEWSROOM_ANALYSIS_BATCH_SIZE
        for start in range(0, len(items), size):
            analyser().analyse(items[start : start + size])
    print(json.dumps([*memory_mib(), "torch" in sys.modules]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=64, help="Articles the analysis worker analyses.")
    parser.add_argument("--role", choices=["web", "analysis"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.role:
        role_run(arguments.role, arguments.articles)
        return
    backends = ["torch"] + (["onnx"] if importlib.util.find_spec("onnxruntime") else [])
    if "onnx" in backends:  # as a deployment does before its workers start: none of them exports
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "export_onnx"],
            env={**os.environ, "NEWSROOM_ENCODER_BACKEND": "onnx", "LOG_LEVEL": "WARNING"},
            capture_output=True,
            check=True,
            cwd=ROOT,
        )
    print(f"{'process':16} {'encoder':8} {'peak MiB':>9} {'end MiB':>8} {'PyTorch':>8} {'load':>5}")
    for role in ("web", "analysis"):
        for backend in backends:
            output = subprocess.run(
                [sys.executable, __file__, "--role", role, "--articles", str(arguments.articles)],
                env={**os.environ, "NEWSROOM_ENCODER_BACKEND": backend, "LOG_LEVEL": "WARNING"},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            peak, end, torch_loaded = json.loads(output.strip().splitlines()[-1])
            name = "web worker" if role == "web" else "analysis worker"
            torch_state = "loaded" if torch_loaded else "not"
            load = os.getloadavg()[0]
            print(f"{name:16} {backend:8} {peak:9.0f} {end:8.0f} {torch_state:>8} {load:5.1f}", flush=True)


if __name__ == "__main__":
    main()
