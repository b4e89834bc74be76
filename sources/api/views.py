from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Scope
from sources.api.conditional import ContentETagRetrieveMixin, KeptResponseMixin
from sources.api.serializers import (
    OutletDetailSerializer,
    OutletRatingInputSerializer,
    OutletRatingSerializer,
    OutletSerializer,
)
from sources.models import Outlet, OutletRating
from sources.ratings import outlet_rating_add
from sources.selectors import outlets_version

RATING_HISTORY_ORDER = ("-rated_at", "-created_at", "-id")


# What the outlet list's key misses (an outlet renamed in the admin) waits this long.
OUTLETS_SECONDS = 60


@extend_schema_view(
    list=extend_schema(summary="Outlets with their current lean rating, by name."),
    retrieve=extend_schema(summary="An outlet with its current rating and full rating history; sends an ETag."),
)
class OutletViewSet(KeptResponseMixin, ContentETagRetrieveMixin, viewsets.ReadOnlyModelViewSet[Outlet]):
    """Outlets with their current lean rating; the detail adds the rating history."""

    lookup_value_regex = "[0-9]{1,18}"
    ordering = "name"

    # A body kept as JSON is a plain HttpResponse, which DRF sends as it is; the stub's list says a Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse | Response:  # type: ignore[override]
        # Outlets with their domains and ratings took 10 ms a request: kept by the outlets' version.
        return self.list_kept(
            request,
            outlets_version(),
            lambda: super(OutletViewSet, self).list(request, *args, **kwargs).data,
            seconds=OUTLETS_SECONDS,
        )

    def get_queryset(self) -> QuerySet[Outlet]:
        return Outlet.objects.prefetch_related(
            "domains", Prefetch("ratings", queryset=OutletRating.objects.order_by(*RATING_HISTORY_ORDER))
        ).order_by("name")

    def get_serializer_class(self) -> type[OutletSerializer]:
        return OutletDetailSerializer if self.action == "retrieve" else OutletSerializer

    @property
    def write_scope(self) -> str | None:
        # Read by accounts.permissions.ReadOpenWriteScoped for a POST.
        return Scope.RATINGS_WRITE if self.action == "ratings" else None

    @extend_schema(
        methods=["GET"],
        summary="The outlet's rating history, newest first.",
        responses={200: OutletRatingSerializer(many=True)},
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a rating (a token with the ratings:write scope, whose user may add outlet ratings).",
        request=OutletRatingInputSerializer,
        responses={201: OutletRatingSerializer},
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def ratings(self, request: Request, pk: str | None = None) -> Response:
        outlet = self.get_object()
        if request.method == "GET":
            history = outlet.ratings.all()  # prefetched in the history order
            return Response(OutletRatingSerializer(history, many=True).data)
        given = OutletRatingInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        assert isinstance(request.user, User)  # a POST needs a token with ratings:write (ReadOpenWriteScoped)
        try:
            rating = outlet_rating_add(outlet=outlet, entered_by=request.user, **given.validated_data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages
            ) from error
        return Response(OutletRatingSerializer(rating).data, status=status.HTTP_201_CREATED)
