from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from sources.models import Article
from stories import selectors
from stories.api.serializers import ArticleSerializer, StoryDetailSerializer, StoryListSerializer
from stories.models import Story
from stories.views import STORY_PAGE_SECONDS


class StoryViewSet(viewsets.ReadOnlyModelViewSet[Story]):
    """Stories with their coverage by side; the detail adds the viewpoints, overview and articles."""

    def get_queryset(self) -> QuerySet[Story]:
        if self.action == "retrieve":
            return selectors.story_detail_queryset()
        return selectors.story_list()

    def get_serializer_class(self) -> type[StoryListSerializer]:
        return StoryDetailSerializer if self.action == "retrieve" else StoryListSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The page's data, not its rendering, is cached: any renderer can serve it.
        key = f"story-list:{selectors.stories_version()}:{request.get_full_path()[:500]}"
        data = cache.get(key)
        if data is None:
            data = super().list(request, *args, **kwargs).data
            cache.set(key, data, STORY_PAGE_SECONDS)
        return Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Keyed on the story's version, like the story page: a refresh makes a new entry.
        story_id = int(kwargs["pk"]) if str(kwargs.get("pk", "")).isdigit() else 0
        key = f"story-api:{story_id}:{selectors.story_version(story_id=story_id)}"
        data = cache.get(key)
        if data is None:
            story = self.get_object()
            serializer = self.get_serializer(story, context={"articles": selectors.story_articles(story)})
            data = serializer.data
            cache.set(key, data, STORY_PAGE_SECONDS)
        return Response(data)


class ArticleViewSet(viewsets.ReadOnlyModelViewSet[Article]):
    """Articles with their outlet, side, story and analysis."""

    serializer_class = ArticleSerializer

    def get_queryset(self) -> QuerySet[Article]:
        queryset = Article.objects.select_related("outlet", "analysis", "membership").order_by("-published_at", "-pk")
        story = self.request.query_params.get("story")
        if story and story.isdigit():
            queryset = queryset.filter(membership__story_id=int(story))
        return queryset
