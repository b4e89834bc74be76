from __future__ import annotations

from typing import Any

import numpy as np
from django.db import models
from django.utils import timezone

from sources.models import Article


class ArticleAnalysis(models.Model):
    """What the NLP workers found in one article, and which model versions found it."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="analysis")
    # float32 vector of the sentence encoder (unit length), stored as raw bytes.
    embedding = models.BinaryField()
    sentences = models.JSONField(default=list, help_text="The article's sentences, in order (capped).")
    # float16 matrix, one unit row per sentence above: used for overviews and Ask without re-encoding.
    sentence_embeddings = models.BinaryField(default=b"")
    entities = models.JSONField(default=list, help_text='[{"text", "label", "count"}], most salient first.')
    frames = models.JSONField(default=list, help_text='[{"frame", "score", "sentences": [index, ...]}].')
    tone = models.FloatField(default=0.0, help_text="Mean VADER compound score of the sentences, -1 to 1.")
    loaded_sentences = models.JSONField(default=list, help_text='[{"sentence": index, "words": [...]}].')
    model_versions = models.JSONField(default=dict)
    analysed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "article analyses"

    def __str__(self) -> str:
        return f"Analysis of {self.article_id}"

    @property
    def vector(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        return np.frombuffer(bytes(self.embedding), dtype=np.float32)

    @property
    def sentence_matrix(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        raw = np.frombuffer(bytes(self.sentence_embeddings), dtype=np.float16)
        return raw.reshape(len(self.sentences), -1).astype(np.float32) if len(raw) else raw.astype(np.float32)

    @property
    def frame_names(self) -> list[str]:
        return [frame["frame"] for frame in self.frames]

    @property
    def tone_label(self) -> str:
        if self.tone >= 0.15:
            return "positive"
        if self.tone <= -0.15:
            return "negative"
        return "neutral"
