from __future__ import annotations

import re
from collections.abc import Sequence

from django import template

from sources.models import Lean
from stories import pages
from stories.models import Story
from stories.pages import ArticleFrame, Coverage
from stories.querysets import BlindspotRule
from stories.selectors import story_coverage

register = template.Library()


@register.filter
def coverage(story: Story) -> Coverage:
    """A listed story's coverage, for its card's coverage bar (a story page carries its own)."""
    return story_coverage(story)


@register.simple_tag
def blindspot_definition() -> str:
    """The blindspot rule in words, for pages outside this app (the methodology page)."""
    return BlindspotRule.current().definition


@register.simple_tag
def models_in_use() -> dict[str, str]:
    from sources.selectors import models_in_use as configured

    return configured()


@register.filter
def confidence_words(confidence: float) -> str:
    """How sure the grouping is, in words: the pair model's probability for the story's least typical article."""
    if confidence >= 0.8:
        return "The articles clearly report the same story."
    if confidence >= 0.5:
        return "The articles most likely report the same story."
    return "Some articles may belong to a related story: the grouping is less certain here."


@register.filter
def frames_with_evidence(frames: Sequence[ArticleFrame]) -> list[ArticleFrame]:
    """The frames that carry the sentences they were tagged for, shown as text (not only in a tooltip)."""
    return [frame for frame in frames if frame.evidence]


@register.filter
def lean_label(lean: str) -> str:
    return Lean(lean).label if lean in Lean.values else "Unrated"


@register.filter
def frame_label(frame: str) -> str:
    return pages.frame_label(frame)


@register.filter
def percent(value: float) -> str:
    return f"{value:.0f}%"


_DOUBLE_QUOTE = re.compile(r'["“”]')
_SINGLE_OPEN, _SINGLE_CLOSE = "\u2018", "\u2019"  # escaped: ruff flags the characters as look-alikes


@register.filter
def quoted(text: str) -> str:
    """The text in double quotation marks, its own double quotes turned single.

    A sentence that opens with a quotation reads “'Our kids …,' said …” (with curly single
    marks), not “"Our kids …”.
    Straight quotes alternate open and close; curly ones keep their direction.
    """
    opened = False

    def single(match: re.Match[str]) -> str:
        nonlocal opened
        mark = match.group()
        opened = mark == "“" or (mark == '"' and not opened)
        return _SINGLE_OPEN if opened else _SINGLE_CLOSE

    return f"“{_DOUBLE_QUOTE.sub(single, str(text))}”"


@register.filter
def words_unused(words: Sequence[str]) -> str:
    """'No article of this story uses the word “boost” from your question' (HTML-escaped): the words of a
    question that Ask found in no article, said beside its answer or refusal."""
    listed = ", ".join(f"“{word}”" for word in words)
    return f"No article of this story uses {'the word' if len(words) == 1 else 'the words'} {listed} from your question"


@register.filter
def quoted_joined(sentences: Sequence[str]) -> str:
    """Sentences joined by " … " inside one pair of quotation marks (``quoted``); escaped once, by the
    template (``join`` escapes what it joins, so ``join`` then ``quoted`` escaped an apostrophe twice)."""
    return quoted(" … ".join(str(sentence) for sentence in sentences))
