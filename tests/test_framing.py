"""The framing classifier: its evidence and its weights file (its training: test_lab_framing.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.nlp.framing import (
    FRAMES,
    WEIGHTS_PATH,
    FramingModel,
    LexicalModel,
    article_features,
    framing_model,
    segment_terms,
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
    # Since issue 18: the embedding model alone, chosen on folds grouped by topic, with a display threshold.
    assert model.lexical is None
    assert model.version.startswith("linear-")
    assert 0.0 < model.display_threshold < 1.0
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
