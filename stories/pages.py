"""The shape of a story page, as frozen values.

``stories.selectors`` builds them once from the database (``story_page_build``); the story page's
template and the API's serializers render the same objects, so no layer reshapes the data on the
way. Everything about coverage (counts, shares, the side each article counts for) comes from one
source: what ``story_refresh`` wrote, under the ratings snapshot it took.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from analysis.models import tone_counts_words, tone_label_of
from sources.models import Side
from stories.timeline import Timeline


def frame_label(frame: str) -> str:
    """A frame's name as readers see it: "Economic", "Fairness & equality"."""
    return frame.replace("_", " ").replace(" and ", " & ")


# The claims table groups a claim by how many sides reported it.
CLAIM_KIND_ALL, CLAIM_KIND_SOME, CLAIM_KIND_ONE = "all", "some", "one"


@dataclass(frozen=True, slots=True)
class SideShare:
    """One side's count in a coverage, and its share of the rated total in percent."""

    side: str
    label: str
    count: int
    share: float

    @property
    def initial(self) -> str:
        return self.label[:1]


@dataclass(frozen=True, slots=True)
class Coverage:
    """Counts by side, every side in page order, with what counts for no side apart."""

    sides: tuple[SideShare, ...]
    unrated: int
    syndicated: int = 0

    @classmethod
    def of_counts(cls, counts: Mapping[str, int], *, unrated: int, syndicated: int = 0) -> Coverage:
        """The one formula for shares: percent of the rated total, 0 for every side when none is rated."""
        rated = sum(counts.get(side, 0) for side in Side.values)
        sides = tuple(
            SideShare(
                side=side,
                label=label,
                count=counts.get(side, 0),
                share=100.0 * counts.get(side, 0) / rated if rated else 0.0,
            )
            for side, label in Side.choices
        )
        return cls(sides=sides, unrated=unrated, syndicated=syndicated)

    @property
    def rated(self) -> int:
        return sum(entry.count for entry in self.sides)

    @property
    def counts(self) -> dict[str, int]:
        return {entry.side: entry.count for entry in self.sides}

    @property
    def shares(self) -> dict[str, float]:
        return {entry.side: entry.share for entry in self.sides}


@dataclass(frozen=True, slots=True)
class Citation:
    """An article cited on the page, by its number there: its place in the story's article list."""

    article_id: int
    # None: the article has left the story since the refresh that cited it.
    number: int | None
    # The cited article's own sentence that states the fact, when the refresh kept it.
    quote: str | None = None
    # Close to the claim's wording, not surely the same fact: maybe only part of it (a stored claim's ``similar``).
    similar: bool = False


def _numbered(citations: tuple[Citation, ...]) -> tuple[Citation, ...]:
    return tuple(sorted((citation for citation in citations if citation.number is not None), key=_number))


def _number(citation: Citation) -> int:
    return citation.number or 0


@dataclass(frozen=True, slots=True)
class OverviewSentence:
    text: str
    article_id: int | None
    # Every article that states the same, as the refresh found them.
    citations: tuple[Citation, ...]
    is_generated: bool = False
    # What a generated sentence was rewritten from.
    source: str = ""

    @property
    def numbered(self) -> tuple[Citation, ...]:
        """The citations still in the story, in page order."""
        return _numbered(self.citations)

    @property
    def cited_article_ids(self) -> tuple[int, ...]:
        return tuple(citation.article_id for citation in self.citations)

    @property
    def quotes(self) -> dict[str, str]:
        """Each cited article's own sentence, by article id (as text: JSON's keys are)."""
        return {str(citation.article_id): citation.quote for citation in self.citations if citation.quote is not None}


@dataclass(frozen=True, slots=True)
class ClaimSide:
    side: str
    label: str
    citations: tuple[Citation, ...]

    @property
    def numbered(self) -> tuple[Citation, ...]:
        return _numbered(self.citations)

    @property
    def similar_only(self) -> bool:
        """Every article of this side still cited is only close to the claim's wording (the cell says so)."""
        numbered = self.numbered
        return bool(numbered) and all(citation.similar for citation in numbered)


