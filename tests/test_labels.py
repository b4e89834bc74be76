"""The labels a reader sees: tone toward an actor, loaded language, frames shown only when confident.

The sentences here are written for these tests. Tests marked with the real models load the
shipped weights and the shared encoder (a few seconds).
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

from analysis.models import ArticleAnalysis, tone_counts_words, tone_label_of
from analysis.nlp import tone
from analysis.nlp.framing import FRAMES, FramingModel
from analysis.nlp.loaded_language import LoadedLanguageModel, loaded_language_model, quoted_share
from analysis.nlp.target_tone import LABELS, WEIGHTS_PATH, ToneModel, pooled_features, tone_model
from analysis.nlp.top_layer import TopLayer
from analysis.tone_evaluation import classification_scores, flag_scores
from sources.models import Lean, Outlet
from stories.models import Story
from tests.conftest import analysed_article_make, outlet_make, story_build, unit_vector

# --- tone toward a target


def test_it_pools_the_sentence_and_the_target_s_word_pieces_apart() -> None:
    hidden = np.array([[9.0, 9.0], [1.0, 0.0], [3.0, 0.0], [0.0, 4.0], [9.0, 9.0]], dtype=np.float32)
    # [CLS] "Ann" "Lee" "won" [SEP]: special tokens have empty offsets and are left out.
    offsets = np.array([[0, 0], [0, 3], [4, 7], [8, 11], [0, 0]])

    features = pooled_features(hidden, offsets, [(0, 7), (8, 11), (40, 45)])

    sentence_mean = [4 / 3, 4 / 3]
    assert np.allclose(features[0], [*sentence_mean, 2.0, 0.0])
    assert np.allclose(features[1], [*sentence_mean, 0.0, 4.0])
    # A span the truncation cut off reads as the whole sentence.
    assert np.allclose(features[2], [*sentence_mean, *sentence_mean])


def test_it_keeps_the_tone_head_adapters_and_version_through_a_file(tmp_path: Path) -> None:
    generator = np.random.default_rng(0)
    model = ToneModel(
        coef=generator.normal(size=(3, 8)).astype(np.float32),
        intercept=np.zeros(3, dtype=np.float32),
        adapters={"encoder.layer.5.output.dense": (np.ones((2, 4), np.float32), np.ones((3, 2), np.float32))},
        scale=2.0,
        meta={"name": "test"},
    )

    model.save(tmp_path / "tone.npz")
    loaded = ToneModel.load(tmp_path / "tone.npz")

    assert loaded.version == model.version
    assert loaded.version.startswith("lora-test-")
    assert np.allclose(loaded.adapters["encoder.layer.5.output.dense"][1], 1.0)


def small_top_layer(value: float) -> TopLayer:
    return TopLayer(
        {
            "attention.self.query.weight": np.full((2, 2), value, np.float16),
            "output.LayerNorm.bias": np.zeros(2, np.float16),
        }
    )


def test_it_keeps_a_fine_tuned_top_layer_and_its_version_through_the_tone_file(tmp_path: Path) -> None:
    model = ToneModel(
        coef=np.ones((3, 4), np.float32),
        intercept=np.zeros(3, np.float32),
        top_layer=small_top_layer(0.5),
        meta={"name": "test"},
    )

    model.save(tmp_path / "tone.npz")
    loaded = ToneModel.load(tmp_path / "tone.npz")

    assert loaded.version == model.version
    assert loaded.version.startswith("layer-test-")
    assert loaded.top_layer is not None
    assert np.array_equal(loaded.top_layer.parameters["attention.self.query.weight"], np.full((2, 2), 0.5))
    # Another layer under the same head is another model: the analyses it tagged are re-tagged.
    assert ToneModel(model.coef, model.intercept, top_layer=small_top_layer(0.25), meta=model.meta).version != (
        model.version
    )


def test_it_keeps_two_top_layers_and_a_target_marker_through_the_tone_file(tmp_path: Path) -> None:
    stack = TopLayer(
        {f"{number}.{name}": value for number in (0, 1) for name, value in small_top_layer(0.5).parameters.items()}
    )
    model = ToneModel(
        coef=np.ones((3, 4), np.float32),
        intercept=np.zeros(3, np.float32),
        top_layer=stack,
        target_marker=np.array([0.25, -0.5], np.float32),
        meta={"name": "test"},
    )

    model.save(tmp_path / "tone.npz")
    loaded = ToneModel.load(tmp_path / "tone.npz")

    assert loaded.top_layer is not None
    assert loaded.top_layer.layers == 2
    assert loaded.target_marker is not None
    assert np.array_equal(loaded.target_marker, [0.25, -0.5])
    assert loaded.version == model.version
    assert loaded.version.startswith("layers2-marked-test-")
    unmarked = ToneModel(model.coef, model.intercept, top_layer=stack, meta=model.meta)
    assert unmarked.version.startswith("layers2-test-")
    assert unmarked.version.split("-")[-1] != model.version.split("-")[-1]


@pytest.mark.models
def test_a_target_marker_gives_each_target_of_a_sentence_its_own_run_of_the_layers() -> None:
    import copy

    import torch

    from analysis.nlp.models import sentence_encoder

    transformer = sentence_encoder()[0].auto_model
    layers = TopLayer.from_module(
        torch.nn.ModuleList([copy.deepcopy(layer) for layer in transformer.encoder.layer[-2:]])
    )
    hidden = transformer.config.hidden_size
    generator = np.random.default_rng(0)
    coef = generator.normal(size=(3, 2 * hidden)).astype(np.float32)
    marker = generator.normal(scale=0.5, size=hidden).astype(np.float32)
    marked = ToneModel(coef=coef, intercept=np.zeros(3, np.float32), top_layer=layers, target_marker=marker)
    plain = ToneModel(coef=coef, intercept=np.zeros(3, np.float32), top_layer=layers)
    sentence = "Ann Lee beat Bo Park in the council vote."
    spans = [(0, 7), (13, 20)]

    [both] = marked.features([(sentence, spans)])
    alone = [marked.features([(sentence, [span])])[0][0] for span in spans]
    [unmarked] = plain.features([(sentence, spans)])

    assert np.abs(both - np.stack(alone)).max() < 1e-5
    # The whole sentence is read toward the marked target: its mean differs by target, unmarked it does not.
    assert np.abs(both[0, :hidden] - both[1, :hidden]).max() > 1e-2
    assert np.abs(unmarked[0, :hidden] - unmarked[1, :hidden]).max() < 1e-6


def test_it_still_loads_a_tone_head_over_the_frozen_encoder_in_the_first_format(tmp_path: Path) -> None:
    path = tmp_path / "tone.npz"
    np.savez(
        path,
        format=np.array(1),
        coef=np.ones((3, 4), np.float32),
        intercept=np.zeros(3, np.float32),
        scale=np.array(1.0, np.float32),
        adapter_names=np.array([], dtype=str),
        meta_keys=np.array(["name"]),
        meta_values=np.array(["old"]),
    )

    loaded = ToneModel.load(path)

    assert loaded.top_layer is None
    assert loaded.version.startswith("head-old-")


def test_it_scores_macro_f1_and_accuracy() -> None:
    result = classification_scores([0, 0, 1, 2], [0, 1, 1, 1], classes=3)

    assert result.accuracy == 0.5
    assert result.per_class == pytest.approx((2 / 3, 0.5, 0.0))
    assert result.macro_f1 == pytest.approx(7 / 18)


def test_it_puts_tone_in_plain_words() -> None:
    assert [tone_label_of(score) for score in (-0.6, -0.05, 0.3, None)] == ["negative", "neutral", "positive", ""]


# --- loaded language


def test_it_scores_flagged_paragraphs() -> None:
    result = flag_scores([True, True, False, False], [True, False, True, False])

    assert (result.precision, result.recall, result.f1) == (0.5, 0.5, 0.5)


def unscaled_model(
    coef: np.ndarray[Any, Any], *, intercept: float, threshold: float = 0.5, meta: dict[str, Any] | None = None
) -> LoadedLanguageModel:
    """A loaded-language model of the first format whose features are read as they are (mean 0, scale 1)."""
    size = len(coef)
    return LoadedLanguageModel(
        mean=np.zeros(size, np.float32),
        scale=np.ones(size, np.float32),
        coef=np.asarray(coef, np.float32),
        intercept=intercept,
        threshold=threshold,
        meta=meta or {},
    )


def test_it_takes_a_sentence_that_is_mostly_a_quotation_as_its_source_s_voice() -> None:
    model = unscaled_model(
        np.array([0, 0, 5.0, 0, 0], np.float32),  # reads the lexicon count alone
        intercept=-1.0,
    )
    sentences = [
        "Critics slammed the reckless scheme on Monday.",
        '"It is a reckless, disastrous scheme," the mayor said.',
        "The council met on Monday to vote on the budget.",
    ]

    flagged = model.flagged(np.zeros((3, 2), np.float32), sentences)

    assert flagged == [True, False, False]
    assert quoted_share(sentences[1]) > 0.5


def test_a_sentence_whose_only_loaded_words_are_a_source_s_quoted_ones_is_not_the_outlet_s_voice() -> None:
    model = unscaled_model(
        np.zeros(5, np.float32),
        intercept=5.0,  # every sentence reads loaded
    )
    sentences = [
        '"This is an outrageous act of judicial activism," said Representative Dean Hargrove, who wrote the law.',
        'The reckless ruling, which Hargrove called "judicial activism," takes effect in March.',
        "The justices trampled the legislature's work, Justice Bramlett wrote in dissent.",
    ]

    flagged = model.flagged(np.zeros((3, 2), np.float32), sentences)

    # Still flagged, as loaded language the article quotes: the reader sees it as the representative's.
    assert model.flags(np.zeros((3, 2), np.float32), sentences) == ["quoted", "outlet", "outlet"]
    # Under half quoted, but its one loaded word is the representative's; the second has one of its own;
    # the third quotes no one, so the model's reading stands without a lexicon word.
    assert quoted_share(sentences[0]) < 0.5
    assert flagged == [False, True, True]
    # What the reader sees marked: the representative's word in his quotation, the outlet's own outside it.
    assert tone.lexicon_words(sentences[0], quoted=True) == ["outrageous"]
    assert tone.lexicon_words(sentences[1]) == ["reckless"]


def test_a_piece_of_a_longer_quotation_is_its_source_s_voice_though_it_lacks_one_of_its_marks() -> None:
    """The analysis splits '"It's outrageous," said Rick Haldane. "First the water came in. Where was
    the Guard? This is a disgrace."' into sentences: the pieces have one quotation mark each."""
    from analysis.nlp.lexicon import lexicon_words, quotation_fragment, quoted_spans

    model = unscaled_model(np.zeros(5, np.float32), intercept=5.0)  # every sentence reads loaded
    opening = '"First the water came in, and this disgraceful delay let thieves in.'
    closing = 'This is an outrageous disgrace."'
    whole = '"It\'s outrageous," said Rick Haldane, whose store was hit.'

    assert quoted_spans(opening) == [(0, len(opening))]
    assert quotation_fragment(opening)
    assert quoted_spans(closing) == [(0, len(closing))]
    assert quotation_fragment(closing)
    assert quoted_spans(whole) == [(0, 18)]
    assert not quotation_fragment(whole)
    assert quoted_spans('He called it "a disgrace" and left.') == [(13, 25)]
    assert quoted_spans("\u201cA shameful act,\u201d he said.") == [(0, 17)]
    assert quotation_fragment("A shameful act,\u201d he said.")
    assert lexicon_words(opening) == lexicon_words(closing) == []
    assert lexicon_words('The reckless delay, critics said, "let outrageous thieves in.') == ["reckless"]
    assert quoted_share(closing) == 1.0
    assert model.flagged(np.zeros((3, 2), np.float32), [opening, closing, whole]) == [False, False, False]
    assert model.flags(np.zeros((3, 2), np.float32), [opening, closing, whole]) == ["quoted"] * 3
    assert lexicon_words(opening, quoted=True) == ["thieves"]
    assert lexicon_words(closing, quoted=True) == ["outrageous", "disgrace"]


