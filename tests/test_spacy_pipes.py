"""spaCy runs only the pipes the analysis reads, and they give the full pipeline's sentences and entities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from django.conf import settings

from analysis.nlp.article import MAX_CHARS, sentences_of
from analysis.nlp.models import spacy_pipeline

pytestmark = pytest.mark.models

DEMO = Path(__file__).resolve().parents[1] / "newsroom" / "demo" / "articles.jsonl"


def test_the_analysis_runs_only_the_parser_and_the_entity_recogniser() -> None:
    # tok2vec feeds the parser (sentences); the entity recogniser has its own.
    assert spacy_pipeline(settings.NEWSROOM_SPACY_MODEL).pipe_names == ["tok2vec", "parser", "ner"]


def test_its_pipes_give_the_full_pipeline_s_sentences_and_entities_on_the_demo_corpus() -> None:
    texts = [
        str(json.loads(line).get("text") or "")[:MAX_CHARS]
        for line in DEMO.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    full = spacy.load(settings.NEWSROOM_SPACY_MODEL)  # every pipe the package enables

    for trimmed_doc, full_doc in zip(
        spacy_pipeline(settings.NEWSROOM_SPACY_MODEL).pipe(texts), full.pipe(texts), strict=True
    ):
        assert [sentence.text for sentence in sentences_of(trimmed_doc)] == [
            sentence.text for sentence in sentences_of(full_doc)
        ]
        assert [(entity.text, entity.label_, entity.start_char) for entity in trimmed_doc.ents] == [
            (entity.text, entity.label_, entity.start_char) for entity in full_doc.ents
        ]
    assert len(texts) >= 30
