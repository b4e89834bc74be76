"""Writes of the stories stage: a story's page data, built from its cluster (``story_refresh``)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analysis.models import TONE_LABELS, ArticleAnalysis
from analysis.nlp import tone
from analysis.nlp.claims import SentencePool, claim_groups, overview_rows
from analysis.nlp.entities import Mention, actors_resolve, surface_clean
from analysis.nlp.same_claim import SameClaimModel, same_claim_model
from analysis.nlp.summarise import Matrix as Vector
from analysis.nlp.summarise import sentences_select, stands_alone, states_a_fact, unit
from analysis.nlp.target_tone import tone_model
from analysis.services import encoder_configured
from clustering.models import Cluster, StoryPairCandidate
from sources.models import Article, Outlet, OutletRating, Side, side_of_lean
from stories.generation import overview_rewrite
from stories.models import Story, StoryViewpoint

logger = logging.getLogger(__name__)

OVERVIEW_SENTENCES = 4
# ... and no more words than an editor's neutral roundup has (its first sentence always stays): a long
# overview, made of several articles' sentences, says more than any one side did (NeuS, docs/models.md).
OVERVIEW_MAX_WORDS = 80
VIEWPOINT_SENTENCES = 3
# Whether two sentences of different articles state the same fact is the same-claim model's call
# (analysis.nlp.same_claim): a sentence cites an article at its `precise` threshold, and a fact is
# one side's alone only when no other side's sentence reaches its `recall` threshold.
# The overview and the title prefer what the center (and wire services, rated for no side) wrote:
# the closest to neutral wording a story has (issue 17: the title was often one side's headline).
NEUTRAL_SIDE_BONUS = 0.15
# The overview prefers plainly worded sentences: this much less relevance per unit of a sentence's
# sentiment strength, since strongly positive or negative wording is what the NeuS framing-bias
# metric counts (docs/models.md). Chosen with VADER's |compound| (0 to 1); it now reads the tone
# model's score of the sentence toward itself (tone.sentence_tones), which the fine-tuned model of
# issue 18 makes larger for plain facts ("The board voted to raise the fare.": +0.36, the frozen
# head +0.12, VADER 0). evaluate_neutrality with it: page 3.57 and 3.58 on the two AllSides parts, as
# before (docs/models.md).
OVERVIEW_POLARITY_PENALTY = 0.4
# A headline's loaded words weigh more than any difference in centrality; a neutral source's comes next.
TITLE_LOADED_PENALTY = 0.3
TITLE_NEUTRAL_BONUS = 0.5
# The claims table: facts several articles stated first, then a few each side alone reported.
CLAIMS_SHARED = 10
CLAIMS_ONE_SIDED_PER_SIDE = 2


# --- Refresh ------------------------------------------------------------------


class _Member:
    """An article of the story with what the refresh needs of it."""

    def __init__(self, article: Article) -> None:
        self.article = article
        self.analysis: ArticleAnalysis | None = getattr(article, "analysis", None)
        self.side: str | None = article.outlet.side
        self.sentences: list[str] = self.analysis.sentences if self.analysis else []
        self.matrix = self.analysis.sentence_matrix if self.analysis and self.sentences else None
        # Sentences the page's own wording (summary, overview) avoids: those the loaded-language model
        # flagged, and those with a charged word of its lexicon outside quotations. The page speaks in
        # no side's words, so it errs on the side of leaving a sentence out (the overview's choices
        # were measured with the lexicon: docs/models.md, neutral headings).
        flagged = {
            item["sentence"]
            for item in (self.analysis.loaded_sentences if self.analysis else [])
            if isinstance(item.get("sentence"), int)
        }
        charged = {index for index, text in enumerate(self.sentences) if tone.lexicon_words(text)}
        self.loaded = flagged | charged
        # Sentences that are not the article's statement of a fact: questions, and pieces of a longer
        # quotation cut off from its speaker ('Where was the Guard?"'). The page never words anything in
        # them (the overview, a claim, a side's summary), even when nothing else is left; they still show
        # that their article reported a fact another sentence states (a quotation's second sentence).
        self.unstated = {index for index, text in enumerate(self.sentences) if not states_a_fact(text)}
        # Sentences that cannot be read without the one before them ("... repay part of that money"):
        # the page words a fact in them only when no other sentence states it (``summarise.stands_alone``).
        self.dependent = {index for index, text in enumerate(self.sentences) if not stands_alone(text)}
        # Each sentence's tone toward itself where the analysis read it, by the tone model of this version.
        self.sentence_tones: list[float | None] = list(self.analysis.sentence_tones) if self.analysis else []
        self.tone_version: str = str(self.analysis.model_versions.get("tone", "")) if self.analysis else ""

        # Set by the refresh: other outlets of the story republished this article (a wire report).
        self.is_copied = False

    @property
    def is_neutral_source(self) -> bool:
        """Center-rated, or a wire report that outlets of the story republished, from an outlet rated for no side."""
        return self.side == Side.CENTER or (self.side is None and self.is_copied)


def _sentence_pool(members: list[_Member]) -> tuple[SentencePool, list[tuple[_Member, int]]]:
    """The members' sentences as one pool, and for each row the member and the sentence's index."""
    with_sentences = [member for member in members if member.matrix is not None]
    pool = SentencePool.of(
        [
            (member.matrix, member.article.pk, member.side or "", member.sentences)
            for member in with_sentences
            if member.matrix is not None
        ]
    )
    owners = [(member, index) for member in with_sentences for index in range(len(member.sentences))]
    return pool, owners


def _same_claim_model() -> SameClaimModel:
    return same_claim_model(
        settings.NEWSROOM_SAME_CLAIM_MODEL,
        settings.NEWSROOM_SAME_CLAIM_CROSS_ENCODER,
        settings.NEWSROOM_EMBEDDING_MODEL,
        settings.NEWSROOM_ENCODER_BACKEND,
        settings.NEWSROOM_ENCODER_ONNX_DIR,
    )


def _overview(members: list[_Member], centroid: Vector) -> list[dict[str, Any]]:
    """Central, non-redundant sentences, preferring facts several sides reported and neutral sources'
    wording, leaving out loaded language; each cites every article with a sentence the same-claim model
    matches, with that sentence (its ``quotes``)."""
    pool, owners = _sentence_pool(members)
    model = _same_claim_model()
    loaded, neutral, polarity_penalty = _wording_preferences(pool, owners)

    overview: list[dict[str, Any]] = []
    words = 0
    for row, cited in overview_rows(
        pool,
        centroid,
        pool.matches(model),
        count=OVERVIEW_SENTENCES,
        threshold=model.precise,
        reported_threshold=model.recall,
        select=sentences_select,
        excluded=loaded,
        bonus=neutral,
        penalty=polarity_penalty,
        unworded=_unworded(owners),
    ):
        owner, index = owners[row]
        words += len(owner.sentences[index].split())
        if overview and words > OVERVIEW_MAX_WORDS:
            break
        overview.append(
            {
                "text": owner.sentences[index],
                "article": owner.article.pk,
                "citations": list(cited),
                "quotes": {
                    str(article): owners[quoted][0].sentences[owners[quoted][1]] for article, quoted in cited.items()
                },
            }
        )
    return overview


def _wording_preferences(
    pool: SentencePool, owners: list[tuple[_Member, int]]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], Callable[[Sequence[int]], np.ndarray[Any, Any]]]:
    """What the page prefers when it words a fact in an article's sentence (the overview, a claim):
    for each row, whether to avoid it unless nothing else states the fact (loaded language, or a sentence
    that cannot be read on its own), the bonus of a neutral source's wording, and the penalty of a
    sentence's polarity (``OVERVIEW_POLARITY_PENALTY`` times the tone model's score of it toward
    itself, asked only of the rows given)."""
    avoided = np.array([index in member.loaded or index in member.dependent for member, index in owners], dtype=bool)
    neutral = NEUTRAL_SIDE_BONUS * np.array([member.is_neutral_source for member, _ in owners], dtype=np.float32)

    def polarity_penalty(rows: Sequence[int]) -> np.ndarray[Any, Any]:
        # The analysis's reading where it made one with this tone model; the model for the rest.
        version = tone_model().version
        stored: dict[int, float] = {}
        for row in rows:
            member, index = owners[row]
            if member.tone_version == version and index < len(member.sentence_tones):
                value = member.sentence_tones[index]
                if value is not None:
                    stored[row] = float(value)
        asked = [row for row in rows if row not in stored]
        if asked:
            texts = [pool.texts[row] for row in asked]
            stored.update(zip(asked, tone.sentence_tones(texts, encoder_configured()), strict=True))
        return OVERVIEW_POLARITY_PENALTY * np.abs(np.array([stored[row] for row in rows], dtype=np.float32))

    return avoided, neutral, polarity_penalty


def _unworded(owners: list[tuple[_Member, int]]) -> np.ndarray[Any, Any]:
    """For each row of a pool, whether the page may never word anything in it (``_Member.unstated``)."""
    return np.array([index in member.unstated for member, index in owners], dtype=bool)


def _claims(members: list[_Member], centroid: Vector) -> list[dict[str, Any]]:
    """The facts of the story, each with the articles of each side that stated it (``claim_groups``); a fact
    several articles stated is worded as the overview words one (``_wording_preferences``)."""
    pool, owners = _sentence_pool([member for member in members if member.side])
    model = _same_claim_model()
    loaded, neutral, polarity_penalty = _wording_preferences(pool, owners)

    matches = pool.matches(model)

    def claim(text_row: int, group: list[int]) -> dict[str, Any]:
        owner, index = owners[text_row]
        sides: dict[str, list[int]] = {side: [] for side in Side.values}
        for row in group:
            sides[str(owners[row][0].side)].append(owners[row][0].article.pk)
        return {
            "text": owner.sentences[index],
            "article": owner.article.pk,
            "sides": {side: sorted(pks) for side, pks in sides.items()},
            "quotes": {str(owners[row][0].article.pk): owners[row][0].sentences[owners[row][1]] for row in group},
            # Articles whose sentence the same-claim model finds close to the wording but does not match
            # to it at its precise threshold: the same fact in other words, or only part of it (the
            # widening's recall-level members, kept so a side is not shown silent). The page marks them
            # "Similar" rather than saying they reported the wording.
            "similar": sorted(
                owners[row][0].article.pk for row in group if row != text_row and matches[text_row, row] < model.precise
            ),
        }

    groups = claim_groups(
        pool,
        centroid,
        matches,
        precise=model.precise,
        recall=model.recall,
        shared=CLAIMS_SHARED,
        one_sided_per_side=CLAIMS_ONE_SIDED_PER_SIDE,
        sides=Side.values,
        excluded=loaded,
        bonus=neutral,
        penalty=polarity_penalty,
        unworded=_unworded(owners),
        dependent=np.array([index in member.dependent for member, index in owners], dtype=bool),
    )
    return [claim(text_row, group) for text_row, group in groups]


def _viewpoint_fields(members: list[_Member], story_members: list[_Member]) -> dict[str, Any]:
    analysed = [member for member in members if member.analysis is not None]
    if not analysed:
        return {"summary": [], "frames": [], "tone": None, "tone_counts": {}, "entities": []}
    vectors = np.vstack([member.analysis.vector for member in analysed if member.analysis])
    side_centroid = unit(vectors.mean(axis=0))
    pool, owners = _sentence_pool(analysed)
    stated = np.nonzero(~_unworded(owners))[0] if owners else np.zeros(0, dtype=int)
    # What the side reported, quoted apart from its articles: sentences that read on their own, if any.
    alone = [row for row in stated if owners[row][1] not in owners[row][0].dependent]
    stated = np.array(alone, dtype=int) if alone else stated
    chosen = (
        [int(stated[row]) for row in sentences_select(pool.matrix[stated], side_centroid, count=VIEWPOINT_SENTENCES)]
        if len(stated)
        else []
    )
    summary = [
        {"text": owners[row][0].sentences[owners[row][1]], "article": owners[row][0].article.pk} for row in chosen
    ]

    def frame_shares(group: list[_Member]) -> dict[str, float]:
        counts: Counter[str] = Counter()
        with_analysis = [member for member in group if member.analysis is not None]
        for member in with_analysis:
            counts.update(member.analysis.frame_names if member.analysis else [])
        return {frame: count / len(with_analysis) for frame, count in counts.items()} if with_analysis else {}

    own = frame_shares(analysed)
    others = frame_shares([member for member in story_members if member not in members])
    frames = [
        {"frame": frame, "share": round(share, 3), "distinctive": share - others.get(frame, 0.0) >= 0.25}
        for frame, share in sorted(own.items(), key=lambda item: (-item[1], item[0]))
    ]
    # One actor however each article spelt it ("Zelensky", "Zelenskyy"): names resolved over the whole story.
    story_mentions = [
        Mention(entity["text"], entity.get("label", ""), entity.get("count", 1))
        for member in story_members
        if member.analysis
        for entity in member.analysis.entities
    ]
    actor_names = actors_resolve(story_mentions)
    # spaCy's label of each actor, the one its mentions carry most over the whole story ("PERSON", "ORG",
    # "GPE", ...): the small model tags the town of Millbrook a group (NORP) in one side's articles and
    # a place in the others', and one side's column should not list the town among its actors.
    entity_labels: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for mention in story_mentions:
        entity_labels[actor_names.get(surface_clean(mention.text), mention.text)][mention.label] += mention.count
    entity_counts: Counter[str] = Counter()
    for member in analysed:
        if member.analysis:
            entity_counts.update(
                {
                    actor_names.get(surface_clean(entity["text"]), entity["text"])
                    for entity in member.analysis.entities[:8]
                }
            )
    tones = [member.analysis.tone for member in analysed if member.analysis]
    labels = Counter(member.analysis.tone_label for member in analysed if member.analysis)
    return {
        "summary": summary,
        "frames": frames,
        "tone": round(sum(tones) / len(tones), 4),
        "tone_counts": {label: labels[label] for label in TONE_LABELS},
        "entities": [
            {"text": text, "count": count, "label": entity_labels[text].most_common(1)[0][0]}
            for text, count in entity_counts.most_common(6)
        ],
    }


def _title_score(member: _Member, centroid: Vector) -> float:
    """How well an article's headline heads the story: close to what all sides share, no loaded words,
    and a neutral source's (center-rated or a wire service) over one side's."""
    centrality = float(member.analysis.vector @ centroid) if member.analysis else 0.0
    # The lexicon's words, not the loaded-language model's verdict: a headline is ranked, not labelled
    # for readers, and one charged word is reason enough to prefer another outlet's (the weights
    # were chosen with the lexicon: docs/models.md, neutral headings).
    loaded = len(tone.lexicon_words(member.article.title))
    neutral = member.is_neutral_source
    return centrality - TITLE_LOADED_PENALTY * loaded + (TITLE_NEUTRAL_BONUS if neutral else 0.0)


def _heading_member(members: list[_Member], centroid: Vector) -> _Member | None:
    """The article whose headline (and lead) head the story page (``_title_score``); original reporting
    first, wire copies only when nothing else has a headline."""
    originals = [member for member in members if not member.article.is_syndicated] or members
    return max(originals, key=lambda member: _title_score(member, centroid), default=None)


def _summary(heading: _Member | None, overview: list[dict[str, Any]]) -> str:
    """The story's one line: the lead of the article that gives the title, unless it is loaded or cannot be
    read on its own; else the overview's first sentence."""
    if heading is not None and heading.sentences and 0 not in heading.loaded | heading.unstated | heading.dependent:
        return heading.sentences[0]
    return overview[0]["text"] if overview else ""


