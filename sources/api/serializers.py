from __future__ import annotations

from typing import Any

from django.conf import settings
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


class ArticlePushInputSerializer(serializers.Serializer[dict[str, Any]]):
    """A partner's articles in the corpus format; each item is validated on its own by the service."""

    articles = serializers.ListField(
        child=serializers.JSONField(),
        allow_empty=False,
        help_text="Objects with url (required), outlet, outlet_domain, title, text, published_at, language.",
    )

    def validate_articles(self, value: list[Any]) -> list[Any]:
        limit: int = settings.NEWSROOM_PUSH_MAX_ITEMS
        if len(value) > limit:
            raise serializers.ValidationError(f"At most {limit} articles per request; got {len(value)}.")
        return value


class ArticlePushItemSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField(help_text="The item's position in the request.")
    status = serializers.ChoiceField(choices=["created", "existing", "rejected"])
    url = serializers.CharField(help_text="The canonical URL the article is known by (as sent, if rejected).")
    article_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(help_text="Why the item was rejected; empty otherwise.")


class ArticlePushOutputSerializer(serializers.Serializer[Any]):
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    rejected = serializers.IntegerField()
    items = ArticlePushItemSerializer(many=True)
