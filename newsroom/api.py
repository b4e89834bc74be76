"""The API router: every app's viewsets under /api/v1/."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from sources.api.views import OutletViewSet
from stories.api.views import ArticleViewSet, StoryViewSet

router = DefaultRouter()
router.register("stories", StoryViewSet, basename="story")
router.register("articles", ArticleViewSet, basename="article")
router.register("outlets", OutletViewSet, basename="outlet")