@dataclass(frozen=True, slots=True)
class Claim:
    """A fact of the story, with each side's articles that stated it (every side, page order)."""

    text: str
    article_id: int | None
    sides: tuple[ClaimSide, ...]

    @property
    def reported_by(self) -> tuple[str, ...]:
        return tuple(entry.side for entry in self.sides if entry.citations)

    @property
    def covering(self) -> tuple[str, ...]:
        """The sides whose citing articles are still in the story."""
        return tuple(entry.side for entry in self.sides if entry.numbered)

    @property
    def kind(self) -> str:
        covering = len(self.covering)
        if covering == len(self.sides):
            return CLAIM_KIND_ALL
        return CLAIM_KIND_SOME if covering > 1 else CLAIM_KIND_ONE

    @property
    def numbered(self) -> tuple[Citation, ...]:
        """Every side's citations still in the story, in page order."""
        return _numbered(tuple(citation for entry in self.sides for citation in entry.citations))

    @property
    def articles_by_side(self) -> dict[str, list[int]]:
        return {entry.side: [citation.article_id for citation in entry.citations] for entry in self.sides}

    @property
    def quotes(self) -> dict[str, str]:
        """Each citing article's own sentence, by article id (as text: JSON's keys are)."""
        return {
            str(citation.article_id): citation.quote
            for entry in self.sides
            for citation in entry.citations
            if citation.quote is not None
        }

    @property
    def similar(self) -> list[int]:
        """The citing articles whose sentence is close to the wording, not surely the same fact."""
        return sorted(citation.article_id for entry in self.sides for citation in entry.citations if citation.similar)


@dataclass(frozen=True, slots=True)
class ViewpointSentence:
    text: str
    article_id: int | None
    number: int | None


@dataclass(frozen=True, slots=True)
class FrameShare:
    frame: str
    share: float
    distinctive: bool


# The spaCy labels of who acts in a story: people, organisations, and nationalities, religious or
# political groups ("Democrats"); a story's places and laws are where and what, not who.
WHO_LABELS = frozenset({"PERSON", "ORG", "NORP"})


@dataclass(frozen=True, slots=True)
class EntityCount:
    text: str
    count: int
    # spaCy's label ("PERSON", "ORG", "GPE", ...); empty for a story refreshed before it was kept.
    label: str = ""

    @property
    def is_actor(self) -> bool:
        """Whether it names who acts (``WHO_LABELS``); an entity kept without its label counts as one."""
        return not self.label or self.label in WHO_LABELS


@dataclass(frozen=True, slots=True)
class RelatedStory:
    """A story that nearly merged with this one and has coverage from a side this one lacks."""

    id: int
    title: str
    url: str
    reason: str


@dataclass(frozen=True, slots=True)
class Viewpoint:
    """One side's coverage and its analysis, or the reason there is none."""

    side: str
    label: str
    article_count: int
    outlet_count: int
    is_available: bool
    # A StoryViewpoint.Unavailable value; empty when the analysis is available.
    unavailable_reason: str
    unavailable_explanation: str
    summary: tuple[ViewpointSentence, ...]
    frames: tuple[FrameShare, ...]
    tone: float | None
    entities: tuple[EntityCount, ...]
    # Where this side's coverage may be when it has no article here (None: nowhere we know of).
    related_story: RelatedStory | None = None
    # How many of its analysed articles read each way (empty for a side summarised before).
    tone_counts: dict[str, int] = field(default_factory=dict)

    @property
    def actors(self) -> tuple[EntityCount, ...]:
        """The people, organisations and groups the side's articles name most (not its places or laws)."""
        return tuple(entity for entity in self.entities if entity.is_actor)

    @property
    def tone_label(self) -> str:
        """The side's tone toward the actors its articles name, in words ("" with no analysis): how
        its articles read ("neutral in 2 of 2 articles"), as each article's own label says; a side
        summarised before they were counted falls back to its mean score's word."""
        return tone_counts_words(self.tone_counts) or tone_label_of(self.tone)


@dataclass(frozen=True, slots=True)
class OutletBrief:
    """An outlet as it is now: its name, and its current rating (the badge beside its articles)."""

    id: int
    name: str
    slug: str
    lean: str
    side: str | None
    factuality: str
    factuality_label: str


@dataclass(frozen=True, slots=True)
class ArticleFrame:
    frame: str
    # The sentences that carry the frame: why the article was tagged.
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ArticleTags:
    """What the article list shows of an article's analysis."""

    frames: tuple[ArticleFrame, ...]
    tone_label: str
    # The actors the tone is toward, when it is not neutral (``ArticleAnalysis.tone_toward``).
    tone_toward: tuple[str, ...]
    # Each sentence flagged as loaded in the outlet's own voice, as (text, is_loaded) parts.
    loaded_highlights: tuple[tuple[tuple[str, bool], ...], ...]
    # The headline as (text, is_loaded) parts when it is flagged in the outlet's voice, else empty.
    loaded_headline: tuple[tuple[str, bool], ...]
    # The same for loaded language the article quotes: a source's words, not the outlet's.
    quoted_highlights: tuple[tuple[tuple[str, bool], ...], ...] = ()
    quoted_headline: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class StoryArticle:
    id: int
    # Its citation number: [n] means this article everywhere on the page.
    number: int
    title: str
    canonical_url: str
    outlet: OutletBrief
    # The side it counts for in the story's coverage: its outlet's in the ratings snapshot.
    side: str | None
    published_at: datetime | None
    sort_time: datetime
    syndicated_from_id: int | None
    analysis: ArticleTags | None

    @property
    def is_syndicated(self) -> bool:
        return self.syndicated_from_id is not None


