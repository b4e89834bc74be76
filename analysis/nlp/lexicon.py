"""The loaded-language lexicon: the words that explain a sentence the loaded-language model flags.

Words strong in VADER's lexicon (Hutto and Gilbert, 2014), plus a short list written for this
project of words that news-bias research flags as loaded or subjective although VADER does not
score them; less the words that report an event plainly. Words inside quotation marks are the
source's, not the outlet's, so they are never counted.
"""

from __future__ import annotations

import functools
import re

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Words whose lexicon valence is at least this strong read as loaded, not neutral reporting.
LOADED_VALENCE = 2.2
# The version of what the lexicon marks as a loaded word (the evidence stored with each flagged sentence),
# part of the loaded-language version an analysis records: 2, a word of a name is none.
VERSION = "lexicon-2"
WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*[A-Za-z]|[A-Za-z]")
QUOTED = re.compile(r"[\"\u201c][^\"\u201c\u201d]{0,400}[\"\u201d]")
# A double quotation mark, curly or straight.
QUOTE_MARK = re.compile(r"[\"\u201c\u201d]")

# Loaded or subjective words VADER does not score (or scores weakly), after the categories of
# Recasens et al. (2013, "Linguistic models for analyzing and detecting biased language"):
# attack verbs in place of "said", pejorative labels, subjective intensifiers. Written for this project.
LOADED_WORDS = frozenset(
    """
    slam slams slammed slamming blast blasts blasted blasting lash lashes lashed rip rips ripped
    torch torched skewer skewered eviscerate eviscerated trash trashed bash bashed smear smears
    smeared rant rants ranted tirade meltdown screed diatribe regime radical radicals extremist
    extremists zealot zealots fanatic fanatics thug thugs mob mobs militant militants propaganda
    puppet cronies crony elites elitist woke far-left far-right so-called scheme schemes ploy ploys
    stunt stunts hoax sham charade witch-hunt cover-up draconian reckless radicalized disastrous
    catastrophic shameful shameless outrageous egregious staggering shocking unprecedented bombshell
    explosive scathing blistering furious fury chaos chaotic debacle fiasco crisis-ridden embattled
    beleaguered disgraced notorious infamous massacre slaughter onslaught blatant
    brazen flagrant baseless debunked lavish bloated handout handouts giveaway giveaways socialist
    communist fascist marxist heroic hero heroes brave courageous patriot patriots patriotic
    visionary historic landmark
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# Strong in VADER's lexicon, yet the plain words for what happened: reporting them is not loading.
NEUTRAL_IN_NEWS = frozenset(
    """
    killed kill kills killing death deaths dead die died dies dying war wars attack attacks attacked
    crisis crime crimes criminal murder murdered victim victims injured injury injuries wounded
    violence violent terrorist terrorism terror prison jail arrested arrest disease cancer cancer
    fire fires abuse abused rape raped hostage hostages weapons weapon bomb bombs protest protests
    lost loss losses fraud fraudulent corruption guilty illegal ban banned threat threats risk risks
    poverty hunger pandemic emergency disaster disasters damage damaged destroyed destruction
    conflict sentenced convicted charged suicide hate accident accidents free freedom peace win won
    support supported help helped care safe safety security protect protected justice rights
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def quoted_spans(sentence: str) -> list[tuple[int, int]]:
    """The (start, end) of each stretch of the sentence inside quotation marks, marks included.

    A sentence cut out of a longer quotation has a mark without its pair: a closing one with no
    opening before it means the sentence began inside the quotation ('Where was the Guard?"'), an
    opening one never closed that it ends inside it; the stretch then runs to the sentence's start
    or end. A straight mark opens after a space, a bracket, a dash or a colon (or at the start) and
    closes otherwise; curly marks say which they are.
    """
    return _quotations(sentence)[0]


def quotation_fragment(sentence: str) -> bool:
    """Whether the sentence is part of a longer quotation, cut where the analysis split the text: it
    begins or ends inside quotation marks, so its speaker is named (if at all) in another sentence."""
    _, cut = _quotations(sentence)
    return cut


def _quotations(sentence: str) -> tuple[list[tuple[int, int]], bool]:
    """``quoted_spans`` and whether a mark was left without its pair."""
    spans: list[tuple[int, int]] = []
    opened: int | None = None
    cut = False
    for match in QUOTE_MARK.finditer(sentence):
        start = match.start()
        before = sentence[start - 1] if start else " "
        if match.group() == "\u201c" or (
            match.group() == '"' and opened is None and (before.isspace() or before in "([{:\u2014-")
        ):
            # A second opening mark inside a quotation leaves the first one's stretch running.
            opened = start if opened is None else opened
            continue
        if opened is None:
            cut = True
        spans.append((0 if opened is None else opened, start + 1))
        opened = None
    if opened is not None:
        cut = True
        spans.append((opened, len(sentence)))
    return spans, cut


def outside_quotations(sentence: str) -> str:
    """The sentence with every stretch inside quotation marks (``quoted_spans``) blanked out."""
    text = sentence
    for start, end in reversed(quoted_spans(sentence)):
        text = text[:start] + " " + text[end:]
    return text


@functools.cache
def analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def title_case(text: str) -> bool:
    """Whether the text is written in title case, as many headlines are: its longer words after the
    first are capitalised (one in ten may not be); a sentence naming many things still has its verbs
    and nouns in lower case ("The Calder Supreme Court ruled Tuesday ...")."""
    longer = [word for word in WORD.findall(text)[1:] if len(word) > 3]
    return bool(longer) and sum(not word[0].isupper() for word in longer) * 10 <= len(longer)


def _name_words(words: list[re.Match[str]]) -> set[int]:
    """The positions of the words of a sentence-case text that belong to names: capitalised after the
    first, and the first when the next one is capitalised too."""
    capitalised = [match.group()[0].isupper() for match in words]
    names = {position for position in range(1, len(words)) if capitalised[position]}
    if len(words) > 1 and capitalised[0] and capitalised[1]:
        names.add(0)
    return names


def inside_quotations(sentence: str) -> str:
    """The sentence with everything outside quotation marks (``quoted_spans``) blanked out."""
    text = ""
    position = 0
    for start, end in quoted_spans(sentence):
        text += " " * (start - position) + sentence[start:end]
        position = end
    return text + " " * (len(sentence) - position)


def lexicon_words(sentence: str, *, quoted: bool = False) -> list[str]:
    """The lexicon's loaded or subjective words of a sentence, lowercase, in order, outside quotations
    (``quoted``: inside them, the words of the source a sentence quotes).

    The evidence shown inside a sentence the loaded-language model flags; on its own a
    lexicon is a poor judge of loaded language (a third of its hits are wrong on news).

    A word of a name is no one's judgement: in a sentence written in sentence case, a capitalised
    word after the first ("the Calder Supreme Court", "Ashford Parents for Excellence"), or a first
    word the next one continues as a name ("Supreme Court justices ruled ..."), is not counted. A
    headline in title case is read word by word ("Outrageous Ruling Leaves Elections Wide Open").
    """
    lexicon = analyzer().lexicon
    read = inside_quotations(sentence) if quoted else outside_quotations(sentence)
    words = list(WORD.finditer(read))
    names = set() if title_case(sentence) else _name_words(words)
    found: list[str] = []
    for position, match in enumerate(words):
        lower = match.group().lower().replace("\u2019", "'")
        if lower in found or lower in NEUTRAL_IN_NEWS or position in names:
            continue
        valence = lexicon.get(lower)
        if lower in LOADED_WORDS or (valence is not None and abs(valence) >= LOADED_VALENCE):
            found.append(lower)
    return found
