"""The analysis stage against its ceiling, the raw sentence encoder, on the same texts.

    .venv/bin/python lab/bench/analysis.py [--corpus FILE.jsonl] [--articles 200] [--batch-size 16]

Loads the models once (timed apart), then on the same articles prints:
- the raw encoder's throughput: every text the analysis encodes (leads and sentences),
  encoded in batches with nothing else: sentences per second, the ceiling on this machine;
  PyTorch's, and ONNX Runtime's beside it when onnxruntime is installed (``make onnx``);
- the full analysis stage (spaCy ``nlp.pipe``, the encoder, framing, the tone model running its
  top layer on the token states of the sentences naming the main actors, the loaded-language
  model running its top layer on those of every sentence, actors), in
  worker-sized batches: articles per second and its time as a multiple of the PyTorch encoder's
  time on the same text, with where the rest of the time goes; the same with the tone model's
  own second encoder pass (the code before issue 21), and with the ONNX Runtime encoder;
- peak resident memory of the process and the machine's load average.
The default corpus is the demo's (newsroom/demo/articles.jsonl), repeated to the size asked.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsroom.settings.local")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "newsroom" / "demo" / "articles.jsonl")
    parser.add_argument("--articles", type=int, default=200, help="How many articles (the corpus repeats if short).")
    parser.add_argument("--batch-size", type=int, default=0, help="Articles per batch (default: the setting).")
    parser.add_argument(
        "--repeat", type=int, default=2, help="Rounds, encoder and stage alternating; the fastest of each counts."
    )
    arguments = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from analysis.nlp import article as article_module
    from analysis.nlp.article import Analyser, ArticleText, sentences_of
    from analysis.services import analyser

    records = [json.loads(line) for line in arguments.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [
        ArticleText(
            title=str(records[index % len(records)].get("title") or ""),
            text=str(records[index % len(records)].get("text") or ""),
        )
        for index in range(arguments.articles)
    ]
    batch_size = arguments.batch_size or settings.NEWSROOM_ANALYSIS_BATCH_SIZE
    batches = [items[start : start + batch_size] for start in range(0, len(items), batch_size)]

    started = time.perf_counter()
    engine = analyser()
    engine.analyse(items[:2])  # warm-up: first calls allocate
    engines = {"torch": engine}
    if importlib.util.find_spec("onnxruntime") is None:
        print("onnxruntime is not installed (make onnx): the PyTorch encoder only")
    else:
        engines["onnx"] = Analyser(
            spacy_model=settings.NEWSROOM_SPACY_MODEL,
            encoder_path=settings.NEWSROOM_EMBEDDING_MODEL,
            encoder_backend="onnx",
            encoder_onnx_dir=settings.NEWSROOM_ENCODER_ONNX_DIR,
            framing_path=settings.NEWSROOM_FRAMING_MODEL,
            tone_path=settings.NEWSROOM_TONE_MODEL,
            loaded_language_path=settings.NEWSROOM_LOADED_LANGUAGE_MODEL,
            batch_size=settings.NEWSROOM_ANALYSIS_BATCH_SIZE,
        )
        engines["onnx"].analyse(items[:2])
    print(f"models loaded and warmed in {time.perf_counter() - started:.1f}s")

    # The exact texts the analysis encodes, batch by batch: each article's lead, then its sentences.
    text_batches: list[list[str]] = []
    for batch in batches:
        texts: list[str] = []
        for doc, item in zip(engine.parse(batch), batch, strict=True):
            sentences = [sentence.text for sentence in sentences_of(doc)]
            lead = ". ".join(filter(None, [item.title, " ".join(sentences[: article_module.LEAD_SENTENCES])]))
            texts.extend([lead, *sentences])
        text_batches.append(texts)
    total_texts = sum(len(batch) for batch in text_batches)

    def encoder_round(backend: str) -> float:
        encoder = engines[backend]
        begun = time.perf_counter()
        for batch in text_batches:
            encoder.encode(batch)
        return time.perf_counter() - begun

    def stage_round(variant: str) -> tuple[float, dict[str, float]]:
        """One pass of the stage over every batch, with the time of each part."""
        subject = engines["onnx" if variant == "onnx" else "torch"]
        timings = {"spacy": 0.0, "encoder": 0.0, "framing": 0.0, "tone": 0.0, "loaded": 0.0}
        original_parse, original_encode = subject.parse, subject.encode_states
        original_tag, original_tone = subject.framing.tag, subject.tone.probabilities
        # The analysis asks the loaded-language model for each sentence's flag (``flags``, since session 18).
        original_flags = subject.loaded_language.flags

        def timed(part: str, function: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                begun = time.perf_counter()
                result = function(*args, **kwargs)
                if part == "spacy":
                    result = list(result)
                timings[part] += time.perf_counter() - begun
                return result

            return run

        subject.parse = timed("spacy", original_parse)  # type: ignore[method-assign]
        subject.encode_states = timed("encoder", original_encode)  # type: ignore[method-assign]
        subject.framing.tag = timed("framing", original_tag)  # type: ignore[method-assign]
        subject.tone.probabilities = timed("tone", original_tone)  # type: ignore[method-assign]
        subject.loaded_language.flags = timed("loaded", original_flags)  # type: ignore[method-assign]
        if variant == "second pass":  # before issue 21: the tone model encodes its sentences again
            subject.tone.reads_states_of = lambda model: False  # type: ignore[method-assign]
        try:
            begun = time.perf_counter()
            for batch in batches:
                subject.analyse(batch)
            return time.perf_counter() - begun, timings
        finally:
            subject.parse, subject.encode_states = original_parse, original_encode  # type: ignore[method-assign]
            for name in ("tag",):
                delattr(subject.framing, name)  # back to the class's method
            for name in ("probabilities", "reads_states_of"):
                subject.tone.__dict__.pop(name, None)
            subject.loaded_language.__dict__.pop("flags", None)

    variants = ["one pass", "second pass"] + (["onnx"] if "onnx" in engines else [])
    # Alternating rounds, the fastest of each kept: on a shared machine, other load slows a round at random.
    load_before = os.getloadavg()[0]
    raw = dict.fromkeys(engines, float("inf"))
    stage: dict[str, tuple[float, dict[str, float]]] = {variant: (float("inf"), {}) for variant in variants}
    for _round in range(max(1, arguments.repeat)):
        for backend in engines:
            raw[backend] = min(raw[backend], encoder_round(backend))
        for variant in variants:
            elapsed, parts = stage_round(variant)
            if elapsed < stage[variant][0]:
                stage[variant] = (elapsed, parts)
    load_after = os.getloadavg()[0]

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"corpus: {arguments.corpus.name}, {len(items)} articles, {total_texts} texts encoded, batches of {batch_size}"
    )
    baseline = raw["torch"]
    for backend, seconds in raw.items():
        print(
            f"raw encoder, {backend:5}: {total_texts / seconds:8.1f} sentences/s  ({seconds:.1f}s; "
            f"{baseline / seconds:.2f}x PyTorch's speed)"
        )
    labels = {
        "one pass": "analysis stage (PyTorch, tone from the one pass)",
        "second pass": "analysis stage (PyTorch, tone's own second pass: before issue 21)",
        "onnx": "analysis stage (ONNX Runtime encoder)",
    }
    for variant in variants:
        seconds, parts = stage[variant]
        rest = seconds - sum(parts.values())
        own = f", {seconds / raw['onnx']:.2f}x the ONNX encoder's" if variant == "onnx" else ""
        print(
            f"{labels[variant]}: {len(items) / seconds:.2f} articles/s ({seconds:.1f}s; "
            f"{seconds / baseline:.2f}x the PyTorch encoder's time on the same text{own})"
        )
        print(
            f"  of which spaCy {parts['spacy']:.1f}s, encoder {parts['encoder']:.1f}s, "
            f"framing {parts['framing']:.2f}s, tone model {parts['tone']:.2f}s, "
            f"loaded language {parts['loaded']:.2f}s, actors and the rest {rest:.1f}s"
        )
    print(
        f"peak memory: {peak:.0f} MiB resident; load average {load_before:.1f} before, {load_after:.1f} after, "
        f"on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
