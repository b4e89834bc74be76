from __future__ import annotations

import re
from typing import Any

import numpy as np
from django.db import models
from django.utils import timezone

from sources.models import Article

# A word as the loaded-language detector reads it (analysis.nlp.tone.WORD, without importing VADER here).
WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*[A-Za-z]|[A-Za-z]")


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
    actor_tones = models.JSONField(
        default=list, help_text='[{"actor", "tone", "sentences": [index, ...]}]: tone of the sentences naming each.'
    )
    loaded_sentences = models.JSONField(default=list, help_text='[{"sentence": index, "words": [...]}].')
    model_versions = models.JSONField(default=dict, help_text="The version of each model that produced this.")
    analysed_at = models.DateTimeField(default=timezone.now, db_index=True)

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
    def frames_with_evidence(self) -> list[dict[str, Any]]:
        """Each frame with the text of the sentences that carry it, to show why the article was tagged."""
        return [
            {
                **frame,
                "evidence": [
                    self.sentences[index]
                    for index in frame.get("sentences", [])
                    if isinstance(index, int) and 0 <= index < len(self.sentences)
                ],
            }
            for frame in self.frames
        ]

    @property
    def loaded_highlights(self) -> list[list[tuple[str, bool]]]:
        """Each flagged sentence as (text, is_loaded) parts, for a template to mark the loaded words."""
        highlighted = []
        for flagged in self.loaded_sentences:
            index = flagged.get("sentence")
            if not isinstance(index, int) or not 0 <= index < len(self.sentences):
                continue
            words = {str(word).lower() for word in flagged.get("words", [])}
            parts: list[tuple[str, bool]] = []
            position = 0
            sentence = self.sentences[index]
            for match in WORD.finditer(sentence):
                if match.group().lower().replace("\u2019", "'") in words:
                    if match.start() > position:
                        parts.append((sentence[position : match.start()], False))
                    parts.append((match.group(), True))
                    position = match.end()
            if position < len(sentence):
                parts.append((sentence[position:], False))
            highlighted.append(parts)
        return highlighted

    @property
    def tone_label(self) -> str:
        if self.tone >= 0.15:
            return "positive"
        if self.tone <= -0.15:
            return "negative"
        return "neutral"