def test_a_word_of_a_name_is_no_loaded_word_but_a_title_case_headline_s_words_are_read() -> None:
    """The demo's "Calder Supreme Court" made every sentence naming the court charged (kept out of the
    page's wording) and would have marked "supreme" in a flagged one; "Ashford Parents for Excellence" the same."""
    from analysis.nlp.lexicon import lexicon_words, title_case

    assert lexicon_words("The Calder Supreme Court ruled 4-3 on Tuesday that the law is a disgrace.") == ["disgrace"]
    assert lexicon_words("Supreme Court justices struck down a shameful law.") == ["shameful"]
    assert lexicon_words("Supporters, led by the parent group Ashford Parents for Excellence, cited a survey.") == []
    assert lexicon_words("Critics slammed the reckless scheme on Monday.") == ["slammed", "reckless", "scheme"]
    assert title_case("Shameful Ruling Leaves Calder Elections Wide Open to Fraud, Lawmakers Warn")
    assert not title_case("The Calder Supreme Court ruled Tuesday.")
    assert lexicon_words("Outrageous: Calder Justices Gut Voter ID Law in 4-3 Power Grab") == ["outrageous"]
    assert lexicon_words("Calder court strikes down shameful voter ID law") == ["shameful"]


def test_it_keeps_the_loaded_language_model_through_a_file(tmp_path: Path) -> None:
    model = unscaled_model(
        np.arange(5, dtype=np.float32),
        intercept=-1.0,
        threshold=0.7,
        meta={"name": "test"},
    )

    model.save(tmp_path / "loaded.npz")

    assert LoadedLanguageModel.load(tmp_path / "loaded.npz").version == model.version
    assert model.version.startswith("linear-test-")


