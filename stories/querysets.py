from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import models

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
        return self.filter(**{f"{side}_count": 0}).exclude(left_count=0, center_count=0, right_count=0)
