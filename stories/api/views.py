from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.serializers import BaseSerializer

from accounts.permissions import QueryOpen
from sources.api.conditional import (
    ContentETagRetrieveMixin,
    KeptResponseMixin,
    entity_tag,
    not_modified,
    validators_set,
)
from sources.models import Article
from stories import selectors
from stories.api.filters import ArticleFilter, StoryFilter
from stories.api.serializers import (
    ArticleSerializer,
    AskAnswerSerializer,
    AskInputSerializer,
    StoryDetailSerializer,
    StoryListSerializer,
)
from stories.ask import story_ask
from stories.models import Story
from stories.querysets import BlindspotRule
from stories.views import STORY_PAGE_SECONDS

# An id in a path has at most 18 digits: a longer one cannot be a row, and would overflow the database.
ID_PATTERN = "[0-9]{1,18}"


@extend_schema_view(
    list=extend_schema(summary="Stories, with their coverage by side; filtered, ordered, a page at a time."),
    retrieve=extend_schema(
        summary="A story: coverage by articles and by outlets, viewpoints, the cited overview, its articles.",
        description="Sends ETag and Last-Modified; If-None-Match or If-Modified-Since get a 304 while it is unchanged.",
    ),
)
class StoryViewSet(KeptResponseMixin, viewsets.ReadOnlyModelViewSet[Story]):
    """Stories with their coverage by side; the detail adds the viewpoints, overview and articles."""

    lookup_value_regex = ID_PATTERN
    filterset_class = StoryFilter
    ordering_fields = ["last_published_at", "first_published_at", "outlet_count", "article_count", "confidence"]
    ordering = "-last_published_at"

    def get_queryset(self) -> QuerySet[Story]:
        if self.action == "retrieve":
            return selectors.story_detail_queryset()
        return selectors.story_list()

    # Not BaseSerializer[Story]: the detail serializer reads the StoryPage that the selector builds.
    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return StoryDetailSerializer if self.action == "retrieve" else StoryListSerializer

    # A body kept as JSON is a plain HttpResponse, which DRF sends as it is; the stub's list says a Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse | Response:  # type: ignore[override]
        # The blindspot filter reads the rule from settings: a new rule is a new key, as for the blindspot feed.
        rule = BlindspotRule.current()
        version = f"{selectors.stories_version()}:{rule.max_share}:{rule.min_rated}"
        return self.list_kept(
            request,
            version,
            lambda: super(StoryViewSet, self).list(request, *args, **kwargs).data,
            seconds=STORY_PAGE_SECONDS,
        )

    # A 304 is a plain HttpResponse, which DRF sends as it is; the stub's retrieve says a Response.
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse | Response:  # type: ignore[override]
        story_id = int(kwargs["pk"])
        try:
            times = selectors.story_version_times(story_id=story_id)
        except Http404:
            merged_into = selectors.story_merged_into(story_id=story_id) if 0 < story_id < 2**63 else None
            if merged_into is None:
                raise
            url = reverse("story-detail", kwargs={"pk": merged_into}, request=request)
            return HttpResponsePermanentRedirect(url)
        version = selectors.story_version_format(times)
        etag = entity_tag(request, version=f"story-{story_id}-{version}")
        last_modified = max((moment for moment in times if moment), default=None)
        unchanged = not_modified(request, etag=etag, last_modified=last_modified)
        if unchanged is not None:
            return unchanged
        # Keyed on the story's version, like the story page: a refresh makes a new entry.
        key = f"story-api:{story_id}:{version}"

        def data_get() -> Any:
            data = cache.get(key)
            if data is None:
                page = selectors.story_page_build(self.get_object())
                data = StoryDetailSerializer(page, context=self.get_serializer_context()).data
                cache.set(key, data, STORY_PAGE_SECONDS)
            return data

        response = self.kept_response(request, key, data_get, seconds=STORY_PAGE_SECONDS)
        validators_set(response, etag=etag, last_modified=last_modified)
        return response

    @extend_schema(
        summary="Ask a question about the story: quotes from its own articles with citations, or a refusal.",
        description=(
            "Nothing is generated: the answer is the sentences of the story's articles that support it, "
            "each with its citation number and article. When nothing in the coverage supports an answer, "
            "is_supported is false and refusal_reason says so. Anyone may ask; a token must carry 'read'."
        ),
        request=AskInputSerializer,
        responses={200: AskAnswerSerializer},
        filters=False,
    )
    @action(detail=True, methods=["post"], pagination_class=None, filter_backends=[], permission_classes=[QueryOpen])
    def ask(self, request: Request, pk: str | None = None) -> Response:
        given = AskInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            answer = story_ask(story_id=int(str(pk)), question=given.validated_data["question"])
        except DjangoValidationError as error:
            raise serializers.ValidationError({"question": error.messages}) from error
        return Response(AskAnswerSerializer(answer.as_dict()).data)


@extend_schema_view(
    list=extend_schema(summary="Articles with outlet, side, story and analysis (frames, tone, entities)."),
    retrieve=extend_schema(summary="An article; sends an ETag, and If-None-Match gets a 304 while it is unchanged."),
)
class ArticleViewSet(KeptResponseMixin, ContentETagRetrieveMixin, viewsets.ReadOnlyModelViewSet[Article]):
    """Articles with their outlet, side, story and analysis, newest first (by when they were found)."""

    lookup_value_regex = ID_PATTERN
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilter
    ordering = "-id"

    # A body kept as JSON is a plain HttpResponse, which DRF sends as it is; the stub's list says a Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse | Response:  # type: ignore[override]
        # Serialising a page of articles with their analyses took 10 ms a request at 100,000 articles.
        return self.list_kept(
            request,
            selectors.articles_version(),
            lambda: super(ArticleViewSet, self).list(request, *args, **kwargs).data,
            seconds=STORY_PAGE_SECONDS,
        )

    def get_queryset(self) -> QuerySet[Article]:
        return (
            Article.objects.select_related("outlet", "analysis", "membership")
            .defer("text", "last_error", "analysis__embedding", "analysis__sentence_embeddings")
            .order_by("-id")
        )