def test_it_still_loads_a_loaded_language_model_of_the_first_format(tmp_path: Path) -> None:
    path = tmp_path / "loaded.npz"
    np.savez(
        path,
        format=np.array(1),
        mean=np.zeros(5, np.float32),
        scale=np.ones(5, np.float32),
        coef=np.array([0, 0, 5.0, 0, 0], np.float32),
        intercept=np.array(-1.0, np.float32),
        threshold=np.array(0.5, np.float32),
        meta_keys=np.array(["name"]),
        meta_values=np.array(["old"]),
    )

    loaded = LoadedLanguageModel.load(path)

    assert loaded.top_layer is None
    assert not loaded.reads_token_states
    assert loaded.version.startswith("linear-old-")
    assert loaded.flagged(np.zeros((1, 2), np.float32), ["Critics slammed the reckless scheme on Monday."]) == [True]


def test_it_keeps_the_loaded_language_model_s_top_layer_through_a_file(tmp_path: Path) -> None:
    model = LoadedLanguageModel(
        mean=np.zeros(2, np.float32),
        scale=np.ones(2, np.float32),
        coef=np.ones(2, np.float32),
        intercept=-1.0,
        threshold=0.7,
        meta={"name": "test"},
        top_layer=small_top_layer(0.5),
    )

    model.save(tmp_path / "loaded.npz")
    loaded = LoadedLanguageModel.load(tmp_path / "loaded.npz")

    assert loaded.version == model.version
    assert loaded.version.startswith("layer-test-")
    assert loaded.reads_token_states
    assert loaded.top_layer is not None
    assert loaded.top_layer.digest == small_top_layer(0.5).digest


