"""The tone and loaded-language trainers: fine-tuned top layers shipped, their untouched part scored once by evaluate_*.

Tiny files written for these tests; one epoch each, so the figures mean nothing: what is checked
is the protocol's shape (what is written, what is scored, and that the weights load).
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest

from analysis.nlp.loaded_language import LoadedLanguageModel
from analysis.nlp.target_tone import ToneModel
from lab import train_loaded_language, train_tone

pytestmark = pytest.mark.models

PRAISE = "Voters cheered Mayor Ortiz for a brilliant, generous rescue of the flooded town."
BLAME = "Critics said Mayor Ortiz botched the rescue and lied about it."
PLAIN = "Mayor Ortiz will speak at the meeting on Thursday."


def test_the_tone_trainer_ships_four_top_layers_and_scores_the_held_out_blocks_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = []
    for number in range(0, 250, 10):  # blocks of 50 sentence numbers: block 0 is held out
        for sentence, polarity in ((PRAISE, "positive"), (BLAME, "negative"), (PLAIN, "neutral")):
            text = f"{sentence} ({number})"
            rows.append(
                {
                    "id": f"newsmtsc-train-{number}-{polarity}",
                    "sentence": text,
                    "target_start": text.index("Mayor Ortiz"),
                    "target_end": text.index("Mayor Ortiz") + len("Mayor Ortiz"),
                    "gold_polarity": polarity,
                }
            )
    path = tmp_path / "tone.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the held-out rows go to var/ under the working directory
    output = StringIO()

    train_tone.main(
        [str(path), "--output", str(tmp_path / "weights.npz"), "--epochs", "1"], stdout=output, stderr=StringIO()
    )

    model = ToneModel.load(tmp_path / "weights.npz")
    assert model.top_layer is not None
    assert model.top_layer.layers == 4
    assert model.version.startswith("layers4-newsmtsc-")
    assert "The runtime's classes agree with the network's on 100.0% of 15 training rows." in output.getvalue()
    held_out = [json.loads(line) for line in (tmp_path / "var" / "tone_held_out.jsonl").read_text().splitlines()]
    assert {row["id"].split("-")[2] for row in held_out} == {"0", "10", "20", "30", "40"}
    assert f"Tone model {model.version} on tone_held_out.jsonl (15 rows)" in output.getvalue()
    assert "macro-F1" in output.getvalue()


def test_the_loaded_language_trainer_ships_a_top_layer_with_an_out_of_fold_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = "The heartless bureaucrats rammed through an outrageous, shameful fare grab on struggling families."
    plain = "The council voted 5-2 on Tuesday to raise bus fares by 25 cents from March."
    rows = [
        {"article_id": f"a{article}", "text": f"{text} ({article})", "gold_loaded_language": text == loaded}
        for article in range(14)
        for text in (loaded, plain, plain)
    ]
    held = {row["article_id"] for row in rows if train_loaded_language.held_out(row["article_id"])}
    assert held, "the ids hold at least one article out"
    path = tmp_path / "loaded.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    output = StringIO()

    train_loaded_language.main(
        [str(path), "--output", str(tmp_path / "weights.npz"), "--epochs", "1", "--threshold-folds", "2"],
        stdout=output,
        stderr=StringIO(),
    )

    model = LoadedLanguageModel.load(tmp_path / "weights.npz")
    assert model.top_layer is not None
    assert model.version.startswith("layer-semeval23-en-")
    assert model.meta["threshold_folds"] == "2"
    assert model.meta["unit"] == "sentence"
    printed = output.getvalue()
    assert "Out-of-fold (" in printed
    assert f"threshold {model.threshold:.2f}" in printed
    held_out = (tmp_path / "var" / "loaded_language_held_out.jsonl").read_text().splitlines()
    assert len(held_out) == 3 * len(held)
    assert f"Loaded-language model {model.version} on loaded_language_held_out.jsonl ({len(held_out)} paragraphs)" in (
        printed
    )


def test_the_loaded_language_trainer_writes_a_threshold_chosen_on_out_of_fold_predictions(tmp_path: Path) -> None:
    import numpy as np

    weights = tmp_path / "weights.npz"
    LoadedLanguageModel(
        mean=np.zeros(3, np.float32),
        scale=np.ones(3, np.float32),
        coef=np.ones(3, np.float32),
        intercept=0.0,
        threshold=0.5,
        meta={"name": "test"},
    ).save(weights)
    # Two folds' predictions of eight paragraphs, four of them loaded.
    np.savez(tmp_path / "a.npz", gold=np.array([1, 1, 0, 1]), alone=np.array([0.9, 0.85, 0.7, 0.7]))
    np.savez(tmp_path / "b.npz", gold=np.array([1, 0, 0, 0]), alone=np.array([0.95, 0.3, 0.75, 0.2]))
    output = StringIO()

    train_loaded_language.main(
        ["unread.jsonl", "--output", str(weights), "--rethreshold", str(tmp_path / "a.npz"), str(tmp_path / "b.npz")],
        stdout=output,
    )

    model = LoadedLanguageModel.load(weights)
    # The best F1 among thresholds reaching the precision aim: from 0.76, three flags, all right (at 0.70 six,
    # four right: F1 0.800).
    assert model.threshold == pytest.approx(0.76)
    assert model.meta["threshold_from"] == "8 out-of-fold paragraphs, precision >= 0.62"
    assert "every flag: threshold 0.76, F1 0.857, precision 1.000, recall 0.750" in output.getvalue()