def ratings_snapshot_of(outlets: list[Outlet]) -> dict[str, dict[str, Any]]:
    """The ratings coverage is computed with: each outlet's effective lean and the rating behind it."""
    ratings = {
        rating.pk: rating
        for rating in OutletRating.objects.filter(pk__in={outlet.effective_rating_id for outlet in outlets})
    }
    snapshot = {}
    for outlet in outlets:
        rating = ratings.get(outlet.effective_rating_id)
        snapshot[str(outlet.pk)] = {
            "lean": outlet.lean,
            "rating_id": rating.pk if rating else None,
            "rated_by": rating.rated_by if rating else "",
            "rated_at": rating.rated_at.isoformat() if rating else None,
            "rule": outlet.lean_rule,
        }
    return snapshot


def _related_coverage(story_id: int) -> dict[str, tuple[int, str]]:
    """For each side, the most probable story that nearly merged with this one (an open near miss of the
    merge pass) and has original coverage from that side now, with the reason for the page: where a
    reader should look before believing that the side stayed silent. Two queries."""
    pairs = list(
        StoryPairCandidate.objects.filter(
            Q(story_id=story_id) | Q(other_id=story_id), status=StoryPairCandidate.Status.OPEN
        )
        .order_by("-probability", "pk")
        .values_list("story_id", "other_id", "probability")
    )
    if not pairs:
        return {}
    others = [(other if first == story_id else first, probability) for first, other, probability in pairs]
    sides: dict[int, set[str]] = defaultdict(set)
    rows = Article.objects.filter(
        membership__cluster_id__in=[other for other, _ in others], syndicated_from__isnull=True
    ).values_list("membership__cluster_id", "outlet__lean")
    for cluster_id, lean in rows:
        if side := side_of_lean(lean):
            sides[cluster_id].add(side)
    related: dict[str, tuple[int, str]] = {}
    for other, probability in others:
        for side in sorted(sides[other] - set(related)):
            related[side] = (
                other,
                f"It nearly joined this story: its articles are alike with these on average "
                f"(probability {probability:.2f}), below the level at which stories merge on their own.",
            )
    return related