# --- frames shown only when confident


def test_it_shows_only_the_frames_above_the_display_threshold() -> None:
    coef = np.zeros((len(FRAMES), 4), dtype=np.float32)
    coef[FRAMES.index("Economic"), 0] = 8.0
    coef[FRAMES.index("Political"), 1] = 2.0
    model = FramingModel(
        frames=list(FRAMES),
        mean=np.zeros(4, np.float32),
        scale=np.ones(4, np.float32),
        coef=coef,
        intercept=np.full(len(FRAMES), -1.0, np.float32),
        thresholds=np.full(len(FRAMES), 0.5, np.float32),
        display_threshold=0.9,
    )

    tags = {tag.frame: tag for tag in model.tag(np.array([[1.0, 1.0, 0.0, 0.0]], np.float32))}

    assert tags["Economic"].shown
    assert not tags["Political"].shown
    assert tags["Political"].as_dict()["shown"] is False


@pytest.mark.django_db
def test_a_story_page_shows_confident_frames_and_tone_in_words(
    client: Client, left_outlet: Outlet, center_outlet: Outlet
) -> None:
    vector = unit_vector(7)
    frames = [
        {"frame": "Economic", "score": 0.95, "sentences": [0], "shown": True},
        {"frame": "Security_and_defense", "score": 0.55, "sentences": [0], "shown": False},
    ]
    articles = [
        analysed_article_make(
            outlet=outlet, title=f"Fare rise approved in Riverton {number}", vector=vector, frames=frames, tone=-0.4
        )
        for number, outlet in enumerate([left_outlet, center_outlet])
    ]
    story: Story = story_build(articles)
    analysis = ArticleAnalysis.objects.get(article=articles[0])

    html = client.get(story.get_absolute_url()).content.decode()

    assert analysis.frame_names == ["Economic"]
    assert "Security" not in html
    assert "negative tone" in html
    assert "+1 positive" not in html
    assert "Tone toward the people and groups named: negative" in html


