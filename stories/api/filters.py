"""The filters of the story and article lists; a value that does not parse is a 400 naming the parameter."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from sources.models import SIDE_OF_LEAN, Article, Side
from stories.models import Story
from stories.querysets import BLINDSPOT_SIDES

# The largest id or count a filter accepts: larger would overflow the database's integer.
LARGEST = 2**31 - 1


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class BoundedDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, given to the database in UTC.

    In UTC because PostgreSQL refuses offsets past 15:59 that ISO 8601 allows (+20:59); and one that
    does not exist in UTC (year 1 at +14:00, year 9999 at -12:00) is refused here with a 400.
    """

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError as error:
            raise forms.ValidationError("The date-time is out of range.", code="out_of_range") from error


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedDateTimeField


class StoryFilter(django_filters.FilterSet):
    # Each bound is its own filter, so an error names the parameter the client sent.
    first_published_after = DateTimeFilter(
        field_name="first_published_at", lookup_expr="gte", label="First article published at or after (ISO 8601)."
    )
    first_published_before = DateTimeFilter(
        field_name="first_published_at", lookup_expr="lte", label="First article published at or before (ISO 8601)."
    )
    last_published_after = DateTimeFilter(
        field_name="last_published_at", lookup_expr="gte", label="Latest article published at or after (ISO 8601)."
    )
    last_published_before = DateTimeFilter(
        field_name="last_published_at", lookup_expr="lte", label="Latest article published at or before (ISO 8601)."
    )
    q = django_filters.CharFilter(
        method="filter_text",
        max_length=200,
        label="Topic or entity: text in the title or summary, or the name of an entity the articles mention.",
    )
    blindspot = django_filters.ChoiceFilter(
        choices=[(side, label) for side, label in Side.choices if side in BLINDSPOT_SIDES],
        method="filter_blindspot",
        label=(
            "Stories that side (left or right; a thin center alone is no blindspot) hardly covered: "
            "at most NEWSROOM_BLINDSPOT_MAX_SHARE of the rated articles "
            "(zero included), in stories with at least NEWSROOM_BLINDSPOT_MIN_RATED rated articles."
        ),
    )
    min_outlets = IntegerFilter(
        field_name="outlet_count",
        lookup_expr="gte",
        min_value=0,
        max_value=LARGEST,
        label="At least this many outlets.",
    )

    class Meta:
        model = Story
        fields: list[str] = []

    def filter_text(self, queryset: QuerySet[Story], name: str, value: str) -> QuerySet[Story]:
        value = value.strip()
        if not value:
            return queryset
        # entity_counts is {entity: count}: an entity's name appears in its JSON text as a quoted key.
        # Both escapings, since SQLite keeps the JSON as Django wrote it (ASCII) and PostgreSQL as text.
        quoted = {json.dumps(value), json.dumps(value, ensure_ascii=False)}
        entity = Q()
        for needle in quoted:
            entity |= Q(entity_text__icontains=needle)
        return queryset.alias(entity_text=Cast("cluster__entity_counts", TextField())).filter(
            Q(title__icontains=value) | Q(summary__icontains=value) | entity
        )

    def filter_blindspot(self, queryset: QuerySet[Story], name: str, value: str) -> QuerySet[Story]:
        return queryset.blindspot(value) if value else queryset  # type: ignore[attr-defined]


ARTICLE_SIDES = [*Side.choices, ("unrated", "Unrated")]


class ArticleFilter(django_filters.FilterSet):
    story = IntegerFilter(field_name="membership__cluster_id", min_value=1, max_value=LARGEST, label="A story's id.")
    outlet = IntegerFilter(field_name="outlet_id", min_value=1, max_value=LARGEST, label="An outlet's id.")
    side = django_filters.ChoiceFilter(
        choices=ARTICLE_SIDES, method="filter_side", label="The side of the article's outlet, or unrated."
    )
    language = django_filters.CharFilter(
        field_name="language", lookup_expr="iexact", max_length=16, label="ISO 639-1 code, e.g. en."
    )
    published_after = DateTimeFilter(
        field_name="published_at", lookup_expr="gte", label="Published at or after (ISO 8601)."
    )
    published_before = DateTimeFilter(
        field_name="published_at", lookup_expr="lte", label="Published at or before (ISO 8601)."
    )

    class Meta:
        model = Article
        fields: list[str] = []

    def filter_side(self, queryset: QuerySet[Article], name: str, value: str) -> QuerySet[Article]:
        if not value:
            return queryset
        if value == "unrated":
            return queryset.filter(outlet__lean="")
        return queryset.filter(outlet__lean__in=[lean for lean, side in SIDE_OF_LEAN.items() if side == value])
