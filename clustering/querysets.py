from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from clustering.models import Cluster  # noqa: F401


class ClusterQuerySet(models.QuerySet["Cluster"]):
    def active_around(self, moment: datetime, *, window: timedelta) -> ClusterQuerySet:
        """Clusters with coverage within ``window`` of ``moment``: the clusterer's candidates."""
        return self.filter(last_published_at__gte=moment - window, first_published_at__lte=moment + window)