class LeaningToneModel:
    """A tone model stub: every mention reads neutral, a little more positive than negative."""

    version = "stub-leaning"
    top_layer = None
    target_marker = None

    def reads_states_of(self, _model: object) -> bool:
        return False

    def probabilities(self, items: list[tuple[str, list[tuple[int, int]]]], states: object = None) -> list[Any]:
        return [np.tile(np.array([0.05, 0.6, 0.35], np.float32), (len(spans), 1)) for _text, spans in items]


def test_an_article_whose_actors_all_read_neutral_reads_neutral_whatever_its_mean_score(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from analysis.nlp.article import ArticleText
    from analysis.services import analyser

    engine = analyser()
    monkeypatch.setattr(engine, "tone", LeaningToneModel())
    text = (
        "Mayor Dana Ortiz said the Riverton council would vote on the fare plan on Tuesday. "
        "Ortiz met the Riverton council again on Wednesday to discuss the plan. "
        "Council member Sam Reyes said Ortiz had listened to riders."
    )

    [features] = engine.analyse([ArticleText(title="Riverton council weighs fare plan", text=text)])

    assert features.actor_tones
    assert {actor["label"] for actor in features.actor_tones} == {"neutral"}
    # The mean score (+0.30) is past the side's "positive" cut-off; the article's label is the class.
    assert features.tone == pytest.approx(0.3, abs=1e-3)
    assert tone_label_of(features.tone) == "positive"
    assert features.tone_label == "neutral"


@pytest.mark.django_db
def test_pages_and_api_show_the_stored_tone_label_and_an_older_analysis_its_score_s(
    client: Client, left_outlet: Outlet, center_outlet: Outlet
) -> None:
    vector = unit_vector(9)
    stored, older = (
        analysed_article_make(outlet=outlet, title=f"Riverton fare plan weighed {number}", vector=vector, tone=0.3)
        for number, outlet in enumerate([left_outlet, center_outlet])
    )
    story: Story = story_build([stored, older])
    ArticleAnalysis.objects.filter(article=stored).update(tone_class="neutral")

    html = client.get(story.get_absolute_url()).content.decode()
    labels = {
        article_id: client.get(f"/api/v1/articles/{article_id}/").json()["analysis"]["tone_label"]
        for article_id in (stored.pk, older.pk)
    }

    assert labels == {stored.pk: "neutral", older.pk: "positive"}
    assert html.count("neutral tone") == 1
    assert html.count("positive tone") == 1


@pytest.mark.django_db
def test_a_side_reads_as_its_articles_do_not_by_its_mean_score(
    client: Client, left_outlet: Outlet, center_outlet: Outlet
) -> None:
    vector = unit_vector(11)
    second_center = outlet_make("Center Chronicle", Lean.CENTER)
    left, *center = (
        analysed_article_make(outlet=outlet, title=f"Riverton fare plan weighed {number}", vector=vector, tone=0.3)
        for number, outlet in enumerate([left_outlet, center_outlet, second_center])
    )
    # Both center articles read neutral (their actors do), though their mean score is +0.3.
    ArticleAnalysis.objects.filter(article__in=center).update(tone_class="neutral")
    story: Story = story_build([left, *center])

    html = client.get(story.get_absolute_url()).content.decode()
    sides = {side["side"]: side for side in client.get(f"/api/v1/stories/{story.pk}/").json()["viewpoints"]}

    assert "Tone toward the people and groups named: neutral in 2 of 2 articles" in html
    assert "Tone toward the people and groups named: positive in 1 of 1 article " in html
    assert (sides["center"]["tone_label"], sides["center"]["tone_counts"]) == (
        "neutral in 2 of 2 articles",
        {"negative": 0, "neutral": 2, "positive": 0},
    )
    assert sides["center"]["tone"] == pytest.approx(0.3)


def test_a_side_whose_articles_split_evenly_reads_mixed() -> None:
    assert tone_counts_words({"negative": 1, "neutral": 1, "positive": 0}) == "mixed: 1 negative, 1 neutral"
    assert tone_counts_words({"negative": 0, "neutral": 0, "positive": 3}) == "positive in 3 of 3 articles"
    assert tone_counts_words({}) == ""


# --- the shipped models, end to end


@pytest.mark.skipif(not WEIGHTS_PATH.exists(), reason="no tone weights")
def test_the_shipped_tone_model_reads_a_target_s_tone() -> None:
    model = tone_model()
    sentence = "Shameful Ruling Leaves Calder Elections Wide Open"
    praise = "Voters cheered Mayor Ortiz for a brilliant, generous rescue of the flooded town."

    [headline], [cheered] = model.tones([(sentence, [(23, 29)]), (praise, [(15, 26)])])

    assert headline.label != "positive"
    assert cheered.label == "positive"
    assert LABELS.index(headline.label) < LABELS.index(cheered.label)


def test_the_shipped_framing_model_does_not_show_a_fare_hike_as_security_and_defense() -> None:
    from analysis.nlp.framing import framing_model
    from analysis.nlp.models import sentence_encoder

    sentences = [
        "The city's transit board voted 5-2 on Tuesday to raise the base bus fare from $2.25 to $2.75.",
        "Officials said the increase would close a $14 million budget gap caused by falling ridership.",
        "Riders who earn low wages said the extra cost would force them to cut back on groceries.",
        "The board also approved cuts to late-night service on four routes starting in January.",
        "Advocates for riders urged the council to fund discounted passes for students and seniors.",
    ]
    vectors = sentence_encoder().encode(sentences, normalize_embeddings=True, convert_to_numpy=True)

    tags = framing_model().tag(vectors, sentences, "Transit Board Raises Bus Fare to $2.75")
    shown = [tag.frame for tag in tags if tag.shown]

    assert shown
    assert "Security_and_defense" not in shown
    assert {"Economic", "Capacity_and_resources", "Quality_of_life"} & set(shown)


def test_the_analysis_records_the_fine_tuned_models_versions() -> None:
    from analysis.services import analyser

    versions = analyser().versions()

    # A new version re-tags every article on ``manage.py reanalyse``.
    assert versions["tone"] == tone_model().version
    assert versions["tone"].startswith("layers4-")
    assert versions["loaded_language"] == f"{loaded_language_model().version}+lexicon-2+voice-2"
    assert versions["loaded_language"].startswith("layer-")


def test_the_shipped_loaded_language_model_flags_slurs_not_plain_reporting() -> None:
    model = loaded_language_model()
    from analysis.nlp.models import sentence_encoder

    sentences = [
        "The council voted 5-2 on Tuesday to raise bus fares by 25 cents from March.",
        "The heartless bureaucrats rammed through an outrageous, shameful fare grab on struggling families.",
    ]
    vectors = sentence_encoder().encode(sentences, normalize_embeddings=True, convert_to_numpy=True)

    assert model.flagged(vectors, sentences) == [False, True]
    assert tone.loaded_words(sentences[1])
    assert tone.loaded_words(sentences[0]) == []


def test_evaluate_tone_prints_macro_f1_and_accuracy(tmp_path: Path) -> None:
    rows = [
        ("Mayor Ortiz was praised for a brilliant, generous rescue.", "Mayor Ortiz", "positive"),
        ("Critics said Mayor Ortiz botched the rescue and lied about it.", "Mayor Ortiz", "negative"),
        ("Mayor Ortiz will speak at the meeting on Thursday.", "Mayor Ortiz", "neutral"),
    ]
    path = tmp_path / "tone.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "sentence": sentence,
                    "target": target,
                    "target_start": sentence.index(target),
                    "target_end": sentence.index(target) + len(target),
                    "gold_polarity": polarity,
                }
            )
            + "\n"
            for sentence, target, polarity in rows
        )
    )
    out = StringIO()

    call_command("evaluate_tone", str(path), stdout=out)

    lines = out.getvalue().splitlines()
    assert any(line.startswith("macro-F1 ") for line in lines)
    assert any(line.startswith("accuracy ") for line in lines)


