from __future__ import annotations

from typing import Any

import numpy as np
from django.db import models
from django.urls import reverse
from django.utils import timezone

from sources.models import Article, Side
from stories.querysets import StoryQuerySet


class Story(models.Model):
    title = models.CharField(max_length=1000, blank=True)
    summary = models.TextField(blank=True, help_text="One line, taken from the most central article sentence.")
    # Unit mean of the members' embeddings (float32 bytes); the clusterer compares new articles with it.
    centroid = models.BinaryField(default=b"")
    first_published_at = models.DateTimeField(db_index=True)
    last_published_at = models.DateTimeField(db_index=True)
    article_count = models.PositiveIntegerField(default=0)
    outlet_count = models.PositiveIntegerField(default=0)
    # Articles by the side of their outlet's rating when the story was last refreshed.
    left_count = models.PositiveIntegerField(default=0)
    center_count = models.PositiveIntegerField(default=0)
    right_count = models.PositiveIntegerField(default=0)
    unrated_count = models.PositiveIntegerField(default=0)
    overview = models.JSONField(default=list, help_text='[{"text", "article": id, "citations": [id, ...]}]')
    created_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    objects = StoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "stories"
        ordering = ["-last_published_at", "-id"]

    def __str__(self) -> str:
        return self.title or f"Story {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("stories:detail", kwargs={"pk": self.pk})

    @property
    def centroid_vector(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        return np.frombuffer(bytes(self.centroid), dtype=np.float32)

    @property
    def rated_count(self) -> int:
        return self.left_count + self.center_count + self.right_count

    def coverage_by_side(self) -> dict[str, int]:
        return {Side.LEFT: self.left_count, Side.CENTER: self.center_count, Side.RIGHT: self.right_count}

    def coverage_shares(self) -> dict[str, float]:
        """Share of rated articles by side, in percent (0 for every side when nothing is rated)."""
        total = self.rated_count
        return {side: (100.0 * count / total if total else 0.0) for side, count in self.coverage_by_side().items()}


class StoryMembership(models.Model):
    """An article's place in a story: an article belongs to one story at most."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="memberships")
    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="membership")
    similarity = models.FloatField(help_text="Cosine similarity to the story centroid when the article joined.")
    reason = models.CharField(max_length=200, blank=True)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["story", "joined_at"]

    def __str__(self) -> str:
        return f"{self.article_id} in {self.story_id}"


class StoryViewpoint(models.Model):
    """One side's coverage of a story and its analysis, or why there is none."""

    class Unavailable(models.TextChoices):
        NO_ARTICLES = "no_articles", "No outlet rated on this side has covered this story."
        ONLY_UNRATED = "only_unrated", "This story has been covered only by outlets we have not rated."

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="viewpoints")
    side = models.CharField(max_length=8, choices=Side.choices)
    article_count = models.PositiveIntegerField(default=0)
    outlet_count = models.PositiveIntegerField(default=0)
    is_available = models.BooleanField(default=False)
    unavailable_reason = models.CharField(max_length=16, choices=Unavailable.choices, blank=True)
    summary = models.JSONField(default=list, help_text='Representative sentences: [{"text", "article": id}].')
    frames = models.JSONField(default=list, help_text='[{"frame", "share", "distinctive"}], most used first.')
    tone = models.FloatField(null=True, blank=True)
    entities = models.JSONField(default=list, help_text='[{"text", "count"}], most emphasised first.')

    class Meta:
        ordering = ["story", "side"]
        constraints = [models.UniqueConstraint(fields=["story", "side"], name="one_viewpoint_per_side")]

    def __str__(self) -> str:
        return f"{self.story_id} {self.side}"

    @property
    def unavailable_explanation(self) -> str:
        return self.get_unavailable_reason_display() if self.unavailable_reason else ""
