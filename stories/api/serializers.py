from __future__ import annotations

from typing import Any

from django.conf import settings
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
    id = serializers.IntegerField(source="pk", read_only=True)
    coverage = CoverageSerializer(source="*", read_only=True)
    # The clusterer's figures, read from the story's cluster.
    confidence = serializers.FloatField(
        source="cluster.confidence",
        read_only=True,
        help_text="The pair model's probability that the weakest member belongs with the others.",
    )
    reclustered_at = serializers.DateTimeField(
        source="cluster.reclustered_at",
        read_only=True,
        help_text="When the clusterer last changed its membership (assign, merge or split).",
    )
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


class SideCountsSerializer(serializers.Serializer[Any]):
    left = serializers.IntegerField()
    center = serializers.IntegerField()
    right = serializers.IntegerField()
    unrated = serializers.IntegerField()


class SideSharesSerializer(serializers.Serializer[Any]):
    left = serializers.FloatField()
    center = serializers.FloatField()
    right = serializers.FloatField()


class CoverageBreakdownSerializer(serializers.Serializer[Any]):
    counts = SideCountsSerializer(help_text="By side, and unrated apart (outlets with no lean rating).")
    rated = serializers.IntegerField(help_text="The rated total: left + center + right.")
    shares = SideSharesSerializer(help_text="Percent of the rated total by side (0 everywhere when none is rated).")


class OverviewSentenceSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()
    article = serializers.IntegerField(allow_null=True, help_text="The article the sentence is taken from.")
    citations = serializers.ListField(child=serializers.IntegerField(), help_text="Articles that say the same.")


class SnapshotRatingSerializer(serializers.Serializer[Any]):
    outlet = serializers.IntegerField()
    lean = serializers.CharField(help_text="The outlet's effective lean then; empty when it was unrated.")
    rating_id = serializers.IntegerField(
        allow_null=True, help_text="The rating behind it (/api/v1/outlets/{id}/ratings/)."
    )
    rated_by = serializers.CharField(allow_blank=True)
    rated_at = serializers.DateField(allow_null=True)
    rule = serializers.CharField(allow_blank=True, help_text="The lean policy rule that chose the rating.")


class RatingsSnapshotSerializer(serializers.Serializer[Any]):
    as_of = serializers.DateTimeField(allow_null=True, help_text="When the coverage was computed.")
    rules = serializers.CharField(allow_blank=True)
    outlets = SnapshotRatingSerializer(many=True)


class ClaimSidesSerializer(serializers.Serializer[Any]):
    left = serializers.ListField(child=serializers.IntegerField())
    center = serializers.ListField(child=serializers.IntegerField())
    right = serializers.ListField(child=serializers.IntegerField())


class ClaimSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(help_text="The wording that stands for the claim, quoted from one article.")
    article = serializers.IntegerField(help_text="The article that wording is quoted from.")
    sides = ClaimSidesSerializer(help_text="By side, the articles that stated it; an empty list: that side did not.")
    reported_by = serializers.ListField(child=serializers.CharField(), help_text="The sides that reported it.")
    quotes = serializers.DictField(
        child=serializers.CharField(), help_text="Each citing article's own sentence, by article id."
    )


class AskInputSerializer(serializers.Serializer[Any]):
    question = serializers.CharField(
        max_length=settings.NEWSROOM_ASK_MAX_CHARS, help_text="A reader's question about the story."
    )


class AskQuoteSerializer(serializers.Serializer[Any]):
    text = serializers.CharField(help_text="A sentence quoted verbatim from one of the story's articles.")
    article_id = serializers.IntegerField()
    number = serializers.IntegerField(help_text="The citation number [n]: the article's place on the story page.")
    outlet = serializers.CharField()
    side = serializers.CharField(allow_null=True)
    score = serializers.FloatField(
        help_text="What the quotes are ranked by: cosine similarity to the question plus a weight times the share "
        "of the question's content words the sentence contains (so it may exceed 1)."
    )


class AskAnswerSerializer(serializers.Serializer[Any]):
    question = serializers.CharField()
    is_supported = serializers.BooleanField(
        help_text="False: nothing in the coverage supports an answer, and refusal_reason says so."
    )
    refusal_reason = serializers.CharField(allow_blank=True)
    quotes = AskQuoteSerializer(many=True)


