"""Writes of the analysis stage."""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analysis.models import ArticleAnalysis
from analysis.nlp.article import Analyser, ArticleFeatures, ArticleText
from analysis.nlp.encoder import TextEncoder, text_encoder
from sources.models import Article

logger = logging.getLogger(__name__)


def encoder_configured(*, int8: bool = False) -> TextEncoder:
    """The sentence encoder the settings name (model and backend), loaded once per process: the one the
    analysis encodes sentences with, so what is compared with them (a question) goes through it too.
    ``int8`` (on the ONNX backend): its graph with 8-bit weights, for what is compared, never stored."""
    return text_encoder(
        settings.NEWSROOM_EMBEDDING_MODEL,
        settings.NEWSROOM_ENCODER_BACKEND,
        settings.NEWSROOM_ENCODER_ONNX_DIR,
        int8=int8,
    )


@functools.cache
def analyser() -> Analyser:
    """The process's analyser: models load on first use and stay loaded."""
    return Analyser(
        spacy_model=settings.NEWSROOM_SPACY_MODEL,
        encoder_path=settings.NEWSROOM_EMBEDDING_MODEL,
        encoder_backend=settings.NEWSROOM_ENCODER_BACKEND,
        encoder_onnx_dir=settings.NEWSROOM_ENCODER_ONNX_DIR,
        framing_path=settings.NEWSROOM_FRAMING_MODEL,
        tone_path=settings.NEWSROOM_TONE_MODEL,
        loaded_language_path=settings.NEWSROOM_LOADED_LANGUAGE_MODEL,
        batch_size=settings.NEWSROOM_ANALYSIS_BATCH_SIZE,
    )


def _analysis_fields(feature: ArticleFeatures, versions: dict[str, str], now: datetime) -> dict[str, object]:
    return {
        "embedding": feature.embedding.astype("float32").tobytes(),
        "sentences": feature.sentences,
        "sentence_embeddings": feature.sentence_matrix.tobytes(),
        "entities": feature.entities,
        "frames": feature.frames,
        "tone": feature.tone,
        "tone_class": feature.tone_label,
        "actor_tones": feature.actor_tones,
        "loaded_sentences": feature.loaded_sentences,
        "sentence_tones": feature.sentence_tones,
        "model_versions": versions,
        "analysed_at": now,
    }


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
    by_id = {article.pk: feature for article, feature in zip(articles, features, strict=True)}
    # One transaction for the batch: lock the rows still waiting (in id order, so two workers on
    # overlapping batches cannot deadlock), write every analysis in one statement, move them on.
    with transaction.atomic():
        analysed = list(
            Article.objects.select_for_update()
            .filter(pk__in=list(by_id), state=Article.State.FETCHED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not analysed:
            return []
        fields = list(_analysis_fields(by_id[analysed[0]], versions, now))
        ArticleAnalysis.objects.bulk_create(
            [
                ArticleAnalysis(article_id=article_id, **_analysis_fields(by_id[article_id], versions, now))
                for article_id in analysed
            ],
            update_conflicts=True,
            unique_fields=["article"],
            update_fields=fields,
        )
        Article.objects.filter(pk__in=analysed).update(state=Article.State.ANALYSED, state_changed_at=now)
    return analysed


def analyses_stale(
    *, since: datetime | None = None, after_id: int = 0, force: bool = False, limit: int | None = None
) -> list[int]:
    """Ids of analysed articles (in id order, above ``after_id``) whose analysis another model version made.

    ``since`` keeps articles published (or, undated, discovered) since then; ``force`` takes every one.
    """
    queryset = ArticleAnalysis.objects.filter(article_id__gt=after_id)
    if since is not None:
        queryset = queryset.filter(
            Q(article__published_at__gte=since)
            | Q(article__published_at__isnull=True, article__discovered_at__gte=since)
        )
    if not force:
        queryset = queryset.exclude(model_versions=analyser().versions())
    ids = queryset.order_by("article_id").values_list("article_id", flat=True)
    return list(ids[:limit] if limit is not None else ids)


def articles_reanalyse(*, article_ids: list[int], force: bool = False) -> list[int]:
    """Analyse again, in one batch, articles analysed before; returns the ids whose analysis was rewritten.

    The article's pipeline state and its story membership are left as they are: this
    rewrites what the models say (frames, tone, entities, ...) so the caller can refresh
    the stories. Without ``force``, analyses already made by the current models are skipped,
    so running it twice does the work once. An article with no analysis is left to the pipeline.
    """
    engine = analyser()
    versions = engine.versions()
    analyses = ArticleAnalysis.objects.filter(article_id__in=article_ids).select_related("article")
    if not force:
        analyses = analyses.exclude(model_versions=versions)
    articles = [analysis.article for analysis in analyses.order_by("article_id")]
    if not articles:
        return []
    features = engine.analyse([ArticleText(title=article.title, text=article.text) for article in articles])
    now = timezone.now()
    rewritten = []
    for article, feature in zip(articles, features, strict=True):
        # One UPDATE per row, no lock held across the models: a concurrent ingest of this article
        # (a re-fetch) rewrites the row itself, and whichever write lands last is a complete analysis.
        fields = _analysis_fields(feature, versions, now)
        if ArticleAnalysis.objects.filter(article_id=article.pk).update(**fields):
            rewritten.append(article.pk)
    logger.info("Re-analysed %s articles", len(rewritten))
    return rewritten
