from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sources.api.serializers import OutletBriefSerializer
from sources.models import Article, Side
from stories import selectors
from stories.models import Story, StoryViewpoint
from stories.pages import (
    Claim,
    Coverage,
    EntityCount,
    FrameShare,
    OverviewSentence,
    RatingsSnapshot,
    RelatedStory,
    SnapshotRating,
    StoryArticle,
    StoryPage,
    Viewpoint,
    ViewpointSentence,
)

# A field of a side: its value type is the serializer's to choose.
SideField = serializers.Field[Any, Any, Any, Any]


class PercentField(serializers.FloatField):
    """A share in percent, to one decimal."""

    # FloatField represents a float (DRF returns float(value)); the stub says a str.
    def to_representation(self, value: float) -> float:  # type: ignore[override]
        return round(float(value), 1)


class BySideSerializer(serializers.Serializer[object]):
    """An object with one field per side, Side's values in page order, then the declared fields.

    The sides come from the data's vocabulary, not from this module: a serializer names none.
    """

    def side_field(self, side: str) -> SideField:
        raise NotImplementedError

    def get_fields(self) -> dict[str, SideField]:
        return {**{side: self.side_field(side) for side in Side.values}, **super().get_fields()}


class CoverageSerializer(BySideSerializer):
    """Articles by side as the story's last refresh counted them; unrated outlets and wire copies apart."""

    unrated = serializers.IntegerField()
    syndicated = serializers.IntegerField(
        help_text="Wire copies republished by outlets in the story, counted in no side."
    )
    shares = serializers.DictField(child=PercentField(), read_only=True, help_text="Percent of rated articles by side.")

    def side_field(self, side: str) -> SideField:
        return serializers.IntegerField(source=f"counts.{side}")


class ArticleAnalysisSerializer(serializers.Serializer[Any]):
    frames = serializers.ListField(
        source="frames_with_evidence",
        child=serializers.DictField(),
        help_text='[{"frame", "score", "sentences": [index], "evidence": [sentence text]}]: why each frame.',
    )
    tone = serializers.FloatField()
    tone_label = serializers.CharField()
    actor_tones = serializers.ListField(
        child=serializers.DictField(),
        help_text='Tone toward each main actor: {"actor", "tone" (-1 to 1), "label", "sentences", "in_headline"}.',
    )
    loaded_language = serializers.SerializerMethodField(
        help_text='Sentences flagged as loaded, with the words why: {"sentence", "words", "quoted"}; a flagged '
        'headline comes first, with "headline": true. "quoted": true where the loaded language is a source\'s the '
        "article quotes (its words the quoted ones), not the outlet's own."
    )
    entities = serializers.ListField(child=serializers.DictField())
    model_versions = serializers.DictField()

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_loaded_language(self, analysis: Any) -> list[dict[str, Any]]:
        sentences = analysis.sentences
        return [
            {
                "sentence": analysis.article.title,
                "words": flagged.get("words", []),
                "headline": True,
                "quoted": flagged.get("quoted") is True,
            }
            if flagged.get("headline") is True
            else {
                "sentence": sentences[flagged["sentence"]],
                "words": flagged.get("words", []),
                "quoted": flagged.get("quoted") is True,
            }
            for flagged in analysis.loaded_sentences
            if flagged.get("headline") is True
            or (isinstance(flagged.get("sentence"), int) and 0 <= flagged["sentence"] < len(sentences))
        ]


class ArticleSerializer(serializers.ModelSerializer[Article]):
    outlet = OutletBriefSerializer(read_only=True)
    side = serializers.CharField(source="outlet.side", read_only=True, allow_null=True)
    story = serializers.SerializerMethodField()
    # A nested serializer, built once per list: one built per article (in a method field) copied
    # its fields each time, most of the article list's time (lab/bench/pages.py, issue 21). An
    # article without an analysis reads None (DRF reads a missing one-to-one row as None).
    analysis = ArticleAnalysisSerializer(read_only=True, allow_null=True)

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


class StoryArticleSerializer(serializers.Serializer[StoryArticle]):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField()
    canonical_url = serializers.URLField()
    outlet = OutletBriefSerializer(read_only=True)
    side = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The side the article counts for in the story's coverage (its outlet's in ratings_snapshot).",
    )
    published_at = serializers.DateTimeField(allow_null=True)
    syndicated_from = serializers.IntegerField(
        source="syndicated_from_id", allow_null=True, help_text="The original this article is a wire copy of, if any."
    )


class ViewpointSentenceSerializer(serializers.Serializer[ViewpointSentence]):
    text = serializers.CharField()
    article = serializers.IntegerField(source="article_id", allow_null=True)


