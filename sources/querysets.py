from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from sources.models import Article, Feed, Outlet  # noqa: F401


class OutletQuerySet(models.QuerySet["Outlet"]):
    def rated(self) -> OutletQuerySet:
        return self.exclude(lean="")

    def for_domain(self, domain: str) -> OutletQuerySet:
        return self.filter(domains__domain=domain.lower().removeprefix("www."))


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """For histories (ratings, their changelog): bulk updates and deletes are refused, like the
    models' own save-on-update and delete. (Deleting an outlet still removes its history: Django's
    cascade deletes those rows directly, not through this queryset.)"""

    def update(self, **kwargs: Any) -> int:
        raise ValueError(f"{self.model._meta.verbose_name_plural} are append-only: add a record, do not edit one.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError(f"{self.model._meta.verbose_name_plural} are append-only and cannot be deleted.")


class OutletRatingQuerySet(AppendOnlyQuerySet):
    def in_scheme(self, scheme: str) -> OutletRatingQuerySet:
        return self.filter(scheme=scheme)


class FeedQuerySet(models.QuerySet["Feed"]):
    def active(self) -> FeedQuerySet:
        return self.filter(is_active=True)

    def due(self, now: datetime | None = None) -> FeedQuerySet:
        return self.active().filter(next_poll_at__lte=now or timezone.now())

    def disabled(self) -> FeedQuerySet:
        return self.filter(is_active=False)


class ArticleQuerySet(models.QuerySet["Article"]):
    def stuck(self, older_than: datetime) -> ArticleQuerySet:
        """Articles whose next pipeline step has not happened since ``older_than``."""
        return self.filter(state__in=["discovered", "fetched", "analysed"], state_changed_at__lt=older_than)

    def originals(self) -> ArticleQuerySet:
        """Articles that are not a near-copy of an earlier one: what counts toward a side's coverage."""
        return self.filter(syndicated_from__isnull=True)

    def syndicated(self) -> ArticleQuerySet:
        """Near-copies of an earlier article (wire stories republished by other outlets)."""
        return self.filter(syndicated_from__isnull=False)