def story_refresh(*, story_id: int) -> Story | None:
    """Build or rebuild the page of the cluster ``story_id``: title, coverage by side, viewpoints,
    overview and claims, from its members as they are now.

    The only writer of ``Story`` and its viewpoints; the cluster itself is read, never written.
    Uses each outlet's current rating. Safe to run any number of times; None when the cluster
    no longer exists (merged away: its page went with it).
    """
    cluster = Cluster.objects.filter(pk=story_id).first()
    if cluster is None:
        return None
    articles = list(
        Article.objects.filter(membership__cluster_id=story_id)
        .select_related("outlet", "analysis")
        .order_by("published_at", "pk")
    )
    members = [_Member(article) for article in articles]
    copied = {member.article.syndicated_from_id for member in members if member.article.is_syndicated}
    for member in members:
        member.is_copied = member.article.pk in copied
    with_vectors = [member for member in members if member.analysis is not None]
    # Sides are counted and analysed over original reporting only; wire copies are counted apart.
    originals = [member for member in members if not member.article.is_syndicated]
    copies_by_side: dict[str | None, int] = Counter(member.side for member in members if member.article.is_syndicated)
    by_side: dict[str | None, list[_Member]] = defaultdict(list)
    for member in originals:
        by_side[member.side].append(member)

    centroid = None
    if with_vectors:
        # The clusterer's formula (clustering.scoring.StorySignal), over the analyses as they are now.
        centroid = unit(np.vstack([member.analysis.vector for member in with_vectors if member.analysis]).sum(axis=0))
        overview = _overview(originals, centroid)
        # Outside the transaction: the optional generation endpoint may take seconds to answer.
        overview = overview_rewrite(overview) or overview
        claims = _claims(originals, centroid)

    with transaction.atomic():
        story, _created = Story.objects.select_for_update().get_or_create(
            cluster=cluster,
            defaults={"first_published_at": cluster.first_published_at, "last_published_at": cluster.last_published_at},
        )
        if centroid is not None:
            heading = _heading_member([member for member in with_vectors if member.article.title], centroid)
            if heading is not None:
                story.title = heading.article.title
                story.title_outlet = heading.article.outlet.name
                story.title_side = heading.side or ""
            story.overview = overview
            story.claims = claims
            story.summary = _summary(heading, overview)
        story.article_count = len(members)
        story.outlet_count = len({member.article.outlet_id for member in members})
        story.left_count = len(by_side[Side.LEFT])
        story.center_count = len(by_side[Side.CENTER])
        story.right_count = len(by_side[Side.RIGHT])
        story.unrated_count = len(by_side[None])
        story.syndicated_count = len(members) - len(originals)
        if members:
            times = [member.article.sort_time for member in members]
            story.first_published_at, story.last_published_at = min(times), max(times)
        story.refreshed_at = timezone.now()
        story.ratings_snapshot = ratings_snapshot_of(list({member.article.outlet for member in members}))
        story.ratings_as_of = story.refreshed_at
        story.save()

        minimum = max(1, settings.NEWSROOM_VIEWPOINT_MIN_ARTICLES)
        related = _related_coverage(story.pk)
        for side in Side.values:
            side_members = by_side[side]
            analysed = [member for member in side_members if member.analysis is not None]
            fields: dict[str, Any] = {
                "article_count": len(side_members),
                "outlet_count": len({member.article.outlet_id for member in side_members}),
                "is_available": len(analysed) >= minimum,
                "unavailable_reason": "",
                "related_story_id": None,
                "related_reason": "",
            }
            if not side_members and side in related:
                fields["related_story_id"], fields["related_reason"] = related[side]
            if len(analysed) >= minimum:
                fields.update(_viewpoint_fields(side_members, originals))
            else:
                if side_members:
                    # Covered, but not enough to summarise: the column lists the articles and says no more.
                    reason = StoryViewpoint.Unavailable.TOO_FEW
                elif copies_by_side[side]:
                    reason = StoryViewpoint.Unavailable.ONLY_SYNDICATED
                elif by_side[None] and story.rated_count == 0:
                    reason = StoryViewpoint.Unavailable.ONLY_UNRATED
                else:
                    reason = StoryViewpoint.Unavailable.NO_ARTICLES
                fields.update(
                    {
                        "unavailable_reason": reason,
                        "summary": [],
                        "frames": [],
                        "tone": None,
                        "tone_counts": {},
                        "entities": [],
                    }
                )
            StoryViewpoint.objects.update_or_create(story=story, side=side, defaults=fields)
    return story