class FrameShareSerializer(serializers.Serializer[FrameShare]):
    frame = serializers.CharField()
    share = serializers.FloatField(help_text="The share of this side's analysed articles that use the frame.")
    distinctive = serializers.BooleanField(
        help_text="Its share here is at least 0.25 above its share in the other sides' articles."
    )


class EntityCountSerializer(serializers.Serializer[EntityCount]):
    text = serializers.CharField()
    count = serializers.IntegerField(help_text="This side's articles that name it.")
    # The API's name for it; the class attribute DRF's Field also has is not used by a nested serializer.
    label = serializers.CharField(  # type: ignore[assignment]
        allow_blank=True,
        help_text="spaCy's label (PERSON, ORG, NORP, GPE, ...); empty for a story not refreshed since it was kept.",
    )


class RelatedStorySerializer(serializers.Serializer[RelatedStory]):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField()
    reason = serializers.CharField(help_text="Why the two stories may be one: how nearly they merged.")


class ViewpointSerializer(serializers.Serializer[Viewpoint]):
    side = serializers.ChoiceField(choices=Side.choices)
    article_count = serializers.IntegerField()
    outlet_count = serializers.IntegerField()
    is_available = serializers.BooleanField()
    unavailable_reason = serializers.ChoiceField(choices=StoryViewpoint.Unavailable.choices, allow_blank=True)
    unavailable_explanation = serializers.CharField(read_only=True)
    summary = ViewpointSentenceSerializer(many=True, help_text="Representative sentences.")
    frames = FrameShareSerializer(many=True, help_text="Most used first.")
    tone = serializers.FloatField(
        allow_null=True, help_text="The mean of its articles' tone scores, -1 to 1 (null with no analysis)."
    )
    tone_counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text='How many of its analysed articles read each way: {"negative", "neutral", "positive"} '
        "(empty for a side summarised before they were counted).",
    )
    tone_label = serializers.CharField(
        help_text='The side\'s tone in words, from those counts: "neutral in 2 of 2 articles", or "mixed: …".'
    )
    entities = EntityCountSerializer(many=True, help_text="Most emphasised first.")
    related_story = RelatedStorySerializer(
        allow_null=True,
        help_text="With no article from this side: a story that nearly merged with this one and has coverage "
        "from this side (before believing the side stayed silent, look there).",
    )


class StoryListSerializer(serializers.ModelSerializer[Story]):
    id = serializers.IntegerField(source="pk", read_only=True)
    coverage = serializers.SerializerMethodField()
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

    @extend_schema_field(CoverageSerializer)
    def get_coverage(self, story: Story) -> Mapping[str, object]:
        return CoverageSerializer(selectors.story_coverage(story)).data


class SideCountsSerializer(BySideSerializer):
    """Counts by side, and the unrated apart."""

    unrated = serializers.IntegerField()

    def side_field(self, side: str) -> SideField:
        return serializers.IntegerField(source=f"counts.{side}")


class SideSharesSerializer(BySideSerializer):
    """Percent of the rated total by side."""

    def side_field(self, side: str) -> SideField:
        return PercentField(source=f"shares.{side}")


class CoverageBreakdownSerializer(serializers.Serializer[Coverage]):
    counts = SideCountsSerializer(source="*", help_text="By side, and unrated apart (outlets with no lean rating).")
    rated = serializers.IntegerField(help_text="The rated total: left + center + right.")
    shares = SideSharesSerializer(
        source="*", help_text="Percent of the rated total by side (0 everywhere when none is rated)."
    )


class OverviewSentenceSerializer(serializers.Serializer[OverviewSentence]):
    text = serializers.CharField()
    article = serializers.IntegerField(
        source="article_id", allow_null=True, help_text="The article the sentence is taken from."
    )
    citations = serializers.ListField(
        source="cited_article_ids",
        child=serializers.IntegerField(),
        help_text="Articles that state the same fact (the same-claim model's match), the sentence's own first.",
    )
    quotes = serializers.DictField(
        child=serializers.CharField(), help_text="Each cited article's own sentence that states it, by article id."
    )


class SnapshotRatingSerializer(serializers.Serializer[SnapshotRating]):
    outlet = serializers.IntegerField(source="outlet_id")
    lean = serializers.CharField(help_text="The outlet's effective lean then; empty when it was unrated.")
    rating_id = serializers.IntegerField(
        allow_null=True, help_text="The rating behind it (/api/v1/outlets/{id}/ratings/)."
    )
    rated_by = serializers.CharField(allow_blank=True)
    rated_at = serializers.DateField(allow_null=True)
    rule = serializers.CharField(allow_blank=True, help_text="The lean policy rule that chose the rating.")


