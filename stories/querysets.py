from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q

if TYPE_CHECKING:
    from stories.models import Story  # noqa: F401


class StoryQuerySet(models.QuerySet["Story"]):
    def listed(self) -> StoryQuerySet:
        """Stories a reader can open: refreshed at least once."""
        return self.filter(refreshed_at__isnull=False, article_count__gt=0)

    def active_around(self, moment: datetime, *, window: timedelta) -> StoryQuerySet:
        """Stories with coverage within ``window`` of ``moment``: the clusterer's candidates."""
        return self.filter(last_published_at__gte=moment - window, first_published_at__lte=moment + window)

    def blindspot(self, side: str) -> StoryQuerySet:
        """Stories that ``side`` (left, center or right) hardly covered: its blindspot.

        A side's share is its articles among the story's rated articles (outlets with a lean
        rating; wire copies and unrated outlets apart). The story is that side's blindspot when
        the share is at most ``NEWSROOM_BLINDSPOT_MAX_SHARE`` (zero included) and the story has at
        least ``NEWSROOM_BLINDSPOT_MIN_RATED`` rated articles: below that, a missing side is chance.
        """
        if side not in ("left", "center", "right"):
            raise ValueError(f"Not a side: {side!r}")
        max_share: float = settings.NEWSROOM_BLINDSPOT_MAX_SHARE
        min_rated: int = settings.NEWSROOM_BLINDSPOT_MIN_RATED
        rated = F("left_count") + F("center_count") + F("right_count")
        # In integer arithmetic, the same on SQLite and PostgreSQL: for a whole number of articles,
        # side <= rated * share exactly when side <= floor(rated * thousandths / 1000).
        return self.alias(rated_total=rated).filter(
            Q(rated_total__gte=max(min_rated, 1)) & Q(**{f"{side}_count__lte": rated * round(max_share * 1000) / 1000})
        )
