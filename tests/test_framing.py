"""The framing classifier: its evidence, its weights file, and the train and evaluate commands."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from analysis.nlp.framing import FRAMES, WEIGHTS_PATH, FramingModel, article_features, framing_model
from analysis.nlp.framing_training import framing_cross_validate, majority_cross_validate

DIMENSIONS = 8


def axis(index: int, weight: float = 1.0) -> np.ndarray:
    vector = np.full(DIMENSIONS, 0.05, dtype=np.float32)
    vector[index] = weight
    return vector / np.linalg.norm(vector)


def two_frame_model() -> FramingModel:
    """Economic reads dimension 0, Political dimension 1; the other frames are never above threshold."""
    size = len(article_features(np.zeros((1, DIMENSIONS))))
    coef = np.zeros((len(FRAMES), size), dtype=np.float32)
    coef[FRAMES.index("Economic"), 0] = 10.0
    coef[FRAMES.index("Political"), 1] = 10.0
    coef[FRAMES.index("Morality"), 2] = 0.1234567  # not a float16: the saved file rounds it
    return FramingModel(
        frames=list(FRAMES),
        mean=np.zeros(size, dtype=np.float32),
        scale=np.ones(size, dtype=np.float32),
        coef=coef,
        intercept=np.full(len(FRAMES), -2.0, dtype=np.float32),
        thresholds=np.full(len(FRAMES), 0.5, dtype=np.float32),
        meta={"name": "test"},
    )


def test_it_tags_frames_with_the_sentences_that_carry_them() -> None:
    sentences = np.vstack([axis(2), axis(0), axis(3), axis(0, 0.8), axis(1), axis(1), axis(1)])

    tags = two_frame_model().tag(sentences)

    assert [tag.frame for tag in tags] == ["Political", "Economic"]
    assert tags[0].sentences == [4, 5, 6]
    assert tags[1].sentences == [1, 3]
    assert all(0.5 <= tag.score <= 1.0 for tag in tags)


def test_it_gives_an_article_below_every_threshold_its_most_likely_frame() -> None:
    tags = two_frame_model().tag(np.vstack([axis(0, 0.1), axis(4)]))

    assert [tag.frame for tag in tags] == ["Economic"]


def test_it_keeps_weights_and_version_through_a_file(tmp_path: Path) -> None:
    model = two_frame_model()
    model.save(tmp_path / "framing.npz")

    loaded = FramingModel.load(tmp_path / "framing.npz")

    assert loaded.version == model.version
    assert loaded.meta == {"name": "test"}
    sentences = np.vstack([axis(0), axis(1)])
    assert np.allclose(
        loaded.probabilities(article_features(sentences)), model.probabilities(article_features(sentences))
    )


def test_it_ships_small_weights_over_the_fourteen_frames() -> None:
    model = framing_model()

    assert model.frames == FRAMES
    assert WEIGHTS_PATH.stat().st_size < 100 * 1024
    assert model.version.startswith("linear-")
    assert (WEIGHTS_PATH.parent / "MODEL_CARD.md").exists()


def test_it_beats_the_most_common_frames_when_the_labels_are_learnable() -> None:
    generator = np.random.default_rng(0)
    features = generator.normal(size=(120, 6))
    labels = np.zeros((120, len(FRAMES)), dtype=bool)
    labels[:, 0] = features[:, 0] > 0
    labels[:, 1] = features[:, 1] > 0.5
    labels[:, 2] = True

    learnt = framing_cross_validate(features, labels, folds=3)
    common = majority_cross_validate(labels, folds=3)

    assert learnt.micro_f1 > 0.85
    assert learnt.micro_f1 > common.micro_f1 + 0.1


# Written for these tests: one frame per article, clear enough for a model trained on 24 of them.
FIXTURE_TOPICS = {
    "Crime_and_punishment": [
        "Police arrested the suspect after the robbery and prosecutors filed burglary charges.",
        "The court sentenced the man to ten years in prison for assault.",
        "Detectives said the gang is behind a string of thefts across the city.",
    ],
    "Economic": [
        "The company reported lower profits as prices and wages rose.",
        "Economists expect inflation to slow the growth of household spending.",
        "The budget deficit widened as tax revenue fell short of forecasts.",
    ],
    "Health_and_safety": [
        "Doctors warned that the virus is spreading quickly in hospitals.",
        "Health officials urged residents to get vaccinated before winter.",
        "Patients waited hours for treatment as the outbreak worsened.",
    ],
}


@pytest.fixture
def labelled_file(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.jsonl"
    rows = []
    for frame, sentences in FIXTURE_TOPICS.items():
        for number in range(8):
            rotated = sentences[number % 3 :] + sentences[: number % 3]
            rows.append(
                {"id": f"{frame}-{number}", "title": rotated[0], "text": "\n".join(rotated), "gold_frames": [frame]}
            )
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.models
def test_it_trains_and_evaluates_a_model_from_the_command_line(labelled_file: Path, tmp_path: Path) -> None:
    weights = tmp_path / "framing.npz"
    out = io.StringIO()

    call_command("train_framing", str(labelled_file), "--output", str(weights), stdout=out, stderr=io.StringIO())
    call_command("evaluate_framing", str(labelled_file), "--model", str(weights), stdout=out)
    call_command("train_framing", str(labelled_file), "--cv", "3", stdout=out, stderr=io.StringIO())

    printed = out.getvalue()
    assert f"Wrote {weights}" in printed
    micro = [float(line.split("micro-F1 ")[1].split()[0]) for line in printed.splitlines() if "micro-F1" in line]
    assert len(micro) == 3, printed
    evaluated, baseline, cross_validated = micro
    assert evaluated > 0.9
    assert cross_validated > baseline + 0.3
    assert FramingModel.load(weights).meta["trained_on"] == "labelled.jsonl"