def test_evaluate_loaded_language_flags_a_paragraph_when_one_of_its_sentences_is(tmp_path: Path) -> None:
    # A model of the earlier format that reads only the counts: the lexicon's words push a sentence
    # up, its length pulls it down, so the loaded sentence is flagged alone but not inside its paragraph.
    model = unscaled_model(
        np.array([0.0] * 384 + [4.0, 0.0, -2.0], dtype=np.float32),
        intercept=0.0,
    )
    model.save(tmp_path / "counts.npz")
    paragraph = (
        "The council met on Tuesday to discuss the budget for the coming year in some detail. Officials "
        "presented the figures to members of the public at the town hall. Critics slammed the reckless, "
        "disastrous scheme."
    )
    path = tmp_path / "loaded.jsonl"
    path.write_text(json.dumps({"text": paragraph, "gold_loaded_language": True}) + "\n")
    by_sentence, whole = StringIO(), StringIO()

    call_command("evaluate_loaded_language", str(path), model=tmp_path / "counts.npz", stdout=by_sentence)
    call_command(
        "evaluate_loaded_language", str(path), model=tmp_path / "counts.npz", whole_paragraphs=True, stdout=whole
    )

    assert "recall 1.000" in by_sentence.getvalue()
    assert "recall 0.000" in whole.getvalue()


