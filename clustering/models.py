"""The state of the clusterer: which articles belong together, and why.

``clustering.services`` is the only writer of everything here. A reader's page for a
cluster is ``stories.Story``, which shares the cluster's id and is built from it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings
from django.db import models
from django.utils import timezone

from clustering.querysets import ClusterQuerySet
from sources.models import Article


class Cluster(models.Model):
    """Articles the clusterer grouped as one news event, and what it compares new articles with."""

    # Sums of the members' lead and body vectors (float32 bytes): the centroids are their unit
    # vectors, kept exact as members come and go (see clustering.scoring.StorySignal).
    lead_sum = models.BinaryField(default=b"")
    body_sum = models.BinaryField(default=b"")
    entity_counts = models.JSONField(default=dict, help_text="{entity: number of members naming it}.")
    outlet_ids = models.JSONField(default=list, help_text="The outlets of the members: one report per outlet.")
    first_published_at = models.DateTimeField(db_index=True)
    last_published_at = models.DateTimeField(db_index=True)
    article_count = models.PositiveIntegerField(default=0)
    confidence = models.FloatField(
        default=1.0, help_text="The pair model's probability that the weakest member belongs with the others."
    )
    # A curator changed it: the automatic merge and split passes leave it alone.
    is_curated = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # Every write of the fields above sets it: the version that process-local indexes compare.
    reclustered_at = models.DateTimeField(
        default=timezone.now,
        db_index=True,
        help_text="When the clusterer last changed its membership (assign, merge or split).",
    )

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["-last_published_at", "-id"]

    def __str__(self) -> str:
        return f"Cluster {self.pk} ({self.article_count} articles)"

    @property
    def centroid_vector(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        """The unit mean of the members' lead vectors (empty before the first member)."""
        total = np.frombuffer(bytes(self.lead_sum), dtype=np.float32)
        norm = float(np.linalg.norm(total)) if len(total) else 0.0
        return (total / norm).astype(np.float32) if norm else total


class Membership(models.Model):
    """An article's place in a cluster: an article belongs to one cluster at most."""

    class Reason(models.TextChoices):
        STARTED = "started", "Started the story"
        JOINED = "joined", "Scored above the join threshold"
        UPDATE = "update", "An update of its outlet's article in the story"
        MERGED = "merged", "Its story was merged into this one"
        SPLIT = "split", "Split off a story it had drifted from"
        CURATOR = "curator", "Placed by a curator"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="memberships")
    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="membership")
    similarity = models.FloatField(help_text="Cosine similarity to the story centroid when the article joined.")
    probability = models.FloatField(default=1.0, help_text="The pair model's probability when the article joined.")
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.JOINED)
    detail = models.CharField(max_length=200, blank=True)
    # Pinned by a curator: never moved by the automatic passes.
    is_pinned = models.BooleanField(default=False)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cluster", "joined_at"]

    def __str__(self) -> str:
        return f"{self.article_id} in {self.cluster_id}"

    @property
    def story_id(self) -> int:
        """The id of the story page built from the cluster: the cluster's own."""
        return self.cluster_id


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
    # Plain ids, not foreign keys: a merged cluster is deleted, and its history must stay.
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


class StoryPairCandidate(models.Model):
    """Two stories that nearly merged: the merge pass scored them below its threshold, above the near-miss floor.

    What a story page looks at before it tells a reader that a side stayed silent, and what curators
    review: merge the two through the curator's merge, or mark them as not the same story so the
    pair is never proposed again. The lower id is ``story``; a merge of either story deletes the row.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for a curator"
        DISMISSED = "dismissed", "Not the same story"

    story = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="pair_candidates")
    other = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField(help_text="The merge pass's average-linkage probability, below its threshold.")
    detail = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    scored_at = models.DateTimeField(default=timezone.now, help_text="When the merge pass last scored the pair.")

    class Meta:
        ordering = ["-probability", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["story", "other"], name="one_candidate_per_story_pair"),
            models.CheckConstraint(condition=models.Q(story__lt=models.F("other")), name="candidate_story_lower_id"),
        ]

    def __str__(self) -> str:
        return f"{self.story_id} ~ {self.other_id} ({self.probability:.2f})"
