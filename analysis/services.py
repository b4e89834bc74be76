"""Writes of the analysis stage."""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analysis.models import ArticleAnalysis
from analysis.nlp.article import Analyser, ArticleText
from sources.models import Article

logger = logging.getLogger(__name__)


@functools.cache
def analyser() -> Analyser:
    """The process's analyser: models load on first use and stay loaded."""
    return Analyser(
        spacy_model=settings.NEWSROOM_SPACY_MODEL,
        encoder_path=settings.NEWSROOM_EMBEDDING_MODEL,
        batch_size=settings.NEWSROOM_ANALYSIS_BATCH_SIZE,
    )


def articles_analyse(*, article_ids: list[int]) -> list[int]:
    """Analyse the given articles that are waiting for analysis, in one batch.

    Idempotent: articles not in state ``fetched`` are skipped. Returns the ids analysed.
    """
    articles = list(Article.objects.filter(pk__in=article_ids, state=Article.State.FETCHED).order_by("pk"))
    if not articles:
        return []
    engine = analyser()
    features = engine.analyse([ArticleText(title=article.title, text=article.text) for article in articles])
    versions = engine.versions()
    now = timezone.now()
    analysed = []
    for article, feature in zip(articles, features, strict=True):
        with transaction.atomic():
            locked = Article.objects.select_for_update().filter(pk=article.pk, state=Article.State.FETCHED).first()
            if locked is None:
                continue
            ArticleAnalysis.objects.update_or_create(
                article=locked,
                defaults={
                    "embedding": feature.embedding.astype("float32").tobytes(),
                    "sentences": feature.sentences,
                    "sentence_embeddings": feature.sentence_matrix.tobytes(),
                    "entities": feature.entities,
                    "frames": feature.frames,
                    "tone": feature.tone,
                    "loaded_sentences": feature.loaded_sentences,
                    "model_versions": versions,
                    "analysed_at": now,
                },
            )
            locked.state = Article.State.ANALYSED
            locked.state_changed_at = now
            locked.save(update_fields=["state", "state_changed_at"])
            analysed.append(locked.pk)
    return analysed
