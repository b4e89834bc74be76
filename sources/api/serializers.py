from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sources.models import Outlet, OutletRating


class OutletRatingSerializer(serializers.ModelSerializer[OutletRating]):
    class Meta:
        model = OutletRating
        fields = ["lean", "factuality", "rated_by", "rated_at", "note", "created_at"]


class OutletSerializer(serializers.ModelSerializer[Outlet]):
    domains = serializers.SlugRelatedField(many=True, read_only=True, slug_field="domain")
    side = serializers.CharField(read_only=True, allow_null=True)
    current_rating = serializers.SerializerMethodField()

    class Meta:
        model = Outlet
        fields = ["id", "name", "slug", "domains", "country", "owner", "lean", "side", "factuality", "current_rating"]

    @extend_schema_field(OutletRatingSerializer(allow_null=True))
    def get_current_rating(self, outlet: Outlet) -> dict[str, Any] | None:
        ratings = list(outlet.ratings.all())  # prefetched, newest first
        return OutletRatingSerializer(ratings[0]).data if ratings else None


class OutletBriefSerializer(serializers.ModelSerializer[Outlet]):
    side = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Outlet
        fields = ["id", "name", "slug", "lean", "side", "factuality"]
