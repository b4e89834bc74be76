from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from sources.querysets import AppendOnlyQuerySet, ArticleQuerySet, FeedQuerySet, OutletQuerySet, OutletRatingQuerySet


class Lean(models.TextChoices):
    """The five-level lean scale curators rate outlets on."""

    LEFT = "left", "Left"
    LEAN_LEFT = "lean_left", "Lean left"
    CENTER = "center", "Center"
    LEAN_RIGHT = "lean_right", "Lean right"
    RIGHT = "right", "Right"


class Side(models.TextChoices):
    """The three columns of a story page; lean left counts as left, lean right as right."""

    LEFT = "left", "Left"
    CENTER = "center", "Center"
    RIGHT = "right", "Right"


SIDE_OF_LEAN: dict[str, str] = {
    Lean.LEFT: Side.LEFT,
    Lean.LEAN_LEFT: Side.LEFT,
    Lean.CENTER: Side.CENTER,
    Lean.LEAN_RIGHT: Side.RIGHT,
    Lean.RIGHT: Side.RIGHT,
}


def side_of_lean(lean: str) -> str | None:
    """The side an outlet of this lean counts for, or None for an unrated outlet."""
    return SIDE_OF_LEAN.get(lean)


# The five leans as positions on one axis, far left -2 to far right +2: what the median rule compares.
LEAN_POSITION: dict[str, int] = {
    Lean.LEFT: -2,
    Lean.LEAN_LEFT: -1,
    Lean.CENTER: 0,
    Lean.LEAN_RIGHT: 1,
    Lean.RIGHT: 2,
}

# A rating scheme names the political axis a rating is made on (a country's left and right):
# upper-case letters, digits and hyphens, e.g. "US", "UK", "DE".
SCHEME_PATTERN = r"^[A-Z][A-Z0-9-]{0,15}$"


class Factuality(models.TextChoices):
    VERY_HIGH = "very_high", "Very high"
    HIGH = "high", "High"
    MOSTLY_FACTUAL = "mostly_factual", "Mostly factual"
    MIXED = "mixed", "Mixed"
    LOW = "low", "Low"


class Outlet(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2 code.")
    owner = models.CharField(max_length=200, blank=True)
    # The edition's axis: only ratings made in this scheme count, so a UK edition never takes
    # its lean from a rating made on the US axis.
    scheme = models.CharField(
        max_length=16,
        default="US",
        validators=[RegexValidator(SCHEME_PATTERN, "A scheme is upper-case letters and digits, e.g. US or UK.")],
        help_text="The rating scheme (country or edition) whose ratings decide this outlet's lean.",
    )
    # The effective rating, cached: what the policy (NEWSROOM_LEAN_POLICY) makes of the outlet's
    # ratings in its scheme, kept by outlet_effective_rating_sync. Empty lean: unrated, no side.
    lean = models.CharField(max_length=16, choices=Lean.choices, blank=True)
    factuality = models.CharField(max_length=16, choices=Factuality.choices, blank=True)
    effective_rating = models.ForeignKey(
        "OutletRating",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The rating the policy chose (for the median rule, the newest rating at the median).",
    )
    lean_rule = models.CharField(max_length=32, blank=True, help_text="The policy rule that set the lean.")
    lean_explanation = models.CharField(max_length=500, blank=True, help_text="How the rule arrived at the lean.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = OutletQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def side(self) -> str | None:
        return side_of_lean(self.lean)

    @property
    def is_rated(self) -> bool:
        return bool(self.lean)


class OutletDomain(models.Model):
    """A host name an outlet publishes on; articles are matched to outlets by it."""

    outlet = models.ForeignKey(Outlet, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class OutletRating(models.Model):
    """One rating in an outlet's history. Append-only: a correction is a new record."""

    outlet = models.ForeignKey(Outlet, on_delete=models.CASCADE, related_name="ratings")
    scheme = models.CharField(
        max_length=16,
        default="US",
        validators=[RegexValidator(SCHEME_PATTERN, "A scheme is upper-case letters and digits, e.g. US or UK.")],
        help_text="The axis the rating was made on; it counts only for an outlet of the same scheme.",
    )
    lean = models.CharField(max_length=16, choices=Lean.choices)
    score = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(-1.0), MaxValueValidator(1.0)],
        help_text="Optional: the rater's numeric bias rescaled to -1 (far left) .. +1 (far right).",
    )
    factuality = models.CharField(max_length=16, choices=Factuality.choices, blank=True)
    rated_by = models.CharField(
        max_length=200, help_text="The rater or method, e.g. an external chart and its version, or an internal review."
    )
    rated_at = models.DateField(default=timezone.localdate, help_text="When the rating was made or takes effect.")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OutletRatingQuerySet.as_manager()

    class Meta:
        ordering = ["-rated_at", "-created_at", "-id"]
        get_latest_by = ["rated_at", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=-1.0, score__lte=1.0),
                name="rating_score_between_minus_one_and_one",
            )
        ]

    def __str__(self) -> str:
        return f"{self.outlet}: {self.get_lean_display()} ({self.rated_by}, {self.rated_at})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("Outlet ratings are append-only; add a new rating instead of editing one.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Outlet ratings are append-only and cannot be deleted.")