class RatingsSnapshotSerializer(serializers.Serializer[RatingsSnapshot]):
    as_of = serializers.DateTimeField(allow_null=True, help_text="When the coverage was computed.")
    rules = serializers.CharField(allow_blank=True)
    outlets = SnapshotRatingSerializer(many=True)


class ClaimSidesSerializer(BySideSerializer):
    """A claim's articles by side."""

    def side_field(self, side: str) -> SideField:
        return serializers.ListField(child=serializers.IntegerField(), source=f"articles_by_side.{side}")


class ClaimSerializer(serializers.Serializer[Claim]):
    text = serializers.CharField(help_text="The wording that stands for the claim, quoted from one article.")
    article = serializers.IntegerField(source="article_id", help_text="The article that wording is quoted from.")
    sides = ClaimSidesSerializer(
        source="*", help_text="By side, the articles that stated it; an empty list: that side did not."
    )
    reported_by = serializers.ListField(child=serializers.CharField(), help_text="The sides that reported it.")
    quotes = serializers.DictField(
        child=serializers.CharField(), help_text="Each citing article's own sentence, by article id."
    )
    similar = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Citing articles whose sentence the same-claim model finds close to the wording but below its "
        "precise threshold: the same fact in other words, or only part of it (the page marks them 'Similar').",
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
        help_text="What the quotes are ranked by: the answer model's probability that the sentence answers the "
        "question (0 to 1); with the model off, cosine similarity to the question plus a weight times the share "
        "of the question's content words the sentence contains (so it may exceed 1)."
    )


class AskAnswerSerializer(serializers.Serializer[Any]):
    question = serializers.CharField()
    is_supported = serializers.BooleanField(
        help_text="False: nothing in the coverage supports an answer, and refusal_reason says so."
    )
    refusal_reason = serializers.CharField(allow_blank=True)
    refusal_detail = serializers.CharField(
        allow_blank=True,
        help_text="With a refusal, why the sentences closest to the question do not answer it, where a rule can "
        'say ("None of the sentences closest to it states a sum."); empty otherwise.',
    )
    quotes = AskQuoteSerializer(many=True)
    missing_words = serializers.ListField(
        child=serializers.CharField(),
        help_text="Words of the question that no article of the story uses: the quotes may not answer it as asked.",
    )


class TitleSourceSerializer(serializers.Serializer[StoryArticle]):
    article = serializers.IntegerField(source="id", help_text="The article's id, as in articles.")
    outlet = serializers.CharField(source="outlet.name")
    side = serializers.CharField(
        allow_null=True, help_text="left, center or right as the story counts it; null: unrated."
    )


class StoryDetailSerializer(serializers.Serializer[StoryPage]):
    """A story: the list's fields, then its coverage by articles and by outlets, overview, claims, the ratings
    snapshot the coverage was computed with, viewpoints and articles; all as of its last refresh."""

    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField()
    summary = serializers.CharField(
        help_text="One line: the lead of the article whose headline is the title (or the overview's first sentence)."
    )
    title_source = TitleSourceSerializer(
        read_only=True,
        allow_null=True,
        help_text="The article whose headline is the title (null when none's is). The page names its outlet under "
        "the title when its side is left or right.",
    )
    first_published_at = serializers.DateTimeField()
    last_published_at = serializers.DateTimeField()
    article_count = serializers.IntegerField()
    outlet_count = serializers.IntegerField()
    coverage = CoverageSerializer(read_only=True)
    refreshed_at = serializers.DateTimeField(allow_null=True)
    confidence = serializers.FloatField(
        help_text="The pair model's probability that the weakest member belongs with the others."
    )
    reclustered_at = serializers.DateTimeField(
        allow_null=True, help_text="When the clusterer last checked its membership (assign, merge or split)."
    )
    url = serializers.CharField(read_only=True)
    coverage_by_articles = CoverageBreakdownSerializer(
        source="coverage",
        read_only=True,
        help_text="Original articles by the side of their outlet; wire copies are in coverage.syndicated only.",
    )
    coverage_by_outlets = CoverageBreakdownSerializer(
        source="outlet_coverage",
        read_only=True,
        help_text="Outlets with original reporting in the story, by the side ratings_snapshot gives them.",
    )
    overview = OverviewSentenceSerializer(many=True, read_only=True, help_text="Cited sentences summing up the story.")
    claims = ClaimSerializer(
        many=True,
        read_only=True,
        help_text="What each side reported: facts first stated by all sides, then two, then one side alone.",
    )
    ratings_snapshot = RatingsSnapshotSerializer(
        source="ratings",
        read_only=True,
        help_text="The outlet ratings the coverage was computed with, so the bar can be explained later.",
    )
    viewpoints = ViewpointSerializer(many=True, read_only=True)
    articles = StoryArticleSerializer(many=True, read_only=True)
