from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings
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
    # Wire copies (Article.syndicated_from set) republished by outlets in the story: counted
    # here and in no side, so one agency story carried by many outlets does not inflate a side.
    syndicated_count = models.PositiveIntegerField(default=0)
    overview = models.JSONField(default=list, help_text='[{"text", "article": id, "citations": [id, ...]}]')
    claims = models.JSONField(
        default=list,
        help_text='Facts stated by several articles: [{"text", "article": id, "sides": {side: [id, ...]}}].',
    )
    # What the clusterer compares new articles with, besides the centroid above.
    body_centroid = models.BinaryField(default=b"", help_text="Unit mean of the members' body vectors (float32).")
    entity_counts = models.JSONField(default=dict, help_text="{entity: number of members naming it}.")
    outlet_ids = models.JSONField(default=list, help_text="The outlets of the members: one report per outlet.")
    confidence = models.FloatField(
        default=1.0, help_text="The pair model's probability that the weakest member belongs with the others."
    )
    # A curator changed it: the automatic merge and split passes leave it alone.
    is_curated = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reclustered_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When the clusterer last checked its membership (assign, merge or split).",
    )

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

    class Reason(models.TextChoices):
        STARTED = "started", "Started the story"
        JOINED = "joined", "Scored above the join threshold"
        UPDATE = "update", "An update of its outlet's article in the story"
        MERGED = "merged", "Its story was merged into this one"
        SPLIT = "split", "Split off a story it had drifted from"
        CURATOR = "curator", "Placed by a curator"

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="memberships")
    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="membership")
    similarity = models.FloatField(help_text="Cosine similarity to the story centroid when the article joined.")
    probability = models.FloatField(default=1.0, help_text="The pair model's probability when the article joined.")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.JOINED)
    detail = models.CharField(max_length=200, blank=True)
    # Pinned by a curator: never moved by the automatic passes.
    is_pinned = models.BooleanField(default=False)
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
        ONLY_SYNDICATED = (
            "only_syndicated",
            "Outlets on this side only republished wire copies of other outlets' reporting.",
        )
        TOO_FEW = "too_few", "Too few articles on this side to say anything about its coverage."

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


class ClusteringEvent(models.Model):
    """The log of every merge, split, move and pin, automatic or by a curator. Append-only."""

    class Kind(models.TextChoices):
        MERGE = "merge", "Merge"
        SPLIT = "split", "Split"
        MOVE = "move", "Move"
        PIN = "pin", "Pin"
        UNPIN = "unpin", "Unpin"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    is_automatic = models.BooleanField(default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Plain ids, not foreign keys: a merged story is deleted, and its history must stay.
    story_id_value = models.BigIntegerField(help_text="The story that kept or received the articles.")
    other_story_id_value = models.BigIntegerField(
        null=True, blank=True, help_text="The story merged away, or split from."
    )
    article_ids = models.JSONField(default=list)
    probability = models.FloatField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        who = "automatic" if self.is_automatic else f"by {self.actor}"
        return f"{self.get_kind_display()} {self.story_id_value} ({who})"


class StoryQuestion(models.Model):
    """A question readers asked about a story, counted once per normalised wording, with its last answer."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="questions")
    question = models.CharField(max_length=300, help_text="The question as first asked.")
    normalised = models.CharField(max_length=300, help_text="Lower case, single spaces, no end punctuation.")
    count = models.PositiveIntegerField(default=1)
    is_supported = models.BooleanField(default=False)
    answer = models.JSONField(default=dict, help_text="The last answer: quotes with their citations, or a refusal.")
    first_asked_at = models.DateTimeField(default=timezone.now)
    last_asked_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["story", "-count", "-last_asked_at"]
        constraints = [models.UniqueConstraint(fields=["story", "normalised"], name="one_question_per_wording")]

    def __str__(self) -> str:
        return f"{self.story_id}: {self.question}"
