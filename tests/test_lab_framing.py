"""The framing classifier's training (lab/): the nested protocol, the fit, and the train and evaluate commands."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from analysis.evaluation import scores
from analysis.nlp.framing import FRAMES, FramingModel, LexicalModel
from lab import framing_training, train_framing
from lab.framing_training import (
    framing_cross_validate,
    framing_fit,
    lexical_matrix,
    lexical_vocabulary,
    majority_cross_validate,
)


def test_it_computes_the_same_tf_idf_rows_as_scikit_learn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    documents = [["Police arrest", "The police made an arrest."], ["Tax rise", "The tax rise hurt."], ["Tax", "x"]]
    vocabulary, idf = lexical_vocabulary(documents)
    model = LexicalModel(vocabulary, idf, np.zeros((1, len(vocabulary))), np.zeros(1))

    ours = lexical_matrix(model, documents).toarray()

    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, vocabulary=vocabulary).fit(
        [" ".join(document) for document in documents]
    )
    assert vocabulary == ["tax", "the"]  # in two articles at least: not "police", "x" or any pair
    assert np.allclose(idf, reference.idf_)
    assert np.allclose(ours, reference.transform([" ".join(document) for document in documents]).toarray())


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


def synthetic_corpus(rows: int = 100) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Economic is in the vectors, Crime only in the words, Political everywhere."""
    generator = np.random.default_rng(1)
    features = generator.normal(size=(rows, 6))
    labels = np.zeros((rows, len(FRAMES)), dtype=bool)
    labels[:, FRAMES.index("Economic")] = features[:, 0] > 0
    crime = generator.random(rows) < 0.4
    labels[:, FRAMES.index("Crime_and_punishment")] = crime
    labels[:, FRAMES.index("Political")] = True
    filler = ["weather", "garden", "music", "travel", "cooking", "football"]
    segments = [
        [
            f"News of {filler[row % 6]}",
            f"A story about {filler[(row + 1) % 6]} and {filler[(row + 2) % 6]}.",
            "Police arrested a suspect and the court sent him to prison." if crime[row] else "Nothing else happened.",
        ]
        for row in range(rows)
    ]
    return features, labels, segments


def test_it_learns_frames_from_the_words_and_the_vectors_together() -> None:
    features, labels, segments = synthetic_corpus()

    vectors_only = framing_cross_validate(features, labels, folds=3)
    both = framing_cross_validate(features, labels, segments, folds=3)

    assert both.per_frame["Crime_and_punishment"] > 0.9
    assert vectors_only.per_frame["Crime_and_punishment"] < 0.7
    assert both.micro_f1 > vectors_only.micro_f1 + 0.05


def test_it_trains_weights_that_load_and_predict(tmp_path: Path) -> None:
    features, labels, segments = synthetic_corpus()

    model = framing_fit(features, labels, segments, meta={"name": "synthetic"})
    model.save(tmp_path / "framing.npz")
    loaded = FramingModel.load(tmp_path / "framing.npz")

    assert loaded.lexical is not None
    assert "prison" in loaded.lexical.vocabulary
    assert loaded.meta["name"] == "synthetic"
    assert "stack_C" in loaded.meta
    assert loaded.stack is not None
    assert loaded.stack.shape == (len(FRAMES), 2)
    predicted = loaded.decide(loaded.probabilities(features, segments))
    assert predicted.any(axis=1).all()  # every article has a frame
    assert (predicted[:, FRAMES.index("Crime_and_punishment")] == labels[:, FRAMES.index("Crime_and_punishment")]).all()


