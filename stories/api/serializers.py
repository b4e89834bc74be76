from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sources.api.serializers import OutletBriefSerializer
from sources.models import Article
from stories.models import Story, StoryViewpoint


class CoverageSerializer(serializers.Serializer[Story]):
    left = serializers.IntegerField(source="left_count")
    center = serializers.IntegerField(source="center_count")
    right = serializers.IntegerField(source="right_count")
    unrated = serializers.IntegerField(source="unrated_count")
    syndicated = serializers.IntegerField(
        source="syndicated_count", help_text="Wire copies republished by outlets in the story, counted in no side."
    )
    shares = serializers.SerializerMethodField(help_text="Percent of rated articles by side.")

    @extend_schema_field(serializers.DictField(child=serializers.FloatField()))
    def get_shares(self, story: Story) -> dict[str, float]:
        return {side: round(share, 1) for side, share in story.coverage_shares().items()}


class ArticleAnalysisSerializer(serializers.Serializer[Any]):
    frames = serializers.ListField(
        source="frames_with_evidence",
        child=serializers.DictField(),
        help_text='[{"frame", "score", "sentences": [index], "evidence": [sentence text]}]: why each frame.',
    )
    tone = serializers.FloatField()
    tone_label = serializers.CharField()
    actor_tones = serializers.ListField(
        child=serializers.DictField(), help_text="Tone of the sentences naming each actor."
    )
    loaded_language = serializers.SerializerMethodField(help_text="Sentences flagged as loaded, with the words why.")
    entities = serializers.ListField(child=serializers.DictField())
    model_versions = serializers.DictField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_loaded_language(self, analysis: Any) -> list[dict[str, Any]]:
        sentences = analysis.sentences
        return [
            {"sentence": sentences[flagged["sentence"]], "words": flagged.get("words", [])}
            for flagged in analysis.loaded_sentences
            if isinstance(flagged.get("sentence"), int) and 0 <= flagged["sentence"] < len(sentences)
        ]


class ArticleSerializer(serializers.ModelSerializer[Article]):
    outlet = OutletBriefSerializer(read_only=True)
    side = serializers.CharField(source="outlet.side", read_only=True, allow_null=True)
    story = serializers.SerializerMethodField()
    analysis = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = [
            "id",
            "title",
            "canonical_url",
            "outlet",
            "side",
            "published_at",
            "language",
            "is_title_only",
            "syndicated_from",
            "state",
            "story",
            "analysis",
        ]
        extra_kwargs = {"syndicated_from": {"help_text": "The original this article is a wire copy of, if any."}}

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_story(self, article: Article) -> int | None:
        membership = getattr(article, "membership", None)
        return membership.story_id if membership else None

    @extend_schema_field(ArticleAnalysisSerializer(allow_null=True))
    def get_analysis(self, article: Article) -> dict[str, Any] | None:
        analysis = getattr(article, "analysis", None)
        return ArticleAnalysisSerializer(analysis).data if analysis else None


class StoryArticleSerializer(serializers.ModelSerializer[Article]):
    outlet = OutletBriefSerializer(read_only=True)
    side = serializers.CharField(source="outlet.side", read_only=True, allow_null=True)

    class Meta:
        model = Article
        fields = ["id", "title", "canonical_url", "outlet", "side", "published_at", "syndicated_from"]


class ViewpointSerializer(serializers.ModelSerializer[StoryViewpoint]):
    unavailable_explanation = serializers.CharField(read_only=True)

    class Meta:
        model = StoryViewpoint
        fields = [
            "side",
            "article_count",
            "outlet_count",
            "is_available",
            "unavailable_reason",
            "unavailable_explanation",
            "summary",
            "frames",
            "tone",
            "entities",
        ]


class StoryListSerializer(serializers.ModelSerializer[Story]):
    coverage = CoverageSerializer(source="*", read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Story
        fields = [
            "id",
            "title",
            "summary",
            "first_published_at",
            "last_published_at",
            "article_count",
            "outlet_count",
            "coverage",
            "refreshed_at",
            "confidence",
            "reclustered_at",
            "url",
        ]


class StoryDetailSerializer(StoryListSerializer):
    viewpoints = ViewpointSerializer(many=True, read_only=True)
    articles = serializers.SerializerMethodField()

    class Meta(StoryListSerializer.Meta):
        fields = [*StoryListSerializer.Meta.fields, "overview", "viewpoints", "articles"]

    @extend_schema_field(StoryArticleSerializer(many=True))
    def get_articles(self, story: Story) -> list[dict[str, Any]]:
        articles = self.context.get("articles", [])
        return StoryArticleSerializer(articles, many=True).data  # type: ignore[return-value]