@dataclass(frozen=True, slots=True)
class SnapshotRating:
    """An outlet's rating when the coverage was computed."""

    outlet_id: int
    # Empty when the outlet was unrated then.
    lean: str
    rating_id: int | None
    rated_by: str
    rated_at: date | None
    rule: str


@dataclass(frozen=True, slots=True)
class RatingsSnapshot:
    """The ratings the story's coverage was computed with, and when."""

    as_of: datetime | None
    # The lean policy rules that chose them, for the page's one line.
    rules: str
    outlets: tuple[SnapshotRating, ...]


@dataclass(frozen=True, slots=True)
class SideColumn:
    """One side's column: its viewpoint (None when the story has no row for the side) and articles."""

    side: str
    label: str
    viewpoint: Viewpoint | None
    articles: tuple[StoryArticle, ...]


@dataclass(frozen=True, slots=True)
class FaqQuote:
    text: str
    article_id: int
    number: int
    outlet: str
    # What the quote answers, for an answer in parts ("Left: more about economic", "First reported on ...").
    label: str = ""


@dataclass(frozen=True, slots=True)
class FaqEntry:
    question: str
    quotes: tuple[FaqQuote, ...]
    # Written from the story itself (stories.faq), not asked by a reader and approved by a curator.
    is_generated: bool = False


@dataclass(frozen=True, slots=True)
class StoryPage:
    """Everything a story's page and its API detail show."""

    id: int
    title: str
    summary: str
    url: str
    first_published_at: datetime
    last_published_at: datetime
    article_count: int
    outlet_count: int
    refreshed_at: datetime | None
    confidence: float
    reclustered_at: datetime | None
    # Original articles by side, as the refresh counted them; wire copies and unrated apart.
    coverage: Coverage
    # Outlets with original reporting, by the side the same snapshot gives them.
    outlet_coverage: Coverage
    ratings: RatingsSnapshot
    # The stored viewpoints, in page order (a story refreshed once has one per side).
    viewpoints: tuple[Viewpoint, ...]
    columns: tuple[SideColumn, ...]
    overview: tuple[OverviewSentence, ...]
    claims: tuple[Claim, ...]
    # In time order; an article's number is its place here.
    articles: tuple[StoryArticle, ...]
    timeline: Timeline
    faq: tuple[FaqEntry, ...] = ()
    # The article list shows one side ("left", ..., or "unrated"), or every article when empty.
    side_filter: str = ""

    @property
    def unrated_articles(self) -> tuple[StoryArticle, ...]:
        return tuple(article for article in self.articles if article.side is None)

    @property
    def listed_articles(self) -> tuple[StoryArticle, ...]:
        if self.side_filter == "unrated":
            return self.unrated_articles
        if self.side_filter:
            return tuple(article for article in self.articles if article.side == self.side_filter)
        return self.articles

    @property
    def title_source(self) -> StoryArticle | None:
        """The article whose headline is the title (original reporting first, then the earliest)."""
        same = [article for article in self.articles if article.title == self.title]
        return min(same, key=lambda article: (article.is_syndicated, article.number), default=None)

    @property
    def title_side(self) -> str | None:
        """The side ("left" or "right") whose outlet wrote the title, when it is one side's headline: the
        page names its outlet under it, so a reader knows whose words they are."""
        source = self.title_source
        return source.side if source is not None and source.side in {"left", "right"} else None

    @property
    def header_summary(self) -> str:
        """The summary under the title, unless the overview just below quotes it (with its citations)."""
        return "" if any(sentence.text == self.summary for sentence in self.overview) else self.summary

    @property
    def faq_generated(self) -> tuple[FaqEntry, ...]:
        return tuple(entry for entry in self.faq if entry.is_generated)

    @property
    def faq_approved(self) -> tuple[FaqEntry, ...]:
        return tuple(entry for entry in self.faq if not entry.is_generated)

    @property
    def shown_claims(self) -> tuple[Claim, ...]:
        """The claims the page's table shows: those that an article still in the story states."""
        return tuple(claim for claim in self.claims if claim.covering)
