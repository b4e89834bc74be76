from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.module_loading import import_string

from analysis.models import ArticleAnalysis


@admin.register(ArticleAnalysis)
class ArticleAnalysisAdmin(admin.ModelAdmin):
    """What the models said about each article, and which model versions said it; read-only."""

    list_display = ["article", "frame_list", "tone", "analysed_at", "framing_version"]
    list_filter = ["analysed_at"]
    search_fields = ["article__title", "article__canonical_url"]
    date_hierarchy = "analysed_at"
    raw_id_fields = ["article"]
    exclude = ["embedding", "sentence_embeddings"]
    actions = ["reanalyse"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ArticleAnalysis]:
        return super().get_queryset(request).select_related("article")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ArticleAnalysis | None = None) -> bool:
        # Only the models write analyses; curators read them and ask for a re-analysis.
        return False

    @admin.display(description="frames")
    def frame_list(self, analysis: ArticleAnalysis) -> str:
        return ", ".join(analysis.frame_names)

    @admin.display(description="framing model")
    def framing_version(self, analysis: ArticleAnalysis) -> str:
        return str(analysis.model_versions.get("framing", ""))

    @admin.action(description="Re-analyse the selected articles with the current models")
    def reanalyse(self, request: HttpRequest, queryset: QuerySet[ArticleAnalysis]) -> None:
        article_ids = list(queryset.order_by("article_id").values_list("article_id", flat=True))
        # Forced: a curator who asks for it wants it redone even when the versions match.
        import_string(settings.NEWSROOM_REANALYSE_ENQUEUE)(article_ids=article_ids, force=True)
        self.message_user(
            request, f"{len(article_ids)} articles queued for re-analysis; their stories refresh after.", messages.INFO
        )
