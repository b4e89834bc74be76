"""Entities as actors: spaCy's mentions, normalised so that one actor counts once.

"Zelensky", "Volodymyr Zelensky" and "Zelenskyy" are one actor within a story;
so are "the Riverton Transit Authority" and "Riverton Transit Authority", and
"United Nations" and "UN". Pure functions over strings: the callers decide the
scope (one article, or every article of a story).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# actors-2: a mention without a letter ("2025" tagged as an organisation) is no actor.
# actors-3: nor a group (NORP) with a digit in its name ("Category 2", of a hurricane); an organisation's
# short name joins the one it begins ("Halvorsen" of "Halvorsen Kitchen Systems").
VERSION = "actors-3"

ACTOR_LABELS = {"PERSON", "ORG", "GPE", "NORP", "LOC", "EVENT", "FAC", "LAW", "PRODUCT"}
# Labels spaCy's small model confuses with each other on names of people and bodies: a surname
# tagged ORG in one sentence and PERSON in the next is one actor. Other labels merge only with their own.
NAMED_LABELS = {"PERSON", "ORG", "GPE", "NORP"}
TITLES = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "prof",
    "president",
    "sen",
    "senator",
    "rep",
    "gov",
    "governor",
    "mayor",
    "minister",
    "prime",
    "secretary",
    "judge",
    "justice",
    "gen",
    "general",
    "sir",
    "lord",
    "pope",
    "king",
    "queen",
    "prince",
    "chancellor",
    "chief",
    "officer",
    "councillor",
    "councilor",
}
NON_WORD = re.compile(r"[^\w\s-]")
POSSESSIVE = re.compile(r"(?:'s|\u2019s|'|\u2019)$")


def is_actor(text: str, label: str) -> bool:
    """Whether spaCy's mention can be a person, body, place or named thing: its label is one of
    theirs and its name (``surface_clean``: without "the" or a possessive) holds a letter. The small
    model tags a year ("the 2025" of "the 2025 Ballot Integrity Act") or a number as an organisation
    now and then; the demo's sides listed "2025" as an actor. Nor is a nationality, religious or
    political group (NORP) with a digit in its name: the model tags "Category 2" (a hurricane's) so."""
    name = surface_clean(text)
    if label == "NORP" and any(character.isdigit() for character in name):
        return False
    return label in ACTOR_LABELS and any(character.isalpha() for character in name)


@dataclass(frozen=True)
class Mention:
    text: str
    label: str
    count: int = 1


def surface_clean(text: str) -> str:
    """The mention as a reader would write it: spacing, a leading "the" and a possessive removed."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    text = POSSESSIVE.sub("", text)
    if text.lower().startswith("the "):
        text = text[4:]
    return text.strip(" -.,;:\"'\u201c\u201d\u2018\u2019")


def _tokens(text: str) -> list[str]:
    words = NON_WORD.sub(" ", text.lower()).replace("-", " ").split()
    while len(words) > 1 and words[0].rstrip(".") in TITLES:
        words = words[1:]
    return words


def _same_name(a: str, b: str) -> bool:
    """Transliteration variants of one name: Zelensky/Zelenskyy/Zelenskiy, Gaddafi/Qaddafi."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 2:
        return False
    if a[:4] != b[:4] and a[1:5] != b[1:5]:
        return False
    return _edit_distance(a, b) <= (1 if min(len(a), len(b)) < 7 else 2)


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _acronym(tokens: list[str]) -> str:
    skipped = {"of", "the", "and", "for", "on", "in"}
    return "".join(token[0] for token in tokens if token not in skipped)


def actors_resolve(mentions: Iterable[Mention]) -> dict[str, str]:
    """Map each cleaned surface form to the name of the actor it refers to.

    A short form joins a longer name whose last words it matches ("Zelensky" →
    "Volodymyr Zelensky"), allowing for transliteration ("Zelenskyy"); an organisation's
    short form, one whose first words it matches ("Halvorsen" → "Halvorsen Kitchen
    Systems"); an acronym joins the name it abbreviates. A short form that fits two different longer
    names ("Biden": Joe and Hunter) stays apart, since guessing would merge two
    people. The actor's name is its most frequent full form.
    """
    counts: Counter[str] = Counter()
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for mention in mentions:
        text = surface_clean(mention.text)
        if not text or not _tokens(text):
            continue
        counts[text] += mention.count
        labels[text][mention.label] += mention.count

    # Longest names first: each form is attached to an already-known longer actor if it fits one.
    forms = sorted(counts, key=lambda form: (-len(_tokens(form)), -counts[form], form))
    actors: list[tuple[list[str], str, str]] = []  # (tokens of the actor's longest form, its label, actor key)
    parent: dict[str, str] = {}
    for form in forms:
        tokens = _tokens(form)
        label = labels[form].most_common(1)[0][0]
        candidates = set()
        for actor_tokens, actor_label, key in actors:
            compatible = label == actor_label or {label, actor_label} <= NAMED_LABELS
            if not compatible:
                continue
            if (
                tokens == actor_tokens
                or _tokens_match(tokens, actor_tokens)
                or (
                    # An organisation's short name is its first words ("Halvorsen" of "Halvorsen Kitchen
                    # Systems"); a person's first name is not the person, so only ORG forms join this way.
                    label == "ORG" and len(tokens) < len(actor_tokens) and actor_tokens[: len(tokens)] == tokens
                )
                or (
                    len(tokens) == 1
                    and label in NAMED_LABELS
                    and len(actor_tokens) >= 2
                    and len(tokens[0]) >= 2
                    and tokens[0] == _acronym(actor_tokens)
                    and form.isupper()
                )
            ):
                candidates.add(key)
        if len(candidates) == 1:
            parent[form] = candidates.pop()
        else:
            parent[form] = form
            actors.append((tokens, label, form))

    members: dict[str, list[str]] = defaultdict(list)
    for form, key in parent.items():
        members[key].append(form)
    names = {}
    for forms_of_actor in members.values():
        # The most frequent form among the fullest ones names the actor ("Volodymyr Zelensky").
        longest = max(len(_tokens(form)) for form in forms_of_actor)
        full = [form for form in forms_of_actor if len(_tokens(form)) == longest]
        name = max(full, key=lambda form: (counts[form], form))
        for form in forms_of_actor:
            names[form] = name
    return names


def _tokens_match(short: list[str], long: list[str]) -> bool:
    """``short`` names the same actor as ``long``: the same words at its end, spelling variants allowed."""
    if len(short) > len(long) or not short:
        return False
    tail = long[len(long) - len(short) :]
    return all(_same_name(a, b) for a, b in zip(short, tail, strict=True))


def actors_count(mentions: Iterable[Mention], names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Mentions merged into actors: [{"text", "label", "count"}], most mentioned first."""
    mentions = list(mentions)
    names = names if names is not None else actors_resolve(mentions)
    counts: Counter[str] = Counter()
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for mention in mentions:
        name = names.get(surface_clean(mention.text))
        if name is None:
            continue
        counts[name] += mention.count
        labels[name][mention.label] += mention.count
    return [
        {"text": name, "label": labels[name].most_common(1)[0][0], "count": count}
        for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
