from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sources.models import SCHEME_PATTERN, Factuality, Lean, Outlet, OutletDomain, OutletRating


class OutletRatingSerializer(serializers.ModelSerializer[OutletRating]):
    class Meta:
        model = OutletRating
        fields = ["id", "scheme", "lean", "score", "factuality", "rated_by", "rated_at", "note", "created_at"]


class OutletRatingInputSerializer(serializers.Serializer[Any]):
    """A new rating: appended to the outlet's history, never an edit of an earlier one."""

    lean = serializers.ChoiceField(choices=Lean.choices)
    factuality = serializers.ChoiceField(choices=Factuality.choices, required=False, default="")
    rated_by = serializers.CharField(
        max_length=200, help_text="The rater or method, e.g. an external chart and its version, or an internal review."
    )
    rated_at = serializers.DateField(required=False, help_text="When the rating was made or takes effect; today.")
    note = serializers.CharField(required=False, default="", allow_blank=True, max_length=5000)
    scheme = serializers.RegexField(
        SCHEME_PATTERN,
        required=False,
        default="",
        max_length=16,
        help_text="The axis the rating is made on (e.g. US, UK); the outlet's own scheme when left out.",
    )
    score = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=-1.0,
        max_value=1.0,
        help_text="The rater's own figure scaled to -1 (far left) .. +1 (far right); shown, never used for the side.",
    )


class OutletSerializer(serializers.ModelSerializer[Outlet]):
    domains = serializers.SlugRelatedField[OutletDomain](many=True, read_only=True, slug_field="domain")
    side = serializers.CharField(read_only=True, allow_null=True)
    current_rating = serializers.SerializerMethodField()

    class Meta:
        model = Outlet
        fields = [
            "id",
            "name",
            "slug",
            "domains",
            "country",
            "owner",
            "scheme",
            "lean",
            "side",
            "factuality",
            "lean_rule",
            "lean_explanation",
            "current_rating",
        ]

    @extend_schema_field(OutletRatingSerializer(allow_null=True))
    def get_current_rating(self, outlet: Outlet) -> dict[str, Any] | None:
        """The rating the lean policy chose (NEWSROOM_LEAN_POLICY), found in the prefetched history."""
        chosen = next((rating for rating in outlet.ratings.all() if rating.pk == outlet.effective_rating_id), None)
        return self._rating_serializer.to_representation(chosen) if chosen else None

    @functools.cached_property
    def _rating_serializer(self) -> OutletRatingSerializer:
        # One for the whole list: a serializer built per outlet built its fields each time, most of
        # the outlet list's time (lab/bench/pages.py, issue 21).
        return OutletRatingSerializer()


class OutletDetailSerializer(OutletSerializer):
    ratings = OutletRatingSerializer(many=True, read_only=True, help_text="The full rating history, newest first.")

    class Meta(OutletSerializer.Meta):
        fields = [*OutletSerializer.Meta.fields, "ratings"]


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
