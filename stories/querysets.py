from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, Value

if TYPE_CHECKING:
    from stories.models import Story  # noqa: F401

SIDES = ("left", "center", "right")
# Blindspots are judged for the left and the right, as readers know them: a story the right-leaning
# outlets ignored. A thin center alone is no blindspot (center outlets are fewer, and a story both
# the left and the right covered was not covered "mostly by one side").
BLINDSPOT_SIDES = ("left", "right")


class SideCounts(Protocol):
    left_count: int
    center_count: int
    right_count: int


def elsewhere_attribute(side: str) -> str:
    """The name under which StoryQuerySet.with_sides_elsewhere() says a side may be in a related story."""
    return f"{side}_elsewhere"


@dataclass(frozen=True)
class BlindspotRule:
    """The one definition of a blindspot, for the pages, the digest and (at merge) the API filter.

    The left or the right is a story's blindspot when the story has at least ``min_rated`` rated
    original articles (wire copies and unrated outlets count for no side) and that side's share of
    them is at most ``max_share``. With too few rated articles nothing is flagged: two articles from one
    side say little about what the other sides ignored.
    """

    max_share: float
    min_rated: int

    @classmethod
    def current(cls) -> BlindspotRule:
        return cls(
            max_share=float(settings.NEWSROOM_BLINDSPOT_MAX_SHARE),
            min_rated=int(settings.NEWSROOM_BLINDSPOT_MIN_RATED),
        )

    @property
    def definition(self) -> str:
        """The one wording of the rule, on every page that flags or explains a blindspot."""
        return (
            f"A story is a blindspot for the left or the right when that side has at most "
            f"{self.max_share * 100:.0f}% of its articles from rated outlets, in a story with at least "
            f"{self.min_rated} such articles. Wire copies and unrated outlets count for no side. A side "
            f"whose coverage may be in a story that nearly joined this one is not called a blindspot: the "
            f"story page links to that story instead."
        )

    def sides(self, story: SideCounts) -> list[str]:
        """The sides the story is a blindspot for, left before right (empty: not a blindspot).

        A story read through ``StoryQuerySet.with_sides_elsewhere()`` also knows which sides may be in
        a related story (issue 16); those are not flagged, as condition() leaves them out in SQL.
        """
        rated = sum(getattr(story, f"{side}_count") for side in SIDES)
        if rated < self.min_rated:
            return []
        # The same arithmetic as the SQL in condition(): count <= max_share * rated.
        return [
            side
            for side in BLINDSPOT_SIDES
            if getattr(story, f"{side}_count") <= self.max_share * rated
            and not getattr(story, elsewhere_attribute(side), False)
        ]

    @staticmethod
    def elsewhere(side: str) -> Exists:
        """Whether the story's page points ``side`` at a related story (StoryViewpoint.related_story)."""
        # By name: stories.models imports this module.
        viewpoints = apps.get_model("stories", "StoryViewpoint").objects
        return Exists(viewpoints.filter(story=OuterRef("pk"), side=side, related_story__isnull=False))

    def condition(self, side: str) -> Q:
        """The SQL of the rule for one side; a side whose coverage may be in a story that nearly merged
        with this one (the page points there, issue 16) is not called a blindspot."""
        if side not in BLINDSPOT_SIDES:
            raise ValueError(f"Blindspots are judged for {' and '.join(BLINDSPOT_SIDES)}, not {side!r}.")
        rated = F("left_count") + F("center_count") + F("right_count")
        limit = ExpressionWrapper(rated * Value(self.max_share), output_field=FloatField())
        return Q(**{f"{side}_count__lte": limit}) & Q(rated_total__gte=self.min_rated) & Q(~self.elsewhere(side))


class StoryQuerySet(models.QuerySet["Story"]):
    def listed(self) -> StoryQuerySet:
        """Stories a reader can open: refreshed at least once."""
        return self.filter(refreshed_at__isnull=False, article_count__gt=0)

    def active_around(self, moment: datetime, *, window: timedelta) -> StoryQuerySet:
        """Stories with coverage within ``window`` of ``moment``: the clusterer's candidates."""
        return self.filter(last_published_at__gte=moment - window, first_published_at__lte=moment + window)

    def with_sides_elsewhere(self) -> StoryQuerySet:
        """Annotates ``left_elsewhere`` and ``right_elsewhere``: whether that side's coverage may be in a
        related story, so BlindspotRule.sides() flags what the blindspot feed lists and nothing more."""
        return self.annotate(**{elsewhere_attribute(side): BlindspotRule.elsewhere(side) for side in BLINDSPOT_SIDES})

    def blindspot(self, side: str) -> StoryQuerySet:
        """Stories that ``side`` (left or right) hardly covered: the one rule, ``blindspot_for``."""
        return self.blindspot_for(side)

    def _with_rated_total(self) -> StoryQuerySet:
        return self.alias(rated_total=F("left_count") + F("center_count") + F("right_count"))

    def blindspot_for(self, side: str, *, rule: BlindspotRule | None = None) -> StoryQuerySet:
        """Stories the given side (left or right) barely covered, by BlindspotRule (the settings)."""
        rule = rule or BlindspotRule.current()
        return self._with_rated_total().filter(rule.condition(side))

    def blindspots(self, *, rule: BlindspotRule | None = None) -> StoryQuerySet:
        """Stories that are a blindspot for at least one side."""
        rule = rule or BlindspotRule.current()
        condition = Q()
        for side in BLINDSPOT_SIDES:
            condition |= rule.condition(side)
        return self._with_rated_total().filter(condition)

    def ranked_top(self, *, fresh_since: datetime) -> StoryQuerySet:
        """Top stories first: those with coverage since ``fresh_since``, by outlets covering them, then recency.

        Outlets, not articles, so one outlet's many updates do not lift a story; the freshness cut
        keeps a big story of last week from sitting above today's news.
        """
        fresh = models.Case(
            models.When(last_published_at__gte=fresh_since, then=Value(1)),
            default=Value(0),
            output_field=models.IntegerField(),
        )
        return self.alias(is_fresh=fresh).order_by("-is_fresh", "-outlet_count", "-last_published_at", "-pk")
