from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from sources.models import Article
from stories import selectors
from stories.api.serializers import ArticleSerializer, StoryDetailSerializer, StoryListSerializer
from stories.models import Story


class StoryViewSet(viewsets.ReadOnlyModelViewSet[Story]):
    """Stories with their coverage by side; the detail adds the viewpoints, overview and articles."""

    def get_queryset(self) -> QuerySet[Story]:
        if self.action == "retrieve":
            return selectors.story_detail_queryset()
        return selectors.story_list()

    def get_serializer_class(self) -> type[StoryListSerializer]:
        return StoryDetailSerializer if self.action == "retrieve" else StoryListSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        story = self.get_object()
        serializer = self.get_serializer(story, context={"articles": selectors.story_articles(story)})
        return Response(serializer.data)


class ArticleViewSet(viewsets.ReadOnlyModelViewSet[Article]):
    """Articles with their outlet, side, story and analysis."""

    serializer_class = ArticleSerializer

    def get_queryset(self) -> QuerySet[Article]:
        queryset = Article.objects.select_related("outlet", "analysis", "membership").order_by("-published_at", "-pk")
        story = self.request.query_params.get("story")
        if story and story.isdigit():
            queryset = queryset.filter(membership__story_id=int(story))
        return queryset