def test_evaluate_loaded_language_prints_precision_recall_and_f1(tmp_path: Path) -> None:
    path = tmp_path / "loaded.jsonl"
    path.write_text(
        json.dumps({"text": "The council met on Tuesday.", "gold_loaded_language": False})
        + "\n"
        + json.dumps({"text": "A shameful, outrageous power grab by heartless thugs.", "gold_loaded_language": True})
        + "\n"
    )
    out = StringIO()

    call_command("evaluate_loaded_language", str(path), stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines[1:4]] == ["precision", "recall", "F1"]
    assert lines[4].startswith("In the outlet's own voice (loaded language it quotes left out): precision ")


def test_evaluate_loaded_language_counts_loaded_language_a_paragraph_quotes_then_leaves_it_out(
    tmp_path: Path,
) -> None:
    """SemEval labels loaded words inside quotations as loaded; the page shows them as the source's."""
    model = unscaled_model(np.zeros(387, np.float32), intercept=5.0)  # every sentence reads loaded
    model.save(tmp_path / "always.npz")
    path = tmp_path / "loaded.jsonl"
    path.write_text(
        json.dumps({"text": '"This is an outrageous disgrace," the mayor said.', "gold_loaded_language": True})
        + "\n"
        + json.dumps({"text": "Critics slammed the reckless scheme on Monday.", "gold_loaded_language": True})
        + "\n"
    )
    out = StringIO()

    call_command("evaluate_loaded_language", str(path), model=tmp_path / "always.npz", stdout=out)

    assert out.getvalue().splitlines()[1:5] == [
        "precision 1.000",
        "recall 1.000",
        "F1 1.000",
        "In the outlet's own voice (loaded language it quotes left out): precision 1.000, recall 0.500, F1 0.667",
    ]


@pytest.mark.models
def test_a_sentence_s_tone_is_scored_once_a_process_and_from_the_encoder_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """A story's overview reads every sentence of the story on each refresh: those scored before are not
    scored again, and through the process's encoder the scores are the tone model's own."""
    from analysis.nlp.encoder import text_encoder

    monkeypatch.setattr(tone, "_KEPT_TONES", {})
    sentences = ["The board voted 5-2 to raise the fare.", "Critics called the heartless hike a betrayal of riders."]
    first = tone.sentence_tones(sentences, text_encoder())
    read: list[int] = []
    model = tone_model()
    scoring = model.probabilities
    monkeypatch.setattr(
        type(model), "probabilities", lambda self, items, states=None: read.append(len(items)) or scoring(items, states)
    )

    again = tone.sentence_tones([sentences[1], "A new sentence about the fare.", sentences[0]])

    assert read == [1]  # only the new sentence
    assert again[0] == first[1]
    assert again[2] == first[0]
    assert first[1] < -0.3 < first[0]  # the model's reading: the loaded one is negative
    expected = [
        round(float(row[0, 2] - row[0, 0]), 4) for row in scoring([(text, [(0, len(text))]) for text in sentences])
    ]
    assert first == expected
