"""The API router: every app's viewsets under /api/v1/, and the partners' push endpoint."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from accounts.authentication import ApiTokenAuthentication
from accounts.models import Scope
from newsroom import pipeline
from sources.api.serializers import ArticlePushInputSerializer, ArticlePushOutputSerializer
from sources.api.views import OutletViewSet
from sources.push import articles_push
from stories.api.views import ArticleViewSet, StoryViewSet


class ArticlePushViewSet(viewsets.ViewSet):
    """Partners who send articles instead of publishing feeds.

    POST ``{"articles": [...]}`` with ``Authorization: Bearer <key>``: a token with the
    ``articles:push`` scope whose user may add articles (``sources.add_article``). Idempotent by canonical
    URL: sending an article again reports it as ``existing``. Each item is answered with its
    status, and a rejected one with its reason; the good ones go through the pipeline.
    """

    # A token only: a browser session never pushes.
    authentication_classes = [ApiTokenAuthentication]
    write_scope = Scope.ARTICLES_PUSH

    @extend_schema(
        summary="Push articles (a token with the articles:push scope).",
        request=ArticlePushInputSerializer,
        responses={200: ArticlePushOutputSerializer},
    )
    def create(self, request: Request) -> Response:
        given = ArticlePushInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        with transaction.atomic():
            report = articles_push(records=given.validated_data["articles"])
            # Each by its state: analysed in batches like an import, fetched first when sent without text.
            pipeline.articles_process(report.ids_with(status="created"))
        counts = {name: sum(item.status == name for item in report.items) for name in ("created", "existing")}
        output = ArticlePushOutputSerializer(
            {**counts, "rejected": len(report.items) - sum(counts.values()), "items": report.items}
        )
        return Response(output.data, status=status.HTTP_200_OK)


router = DefaultRouter()
router.register("stories", StoryViewSet, basename="story")
# Before "articles", whose detail route would otherwise take "push" for an id.
router.register("articles/push", ArticlePushViewSet, basename="article-push")
router.register("articles", ArticleViewSet, basename="article")
router.register("outlets", OutletViewSet, basename="outlet")