def test_it_chooses_thresholds_on_inner_folds_only(monkeypatch: pytest.MonkeyPatch) -> None:
    features, labels, segments = synthetic_corpus(100)
    features[:, 5] = np.arange(100)  # each row's number, to see which rows each step was given
    seen: list[tuple[set[int], set[int]]] = []
    threshold_rows: list[int] = []
    stack_rows: list[int] = []
    embedding_logits = framing_training.embedding_logits
    frame_thresholds = framing_training.frame_thresholds
    stack_fit = framing_training.stack_fit

    def spied_logits(train: np.ndarray, labels: np.ndarray, regularisation: float, test: np.ndarray) -> np.ndarray:
        seen.append((set(train[:, 5].astype(int)), set(test[:, 5].astype(int))))
        return embedding_logits(train, labels, regularisation, test)

    def spied_thresholds(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
        threshold_rows.append(len(probabilities))
        return frame_thresholds(probabilities, labels)

    def spied_stack(logits: np.ndarray, labels: np.ndarray, regularisation: float) -> tuple[np.ndarray, np.ndarray]:
        stack_rows.append(len(logits))
        return stack_fit(logits, labels, regularisation)

    monkeypatch.setattr(framing_training, "embedding_logits", spied_logits)
    monkeypatch.setattr(framing_training, "frame_thresholds", spied_thresholds)
    monkeypatch.setattr(framing_training, "stack_fit", spied_stack)
    framing_cross_validate(features, labels, segments, folds=5)

    # Each threshold search saw the 80 training rows of an outer fold, never the 20 held out;
    # the probabilities it read came from models that had not seen the rows they scored.
    assert threshold_rows
    assert set(threshold_rows) == {80}
    # The stack was fitted on the out-of-fold logits of an outer fold's training rows (all 80 for
    # the model that scores the held-out fold, three inner folds' worth to choose its thresholds).
    assert set(stack_rows) == {60, 80}
    assert all(not (train & test) for train, test in seen)
    assert all(len(train | test) == 80 for train, test in seen)


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

    train_framing.main([str(labelled_file), "--output", str(weights)], stdout=out, stderr=io.StringIO())
    call_command("evaluate_framing", str(labelled_file), "--model", str(weights), stdout=out)
    train_framing.main([str(labelled_file), "--cv", "3"], stdout=out, stderr=io.StringIO())

    printed = out.getvalue()
    assert f"Wrote {weights}" in printed
    micro = [float(line.split("micro-F1 ")[1].split()[0]) for line in printed.splitlines() if "micro-F1" in line]
    assert len(micro) == 3, printed
    evaluated, baseline, cross_validated = micro
    assert evaluated > 0.9
    assert cross_validated > baseline + 0.3
    assert FramingModel.load(weights).meta["trained_on"] == "labelled.jsonl"


def test_it_scores_f1_as_scikit_learn_does() -> None:
    """``evaluate_framing`` scores in numpy (the runtime has no scikit-learn): the same figures as ``f1_score``."""
    from sklearn.metrics import f1_score

    generator = np.random.default_rng(3)
    gold = generator.random((60, len(FRAMES))) < 0.2
    predicted = generator.random((60, len(FRAMES))) < 0.25
    gold[:, 3] = predicted[:, 3] = False  # a frame neither labelled nor predicted scores 0 in the macro mean

    ours = scores(gold, predicted)

    assert ours.micro_f1 == f1_score(gold, predicted, average="micro", zero_division=0)
    assert ours.macro_f1 == f1_score(gold, predicted, average="macro", zero_division=0)
    assert list(ours.per_frame.values()) == list(f1_score(gold, predicted, average=None, zero_division=0))


def test_it_validates_by_topic_and_shows_only_confident_frames(tmp_path: Path) -> None:
    from lab.framing_grouped import grouped_cross_validate, grouped_fit, topic_groups

    generator = np.random.default_rng(2)
    centres = generator.normal(size=(10, 6)) * 3
    topics = np.repeat(np.arange(10), 15)
    features = centres[topics] + generator.normal(size=(150, 6))
    labels = np.zeros((150, len(FRAMES)), dtype=bool)
    labels[:, 0] = features[:, 0] > 0
    labels[:, 1] = features[:, 1] > 1
    labels[:, 2] = True

    groups = topic_groups(features)
    result = grouped_cross_validate(features, labels, groups)
    model = grouped_fit(features, labels, groups, meta={"name": "test"})
    model.save(tmp_path / "framing.npz")

    assert len(set(groups.tolist())) == 10
    assert result.tags.micro_f1 > 0.8
    assert result.shown_precision >= 0.75
    assert 0.0 < result.shown_share <= 1.0
    assert 0.0 < model.display_threshold < 1.0
    assert FramingModel.load(tmp_path / "framing.npz").version == model.version
