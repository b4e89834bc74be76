from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from rest_framework import viewsets

from sources.api.serializers import OutletSerializer
from sources.models import Outlet, OutletRating


class OutletViewSet(viewsets.ReadOnlyModelViewSet[Outlet]):
    """Outlets with their current lean rating."""

    serializer_class = OutletSerializer

    def get_queryset(self) -> QuerySet[Outlet]:
        return Outlet.objects.prefetch_related(
            "domains", Prefetch("ratings", queryset=OutletRating.objects.order_by("-rated_at", "-created_at", "-id"))
        ).order_by("name")
