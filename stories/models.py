from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from sources.models import Side
from stories.querysets import StoryQuerySet

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager

    from clustering.models import Membership


class Story(models.Model):
    """The reader's page of a cluster: what ``story_refresh`` builds from its members.

    It shares the cluster's id (the primary key is the cluster), so a story's URL and API id
    are its cluster's; the clusterer deletes a merged-away cluster and its page goes with it.
    Every column here is written by ``stories.services.story_refresh`` alone.
    """

    cluster = models.OneToOneField(
        "clustering.Cluster", primary_key=True, on_delete=models.CASCADE, related_name="story", db_column="id"
    )
    title = models.CharField(max_length=1000, blank=True)
    # Whose headline the title is, as of the last refresh: lists name the outlet of a side's headline.
    title_outlet = models.CharField(max_length=200, blank=True, help_text="The outlet whose headline is the title.")
    title_side = models.CharField(
        max_length=10,
        blank=True,
        help_text="That outlet's side at the last refresh (left, center, right; empty: unrated).",
    )
    summary = models.TextField(blank=True, help_text="One line, taken from the most central article sentence.")
    # The span, size and coverage of the story as of its last refresh (the page's figures).
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
    # The outlet ratings the coverage was computed with: {outlet_id: {lean, rating_id, rated_by,
    # rated_at, rule}}, written by story_refresh, so a later rating change never rewrites the past.
    ratings_snapshot = models.JSONField(default=dict, blank=True)
    ratings_as_of = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = StoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "stories"
        ordering = ["-last_published_at", "-pk"]

    def __str__(self) -> str:
        return self.title or f"Story {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("stories:detail", kwargs={"pk": self.pk})

    @property
    def id(self) -> int:
        """The story's id: its cluster's."""
        return self.cluster_id

    @property
    def memberships(self) -> RelatedManager[Membership]:
        """The articles of the story's cluster with why each joined (the clusterer writes them)."""
        return self.cluster.memberships

    @property
    def rated_count(self) -> int:
        return self.left_count + self.center_count + self.right_count

    @property
    def ratings_rules(self) -> str:
        """The rating policy rules the snapshot was computed under, for the page's one line."""
        return ", ".join(sorted({entry.get("rule", "") for entry in self.ratings_snapshot.values()} - {""}))

    def coverage_by_side(self) -> dict[str, int]:
        return {Side.LEFT: self.left_count, Side.CENTER: self.center_count, Side.RIGHT: self.right_count}

    def coverage_shares(self) -> dict[str, float]:
        """Share of rated articles by side, in percent (0 for every side when nothing is rated)."""
        total = self.rated_count
        return {side: (100.0 * count / total if total else 0.0) for side, count in self.coverage_by_side().items()}


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
    tone_counts = models.JSONField(
        default=dict,
        help_text='How many of its analysed articles read each way: {"negative", "neutral", "positive"}; '
        "empty for a side summarised before they were counted.",
    )
    entities = models.JSONField(default=list, help_text='[{"text", "count"}], most emphasised first.')
    # The safety net of issue 16: a side with no article here may have covered the event in a story
    # that nearly merged with this one (an open StoryPairCandidate). Then the column points there,
    # and the blindspot feed does not list the story for that side.
    # The cluster, whose id is its story page's: its page may not be built yet when this one is.
    related_story = models.ForeignKey(
        "clustering.Cluster",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A story that nearly merged with this one and has coverage from this side.",
    )
    related_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["story", "side"]
        constraints = [models.UniqueConstraint(fields=["story", "side"], name="one_viewpoint_per_side")]

    def __str__(self) -> str:
        return f"{self.story_id} {self.side}"

    @property
    def unavailable_explanation(self) -> str:
        return self.get_unavailable_reason_display() if self.unavailable_reason else ""


class DigestSubscription(models.Model):
    """A reader's subscription to the daily digest, confirmed by double opt-in."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    email = models.EmailField(unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The day of the last digest sent: claimed by a conditional UPDATE so a reader gets one a day
    # even when two beat runs or a retried task overlap.
    last_sent_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"


class ContentReport(models.Model):
    """A reader's report of a problem in generated content, for curators to resolve or dismiss."""

    class Target(models.TextChoices):
        OVERVIEW = "overview", "Overview"
        LEFT = "left", "Left viewpoint"
        CENTER = "center", "Center viewpoint"
        RIGHT = "right", "Right viewpoint"
        CLAIMS = "claims", "What each side reported (claims)"
        ASK = "ask", "An Ask answer"
        OTHER = "other", "Something else on the page"

    class Reason(models.TextChoices):
        NOT_IN_ARTICLES = "not_in_articles", "It says something the articles do not"
        MISATTRIBUTED = "misattributed", "It is cited to the wrong article or side"
        ONE_SIDED = "one_sided", "It is one-sided or leaves out important context"
        WRONG_SIDE = "wrong_side", "An outlet is on the wrong side"
        OFFENSIVE = "offensive", "It is offensive"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    # Kept when the story is merged away (merged stories are deleted): the title says what it was.
    story = models.ForeignKey(Story, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    story_title = models.CharField(max_length=1000, blank=True)
    target = models.CharField(max_length=16, choices=Target.choices)
    quoted_text = models.TextField(blank=True, help_text="The passage the reader reports, in their words or copied.")
    reason = models.CharField(max_length=24, choices=Reason.choices)
    message = models.TextField(blank=True)
    reporter_email = models.EmailField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Report {self.pk}: {self.get_target_display()} of {self.story_title or self.story_id}"


class ReportEvent(models.Model):
    """The audit trail of a report: who opened, resolved or dismissed it, when and why. Append-only."""

    class Action(models.TextChoices):
        CREATED = "created", "Reported"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    report = models.ForeignKey(ContentReport, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["report", "at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} report {self.report_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Report events are append-only; record a new event instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Report events are append-only and cannot be deleted.")


class StoryQuestion(models.Model):
    """A question readers asked about a story, counted once per normalised wording, with its last answer.

    Nothing readers type is published by itself: a question reaches the story's FAQ only once a
    curator approves it (``review``), under a neutral wording when the one asked is loaded.
    """

    class Review(models.TextChoices):
        PENDING = "pending", "Waiting for a curator"
        APPROVED = "approved", "In the FAQ"
        REJECTED = "rejected", "Not for the FAQ"

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="questions")
    question = models.CharField(max_length=300, help_text="The question as first asked.")
    normalised = models.CharField(max_length=300, help_text="Lower case, single spaces, no end punctuation.")
    count = models.PositiveIntegerField(default=1)
    is_supported = models.BooleanField(default=False)
    answer = models.JSONField(default=dict, help_text="The last answer: quotes with their citations, or a refusal.")
    first_asked_at = models.DateTimeField(default=timezone.now)
    last_asked_at = models.DateTimeField(default=timezone.now, db_index=True)
    review = models.CharField(max_length=16, choices=Review.choices, default=Review.PENDING, db_index=True)
    published_question = models.CharField(
        max_length=300,
        blank=True,
        help_text="The wording the FAQ shows, when the question as asked is loaded or unclear. "
        "Empty: the question as asked.",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["story", "-count", "-last_asked_at"]
        constraints = [models.UniqueConstraint(fields=["story", "normalised"], name="one_question_per_wording")]

    def __str__(self) -> str:
        return f"{self.story_id}: {self.question}"

    @property
    def wording(self) -> str:
        """What the FAQ shows: the curator's wording, else the question as asked."""
        return self.published_question or self.question