def breakdown(counts: dict[str, int]) -> dict[str, Any]:
    rated = counts["left"] + counts["center"] + counts["right"]
    shares = {side: round(100.0 * counts[side] / rated, 1) if rated else 0.0 for side in ("left", "center", "right")}
    return {"counts": counts, "rated": rated, "shares": shares}


class StoryDetailSerializer(StoryListSerializer):
    """Needs ``context["articles"]``: the story's articles with their outlets (stories.selectors.story_articles)."""

    coverage_by_articles = serializers.SerializerMethodField(
        help_text="Original articles by the side of their outlet; wire copies are in coverage.syndicated only."
    )
    coverage_by_outlets = serializers.SerializerMethodField(
        help_text="Outlets with original reporting in the story, by side."
    )
    overview = serializers.SerializerMethodField(help_text="Cited sentences summing up the story.")
    claims = serializers.SerializerMethodField(
        help_text="What each side reported: facts first stated by all sides, then two, then one side alone."
    )
    ratings_snapshot = serializers.SerializerMethodField(
        help_text="The outlet ratings the coverage was computed with, so the bar can be explained later."
    )
    viewpoints = ViewpointSerializer(many=True, read_only=True)
    articles = serializers.SerializerMethodField()

    class Meta(StoryListSerializer.Meta):
        fields = [
            *StoryListSerializer.Meta.fields,
            "coverage_by_articles",
            "coverage_by_outlets",
            "overview",
            "claims",
            "ratings_snapshot",
            "viewpoints",
            "articles",
        ]

    @extend_schema_field(ClaimSerializer(many=True))
    def get_claims(self, story: Story) -> list[dict[str, Any]]:
        claims = []
        for claim in story.claims:
            sides = {side: list(claim.get("sides", {}).get(side, [])) for side in ("left", "center", "right")}
            claims.append(
                {
                    "text": str(claim.get("text", "")),
                    "article": claim.get("article"),
                    "sides": sides,
                    "reported_by": [side for side, articles in sides.items() if articles],
                    "quotes": {str(key): str(value) for key, value in claim.get("quotes", {}).items()},
                }
            )
        return claims

    @extend_schema_field(RatingsSnapshotSerializer)
    def get_ratings_snapshot(self, story: Story) -> dict[str, Any]:
        outlets = [
            {
                "outlet": int(outlet_id),
                "lean": entry.get("lean", ""),
                "rating_id": entry.get("rating_id"),
                "rated_by": entry.get("rated_by", ""),
                "rated_at": entry.get("rated_at"),
                "rule": entry.get("rule", ""),
            }
            for outlet_id, entry in sorted(story.ratings_snapshot.items(), key=lambda item: int(item[0]))
        ]
        return {"as_of": story.ratings_as_of, "rules": story.ratings_rules, "outlets": outlets}

    @extend_schema_field(CoverageBreakdownSerializer)
    def get_coverage_by_articles(self, story: Story) -> dict[str, Any]:
        return breakdown(
            {
                "left": story.left_count,
                "center": story.center_count,
                "right": story.right_count,
                "unrated": story.unrated_count,
            }
        )

    @extend_schema_field(CoverageBreakdownSerializer)
    def get_coverage_by_outlets(self, story: Story) -> dict[str, Any]:
        outlets: dict[str, set[int]] = {"left": set(), "center": set(), "right": set(), "unrated": set()}
        for article in self.context.get("articles", []):
            if article.syndicated_from_id is None:
                outlets[article.outlet.side or "unrated"].add(article.outlet_id)
        return breakdown({side: len(ids) for side, ids in outlets.items()})

    @extend_schema_field(OverviewSentenceSerializer(many=True))
    def get_overview(self, story: Story) -> list[dict[str, Any]]:
        return [
            {
                "text": str(sentence.get("text", "")),
                "article": sentence.get("article"),
                "citations": list(sentence.get("citations", [])),
            }
            for sentence in story.overview
            if isinstance(sentence, dict)
        ]

    @extend_schema_field(StoryArticleSerializer(many=True))
    def get_articles(self, story: Story) -> list[dict[str, Any]]:
        articles = self.context.get("articles", [])
        return StoryArticleSerializer(articles, many=True).data  # type: ignore[return-value]
