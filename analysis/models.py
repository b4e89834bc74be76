from __future__ import annotations

import re
from typing import Any

import numpy as np
from django.db import models
from django.utils import timezone

from sources.models import Article

# A side's tone is the mean of its articles' scores (P(positive) - P(negative) of the tone model,
# averaged over the places each names its main actors); beyond these it reads as clearly one way (a
# mean of mixed articles sits near 0). An article's own label is the tone model's most probable class
# (ArticleAnalysis.tone_class); analyses stored before it was kept fall back to this rule.
TONE_LEANING = 0.15


TONE_LABELS = ("negative", "neutral", "positive")


def tone_counts_words(counts: dict[str, int]) -> str:
    """A group of articles' tone in words, from how many read each way: "neutral in 2 of 2 articles",
    or, when no one way has the most, "mixed: 1 negative, 1 neutral" ("" with no article counted)."""
    total = sum(counts.get(label, 0) for label in TONE_LABELS)
    if not total:
        return ""
    most = max(counts.get(label, 0) for label in TONE_LABELS)
    leading = [label for label in TONE_LABELS if counts.get(label, 0) == most]
    if len(leading) == 1:
        return f"{leading[0]} in {most} of {total} article{'s' if total != 1 else ''}"
    return "mixed: " + ", ".join(f"{counts[label]} {label}" for label in TONE_LABELS if counts.get(label, 0))


def tone_label_of(score: float | None) -> str:
    """Plain words for a tone score: "negative", "neutral" or "positive" ("" when there is none)."""
    if score is None:
        return ""
    if score >= TONE_LEANING:
        return "positive"
    if score <= -TONE_LEANING:
        return "negative"
    return "neutral"


# A word as the loaded-language detector reads it (analysis.nlp.lexicon.WORD, without importing VADER here).
WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*[A-Za-z]|[A-Za-z]")


def words_marked(text: str, words: set[str]) -> list[tuple[str, bool]]:
    """The text as (part, is_one_of_the_words) parts, in order (``words`` lowercase)."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in WORD.finditer(text):
        if match.group().lower().replace("\u2019", "'") in words:
            if match.start() > position:
                parts.append((text[position : match.start()], False))
            parts.append((match.group(), True))
            position = match.end()
    if position < len(text):
        parts.append((text[position:], False))
    return parts


class ArticleAnalysis(models.Model):
    """What the NLP workers found in one article, and which model versions found it."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="analysis")
    # float32 vector of the sentence encoder (unit length), stored as raw bytes.
    embedding = models.BinaryField()
    sentences = models.JSONField(default=list, help_text="The article's sentences, in order (capped).")
    # float16 matrix, one unit row per sentence above: used for overviews and Ask without re-encoding.
    sentence_embeddings = models.BinaryField(default=b"")
    entities = models.JSONField(default=list, help_text='[{"text", "label", "count"}], most salient first.')
    frames = models.JSONField(
        default=list, help_text='[{"frame", "score", "sentences": [index, ...], "shown"}]: "shown" when confident.'
    )
    tone = models.FloatField(
        default=0.0,
        help_text="Tone toward the actors it names: P(positive) - P(negative) of the tone model, averaged, -1 to 1.",
    )
    tone_class = models.CharField(
        max_length=8,
        blank=True,
        default="",
        help_text=(
            "The tone model's most probable class (negative, neutral, positive) of the same averaged "
            "probabilities, shown to readers; empty for analyses stored before it was kept."
        ),
    )
    actor_tones = models.JSONField(
        default=list,
        help_text='[{"actor", "tone", "label", "sentences": [index, ...], "in_headline"}]: the tone model on each.',
    )
    loaded_sentences = models.JSONField(
        default=list,
        help_text=(
            '[{"sentence": index, "words": [...]}], the headline first as {"headline": true, "words": [...]}; '
            '"quoted": true where the loaded language is a quotation\'s (its words the quoted ones).'
        ),
    )
    sentence_tones = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "Each sentence's tone toward itself (-1 to 1), null where the tone model did not read it (analyses "
            "made before every sentence was read read only those naming an actor); the story overview prefers "
            "plainly worded sentences by it. Empty before it was kept."
        ),
    )
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
    def shown_frames(self) -> list[dict[str, Any]]:
        """The frames confident enough to show a reader (tags from before display thresholds count as shown)."""
        return [frame for frame in self.frames if frame.get("shown", True)]

    @property
    def frame_names(self) -> list[str]:
        return [frame["frame"] for frame in self.shown_frames]

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
            for frame in self.shown_frames
        ]

    def _highlights(self, *, quoted: bool) -> list[list[tuple[str, bool]]]:
        return [
            words_marked(self.sentences[index], {str(word).lower() for word in flagged.get("words", [])})
            for flagged in self.loaded_sentences
            if isinstance(index := flagged.get("sentence"), int)
            and 0 <= index < len(self.sentences)
            and (flagged.get("quoted") is True) == quoted
        ]

    def _headline(self, *, quoted: bool) -> list[tuple[str, bool]]:
        return next(
            (
                words_marked(self.article.title, {str(word).lower() for word in flagged.get("words", [])})
                for flagged in self.loaded_sentences
                if flagged.get("headline") is True and (flagged.get("quoted") is True) == quoted
            ),
            [],
        )

    @property
    def loaded_highlights(self) -> list[list[tuple[str, bool]]]:
        """Each sentence flagged as loaded in the outlet's own voice as (text, is_loaded) parts, for a
        template to mark the loaded words."""
        return self._highlights(quoted=False)

    @property
    def loaded_headline(self) -> list[tuple[str, bool]]:
        """The headline as (text, is_loaded) parts when the model flagged it in the outlet's voice, else empty."""
        return self._headline(quoted=False)

    @property
    def quoted_highlights(self) -> list[list[tuple[str, bool]]]:
        """Each flagged sentence whose loaded language is a source's it quotes, the quoted loaded words marked."""
        return self._highlights(quoted=True)

    @property
    def quoted_headline(self) -> list[tuple[str, bool]]:
        """The headline as (text, is_loaded) parts when its loaded language is a quotation's, else empty."""
        return self._headline(quoted=True)

    @property
    def tone_label(self) -> str:
        """The article's tone in words: the stored class, else (an older analysis) the score's."""
        return self.tone_class or tone_label_of(self.tone)

    @property
    def tone_toward(self) -> list[str]:
        """Toward whom the article's tone is, when it is not neutral: the (at most two) actors read with
        that tone, strongest first. A reader seeing "positive" beside "Shameful Ruling Leaves Calder
        Elections Wide Open to Fraud" learns it is the law the article defends it speaks well of."""
        label = self.tone_label
        if label not in {"negative", "positive"}:
            return []
        sign = 1.0 if label == "positive" else -1.0
        actors = [
            item
            for item in self.actor_tones
            if isinstance(item, dict) and item.get("label") == label and isinstance(item.get("tone"), int | float)
        ]
        actors.sort(key=lambda item: -sign * float(item["tone"]))
        return [str(item.get("actor", "")) for item in actors[:2] if item.get("actor")]