class RatingChange(models.Model):
    """The public changelog: one entry per rating added, or per policy recomputation that moved a lean.

    Records the outlet's effective lean and factuality before and after, and the rule in force.
    Append-only, like the ratings.
    """

    outlet = models.ForeignKey(Outlet, on_delete=models.CASCADE, related_name="rating_changes")
    rating = models.ForeignKey(
        OutletRating,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="changes",
        help_text="The rating added; empty when a change of policy moved the lean.",
    )
    lean_before = models.CharField(max_length=16, choices=Lean.choices, blank=True)
    lean_after = models.CharField(max_length=16, choices=Lean.choices, blank=True)
    factuality_before = models.CharField(max_length=16, choices=Factuality.choices, blank=True)
    factuality_after = models.CharField(max_length=16, choices=Factuality.choices, blank=True)
    rule = models.CharField(max_length=32, blank=True)
    explanation = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.outlet}: {self.lean_before or 'unrated'} -> {self.lean_after or 'unrated'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("The rating changelog is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("The rating changelog is append-only and cannot be deleted.")

    @property
    def lean_changed(self) -> bool:
        return self.lean_before != self.lean_after


class Feed(models.Model):
    outlet = models.ForeignKey(Outlet, on_delete=models.CASCADE, related_name="feeds")
    url = models.URLField(max_length=2000, unique=True)
    title = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    # Unverified until the first successful poll: catalogue URLs cannot be checked offline.
    is_verified = models.BooleanField(default=False)
    etag = models.CharField(max_length=300, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    next_poll_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # When validators were last left out: some servers answer 304 wrongly, so a full fetch is made now and then.
    last_unconditional_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    skipped_entries = models.JSONField(
        default=dict, blank=True, help_text="Entries the last poll skipped, counted by reason."
    )
    # Set when the feed was switched off after NEWSROOM_FEED_DISABLE_AFTER_FAILURES failures in a row;
    # a curator re-enables it (the admin action), which clears it.
    disabled_at = models.DateTimeField(null=True, blank=True)

    objects = FeedQuerySet.as_manager()

    class Meta:
        ordering = ["outlet__name", "url"]

    def __str__(self) -> str:
        return self.url

    @property
    def health(self) -> str:
        """One word for curators: disabled, failing, unverified or ok."""
        if self.disabled_at is not None or not self.is_active:
            return "disabled"
        if self.consecutive_failures:
            return "failing"
        if not self.is_verified:
            return "unverified"
        return "ok"


class Article(models.Model):
    class State(models.TextChoices):
        DISCOVERED = "discovered", "Discovered, waiting to be fetched"
        FETCHED = "fetched", "Fetched, waiting for analysis"
        ANALYSED = "analysed", "Analysed, waiting for clustering"
        CLUSTERED = "clustered", "In a story"
        FAILED = "failed", "Failed"

    # Indexed with state_changed_at (Meta.indexes), which also serves every lookup by outlet.
    outlet = models.ForeignKey(Outlet, on_delete=models.PROTECT, related_name="articles", db_index=False)
    feed = models.ForeignKey(Feed, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles")
    url = models.URLField(max_length=2000, help_text="The URL the article was found at.")
    canonical_url = models.URLField(max_length=2000, unique=True)
    title = models.CharField(max_length=1000, blank=True)
    text = models.TextField(blank=True)
    # Kept when extraction yields too little text, so the article is not silently dropped.
    is_title_only = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    language = models.CharField(max_length=16, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # A near-copy (a wire story republished by another outlet) points at the first article of its
    # group; coverage figures count such copies apart, as syndicated, so they do not inflate a side.
    syndicated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="syndicated_copies"
    )
    syndication_similarity = models.FloatField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DISCOVERED, db_index=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    discovered_at = models.DateTimeField(default=timezone.now)
    fetched_at = models.DateTimeField(null=True, blank=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["state", "state_changed_at"]),
            # An outlet's latest change (a new article, or one fetched, analysed or clustered) is the
            # end of its part of this index: what the cached outlet page is keyed on.
            models.Index(fields=["outlet", "state_changed_at"], name="sources_art_outlet_changed_idx"),
        ]

    def __str__(self) -> str:
        return self.title or self.canonical_url

    @property
    def is_syndicated(self) -> bool:
        return self.syndicated_from_id is not None

    @property
    def sort_time(self) -> Any:
        """When the article appeared: its publication time, or when we found it."""
        return self.published_at or self.discovered_at


class ArticleFingerprint(models.Model):
    """An article's MinHash signature, kept to compare later arrivals with it."""

    article = models.OneToOneField(Article, primary_key=True, on_delete=models.CASCADE, related_name="fingerprint")
    minhash = models.BinaryField()

    def __str__(self) -> str:
        return f"Fingerprint of article {self.article_id}"


class ArticleFingerprintBand(models.Model):
    """One locality-sensitive-hashing band of a signature: articles sharing a band key are candidates."""

    fingerprint = models.ForeignKey(ArticleFingerprint, on_delete=models.CASCADE, related_name="bands")
    key = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"{self.fingerprint_id}: {self.key}"
