"""The framing classifier: its evidence, its weights file, and the train and evaluate commands."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from analysis.nlp import framing_training
from analysis.nlp.framing import (
    FRAMES,
    WEIGHTS_PATH,
    FramingModel,
    LexicalModel,
    article_features,
    framing_model,
    segment_terms,
)
from analysis.nlp.framing_training import (
    framing_cross_validate,
    framing_fit,
    lexical_matrix,
    lexical_vocabulary,
    majority_cross_validate,
)

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
    assert WEIGHTS_PATH.stat().st_size < 3 * 1024 * 1024
    assert model.lexical is not None
    assert model.stack is not None
    assert model.stack.shape == (len(FRAMES), 2)
    assert model.version.startswith("stack-")
    assert (WEIGHTS_PATH.parent / "MODEL_CARD.md").exists()


def lexical_model() -> FramingModel:
    """The two-frame embedding model, plus a lexical model that reads "prison" as Crime and "tax" as Economic,
    stacked: each frame's logit is the sum of its two models' logits, plus one."""
    model = two_frame_model()
    vocabulary = ["court", "prison", "tax", "the"]
    coef = np.zeros((len(FRAMES), len(vocabulary)), dtype=np.float32)
    coef[FRAMES.index("Crime_and_punishment"), vocabulary.index("prison")] = 12.0
    coef[FRAMES.index("Economic"), vocabulary.index("tax")] = 12.0
    model.lexical = LexicalModel(
        vocabulary=vocabulary,
        idf=np.ones(len(vocabulary), dtype=np.float32),
        coef=coef,
        intercept=np.full(len(FRAMES), -3.0, dtype=np.float32),
    )
    model.stack = np.ones((len(FRAMES), 2), dtype=np.float32)
    model.stack_intercept = np.ones(len(FRAMES), dtype=np.float32)
    model.thresholds = np.full(len(FRAMES), 0.4, dtype=np.float32)
    return model


def test_it_splits_text_into_words_and_word_pairs_within_a_segment() -> None:
    assert segment_terms("The Court's ruling, X said") == [
        "the",
        "court",
        "ruling",
        "said",
        "the court",
        "court ruling",
        "ruling said",
    ]


def test_it_tags_frames_that_only_the_words_carry_with_the_sentences_that_say_them() -> None:
    sentences = ["The weather was mild.", "He was sent to prison.", "The crowd left.", "Prison, said the judge."]
    matrix = np.vstack([axis(4), axis(4), axis(5), axis(4)])

    tags = lexical_model().tag(matrix, sentences, "A quiet day")

    crime = {tag.frame: tag for tag in tags}["Crime_and_punishment"]
    assert crime.sentences == [1, 3]
    assert "Economic" not in {tag.frame for tag in tags}


def test_it_needs_the_text_of_articles_when_the_model_reads_words() -> None:
    model = lexical_model()
    features = article_features(np.vstack([axis(4)]))

    with pytest.raises(ValueError, match="headline and sentences"):
        model.probabilities(features)
    with_words = model.probabilities(features, [["Tax cuts", "The tax bill passed the house."]])
    without = model.probabilities(features, [["A day", "The crowd left the house."]])
    assert with_words[0, FRAMES.index("Economic")] > without[0, FRAMES.index("Economic")] + 0.3


def test_it_keeps_the_lexical_model_and_a_new_version_through_a_file(tmp_path: Path) -> None:
    model = lexical_model()
    model.save(tmp_path / "framing.npz")

    loaded = FramingModel.load(tmp_path / "framing.npz")

    assert loaded.version == model.version
    assert loaded.version.startswith("stack-")
    assert loaded.version != two_frame_model().version
    assert loaded.lexical is not None
    assert loaded.lexical.vocabulary == model.lexical.vocabulary
    segments = [["Tax news", "The prison tax rose."]]
    features = article_features(np.vstack([axis(0)]))
    assert np.allclose(loaded.probabilities(features, segments), model.probabilities(features, segments), atol=1e-3)
    with np.load(tmp_path / "framing.npz", allow_pickle=False) as data:
        assert "lexical_coef" in data  # arrays only: it loads without pickles


def test_it_stacks_the_two_models_per_frame_with_exact_sentence_shares(tmp_path: Path) -> None:
    model = lexical_model()
    sentences = ["The weather was mild.", "He was sent to prison.", "The crowd left.", "Prison, said the judge."]
    matrix = np.vstack([axis(4), axis(4), axis(5), axis(4)])
    segments = ["A quiet day", *sentences]

    probabilities = model.probabilities(article_features(matrix), [segments])
    tags = model.tag(matrix, sentences, "A quiet day")

    assert model.lexical is not None
    summed = model.embedding_logits(article_features(matrix))[0] + model.lexical.logits(segments) + 1.0
    assert np.allclose(probabilities[0], 1 / (1 + np.exp(-summed)), atol=1e-5)
    assert {tag.frame: tag for tag in tags}["Crime_and_punishment"].sentences == [1, 3]
    model.save(tmp_path / "framing.npz")
    loaded = FramingModel.load(tmp_path / "framing.npz")
    assert loaded.version == model.version
    assert loaded.version.startswith("stack-")
    assert np.allclose(loaded.probabilities(article_features(matrix), [segments]), probabilities, atol=1e-3)


def test_it_loads_weights_that_name_the_retired_blend_at_its_default_and_refuses_a_real_blend(tmp_path: Path) -> None:
    """Files of format 2 carried a blend of the two models' probabilities; the shipped file carries it at 1.0 (none)."""
    model = lexical_model()
    model.save(tmp_path / "framing.npz")
    with np.load(tmp_path / "framing.npz", allow_pickle=False) as data:
        arrays = dict(data)

    np.savez(tmp_path / "named.npz", **arrays, blend=np.array(1.0, dtype=np.float32))
    named = FramingModel.load(tmp_path / "named.npz")
    np.savez(tmp_path / "blended.npz", **arrays, blend=np.array(0.5, dtype=np.float32))
    unstacked = {key: value for key, value in arrays.items() if not key.startswith("stack")}
    np.savez(tmp_path / "unstacked.npz", **unstacked, blend=np.array(1.0, dtype=np.float32))

    assert named.version == model.version
    with pytest.raises(ValueError, match="blended"):
        FramingModel.load(tmp_path / "blended.npz")
    with pytest.raises(ValueError, match="without its stack"):
        FramingModel.load(tmp_path / "unstacked.npz")


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
    embedding_logits = framing_training._embedding_logits
    frame_thresholds = framing_training.frame_thresholds
    stack_fit = framing_training._stack_fit

    def spied_logits(train: np.ndarray, labels: np.ndarray, regularisation: float, test: np.ndarray) -> np.ndarray:
        seen.append((set(train[:, 5].astype(int)), set(test[:, 5].astype(int))))
        return embedding_logits(train, labels, regularisation, test)

    def spied_thresholds(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
        threshold_rows.append(len(probabilities))
        return frame_thresholds(probabilities, labels)

    def spied_stack(logits: np.ndarray, labels: np.ndarray, regularisation: float) -> tuple[np.ndarray, np.ndarray]:
        stack_rows.append(len(logits))
        return stack_fit(logits, labels, regularisation)

    monkeypatch.setattr(framing_training, "_embedding_logits", spied_logits)
    monkeypatch.setattr(framing_training, "frame_thresholds", spied_thresholds)
    monkeypatch.setattr(framing_training, "_stack_fit", spied_stack)
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
