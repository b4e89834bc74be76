"""The framing model with the encoder's intermediate layers beside the mean sentence vector, on grouped folds.

    .venv/bin/python lab/bench/framing_layers.py FILE.jsonl [--features-cache PATH.npz] [--layers-cache PATH.npz]

What the framing model card's "session 19" rows come from. Each sentence's token states after
layers 2 to 5 of the encoder's six (mask-weighted mean, unit length) are averaged over the
article's sentences as the shipped feature is; each set is scored beside the shipped mean
sentence vector, and layers 3 and 4 alone, by the shipped recipe's grouped nested
cross-validation (``lab.framing_grouped.grouped_cross_validate``, topic clusters of the shipped
features, seed 0). These states come out of the analysis's one encoder pass anyway, so a gain
would cost nothing at run time. FILE as ``lab.train_framing`` reads it (``title``, ``text``,
``gold_frames``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

LAYERS = (2, 3, 4, 5)


def layer_features(segments: list[list[str]]) -> dict[int, np.ndarray[Any, Any]]:
    """By layer: each article's mean over its sentences of the unit, mask-weighted mean token state."""
    import torch

    from analysis.nlp.models import sentence_encoder

    model = sentence_encoder()
    tokenizer, transformer = model.tokenizer, model[0].auto_model
    width = transformer.config.hidden_size
    pooled = {layer: np.zeros((len(segments), width), np.float32) for layer in LAYERS}
    for row, article in enumerate(segments):
        sentences = article[1:] or article[:1]  # the headline stands in for an article without sentences
        found: dict[int, list[np.ndarray[Any, Any]]] = {layer: [] for layer in LAYERS}
        for start in range(0, len(sentences), 32):
            batch = tokenizer(
                sentences[start : start + 32], padding=True, truncation=True, max_length=256, return_tensors="pt"
            )
            with torch.inference_mode():
                output = transformer(**batch, output_hidden_states=True)
            mask = batch["attention_mask"].unsqueeze(-1).float()
            for layer in LAYERS:
                mean = (output.hidden_states[layer] * mask).sum(1) / mask.sum(1)
                found[layer].append(torch.nn.functional.normalize(mean, dim=1).numpy())
        for layer in LAYERS:
            pooled[layer][row] = np.vstack(found[layer]).mean(0)
    return pooled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--features-cache", type=Path, help="The shipped features (as lab.train_framing keeps them).")
    parser.add_argument("--layers-cache", type=Path, help="A .npz to keep the intermediate layers' features in.")
    arguments = parser.parse_args()

    from lab.environment import django_setup

    django_setup()
    import torch

    from analysis.evaluation import features_compute, labelled_read, labels_matrix
    from lab.framing_grouped import grouped_cross_validate, topic_groups

    torch.set_num_threads(1)
    articles = list(labelled_read(arguments.path))
    labels = labels_matrix(articles)
    features, segments = features_compute(articles, arguments.features_cache)
    cache: Path | None = arguments.layers_cache
    if cache is not None and cache.exists():
        with np.load(cache) as data:
            pooled = {layer: data[f"h{layer}"] for layer in LAYERS}
    else:
        pooled = layer_features(segments)
        if cache is not None:
            np.savez(cache, **{f"h{layer}": values for layer, values in pooled.items()})
    groups = topic_groups(features, seed=0)

    def scored(name: str, matrix: np.ndarray[Any, Any]) -> None:
        result = grouped_cross_validate(matrix, labels, groups, folds=5)
        print(
            f"{name:30s} micro-F1 {result.tags.micro_f1:.3f}  macro-F1 {result.tags.macro_f1:.3f}  "
            f"shown: precision {result.shown_precision:.3f}, "
            f"articles with one {result.articles_with_a_shown_frame:.3f}",
            flush=True,
        )

    scored("mean sentence vector (shipped)", features)
    for layer in LAYERS:
        scored(f"+ layer {layer}'s pooled states", np.hstack([features, pooled[layer]]))
    for layer in (3, 4):
        scored(f"layer {layer}'s alone", pooled[layer])


if __name__ == "__main__":
    main()
