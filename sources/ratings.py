"""Outlet ratings: the policy that makes one effective lean of several raters' ratings, the writes
that append a rating and keep the outlet's effective rating in step with the policy, and the
import and export of rating histories (CSV and JSONL).

The policy (``NEWSROOM_LEAN_POLICY``) is one of:

- ``latest``: the newest rating in the outlet's scheme (by effective date, then entry), whoever made it;
- ``median``: each rater's newest rating in the scheme, and the median of their leans on the
  five-level axis (with an even number of raters, of the two middle leans the one nearer the
  center); the rating it points at is the newest at that lean;
- ``rater_priority``: the newest rating of the first rater in ``NEWSROOM_LEAN_RATER_PRIORITY``
  who rated the outlet in its scheme; an outlet none of them rated falls back to ``latest``.

Only ratings in the outlet's own scheme count: a rating made on another country's axis stays in
the history and in the changelog but never sets the lean. Factuality is the chosen rating's.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TextIO, TypedDict

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from sources.importing import RowError, date_field, read_records, text_field
from sources.models import (
    LEAN_POSITION,
    SCHEME_PATTERN,
    Factuality,
    Lean,
    Outlet,
    OutletDomain,
    OutletRating,
    RatingChange,
)

POLICY_LATEST = "latest"
POLICY_MEDIAN = "median"
POLICY_RATER_PRIORITY = "rater_priority"

POLICIES: dict[str, str] = {
    POLICY_LATEST: "the newest rating in the outlet's scheme, whoever made it",
    POLICY_MEDIAN: "the median of each rater's newest rating in the outlet's scheme (ties toward the center)",
    POLICY_RATER_PRIORITY: "the newest rating of the highest-priority rater who rated the outlet; "
    "otherwise the newest rating",
}


def lean_policy() -> str:
    policy: str = settings.NEWSROOM_LEAN_POLICY
    if policy not in POLICIES:
        raise ImproperlyConfigured(f"NEWSROOM_LEAN_POLICY must be one of {', '.join(POLICIES)}, not {policy!r}.")
    return policy


def lean_policy_description() -> str:
    policy = lean_policy()
    description = POLICIES[policy]
    if policy == POLICY_RATER_PRIORITY:
        order = " > ".join(settings.NEWSROOM_LEAN_RATER_PRIORITY) or "no raters listed"
        description = f"{description} (priority: {order})"
    return description


# --- The policy -----------------------------------------------------------------


@dataclass(frozen=True)
class Effective:
    """What the policy makes of an outlet's ratings: the chosen rating (None: unrated) and why."""

    rating: OutletRating | None
    rule: str
    explanation: str

    @property
    def lean(self) -> str:
        return self.rating.lean if self.rating else ""

    @property
    def factuality(self) -> str:
        return self.rating.factuality if self.rating else ""


def _newest_first(ratings: Iterable[OutletRating]) -> list[OutletRating]:
    return sorted(ratings, key=lambda rating: (rating.rated_at, rating.created_at, rating.pk or 0), reverse=True)


def effective_rating_choose(
    ratings: Iterable[OutletRating], *, scheme: str, policy: str, priority: Sequence[str] = ()
) -> Effective:
    """Apply a policy to an outlet's ratings (any order). Pure: reads only the ratings given."""
    in_scheme = _newest_first(rating for rating in ratings if rating.scheme == scheme)
    if not in_scheme:
        return Effective(None, policy, f"No rating in the {scheme} scheme.")
    newest = in_scheme[0]
    if policy == POLICY_MEDIAN:
        newest_by_rater: dict[str, OutletRating] = {}
        for rating in in_scheme:
            newest_by_rater.setdefault(rating.rated_by, rating)
        positions = sorted(LEAN_POSITION[rating.lean] for rating in newest_by_rater.values())
        middle = len(positions) // 2
        if len(positions) % 2:
            median = positions[middle]
        else:
            low, high = positions[middle - 1], positions[middle]
            median = low if abs(low) <= abs(high) else high
        # The newest of the raters' ratings at the median lean: its factuality and provenance are shown.
        chosen = next(
            rating
            for rating in in_scheme
            if newest_by_rater[rating.rated_by] is rating and LEAN_POSITION[rating.lean] == median
        )
        votes = "; ".join(f"{rater}: {rating.lean}" for rater, rating in sorted(newest_by_rater.items()))
        return Effective(chosen, policy, f"Median of {len(newest_by_rater)} rater(s) ({votes}): {chosen.lean}.")
    if policy == POLICY_RATER_PRIORITY:
        for rater in priority:
            for rating in in_scheme:
                if rating.rated_by == rater:
                    return Effective(rating, policy, f"{rater} comes first in the priority list: {rating.lean}.")
        return Effective(
            newest, policy, f"No listed rater rated it; newest rating ({newest.rated_by}, {newest.rated_at})."
        )
    return Effective(newest, policy, f"Newest rating ({newest.rated_by}, {newest.rated_at}).")


def effective_rating_of(outlet: Outlet, ratings: Iterable[OutletRating] | None = None) -> Effective:
    """The policy in force applied to the outlet's ratings (read from the database unless given)."""
    return effective_rating_choose(
        outlet.ratings.all() if ratings is None else ratings,
        scheme=outlet.scheme,
        policy=lean_policy(),
        priority=settings.NEWSROOM_LEAN_RATER_PRIORITY,
    )


# --- Writes -------------------------------------------------------------------


def outlet_rating_add(
    *,
    outlet: Outlet,
    lean: str,
    rated_by: str,
    factuality: str = "",
    rated_at: date | None = None,
    note: str = "",
    entered_by: User | None = None,
    scheme: str = "",
    score: float | None = None,
) -> OutletRating:
    """Append a rating to the outlet's history, then recompute its effective rating by the policy.

    ``scheme`` defaults to the outlet's own. The changelog gets one entry (before and after), and
    when the effective lean moves the pipeline's hook recomputes the coverage of the outlet's
    stories once the transaction commits. Locks the outlet row, so two ratings added at once
    are applied one after the other.
    """
    with transaction.atomic():
        locked = Outlet.objects.select_for_update().get(pk=outlet.pk)
        rating = OutletRating(
            outlet=locked,
            scheme=scheme or locked.scheme,
            lean=lean,
            score=score,
            factuality=factuality,
            rated_by=rated_by,
            rated_at=rated_at or timezone.localdate(),
            note=note,
            entered_by=entered_by,
        )
        rating.full_clean(exclude=["outlet", "entered_by"])
        rating.save()
        outlet_effective_rating_sync(outlet=locked, cause=rating)
    # The caller's instance shows the new effective rating too.
    for name in ("lean", "factuality", "effective_rating_id", "lean_rule", "lean_explanation"):
        setattr(outlet, name, getattr(locked, name))
    return rating


def outlet_effective_rating_sync(*, outlet: Outlet, cause: OutletRating | None = None) -> bool:
    """Set the outlet's cached effective rating (lean, factuality, rule) from its ratings by the policy.

    Records a changelog entry when a rating was added (``cause``) or the lean or factuality moved;
    returns whether the lean moved. The caller holds the transaction.
    """
    before = (outlet.lean, outlet.factuality)
    effective = effective_rating_of(outlet)
    outlet.lean, outlet.factuality = effective.lean, effective.factuality
    outlet.effective_rating = effective.rating
    outlet.lean_rule, outlet.lean_explanation = effective.rule, effective.explanation[:500]
    outlet.save(update_fields=["lean", "factuality", "effective_rating", "lean_rule", "lean_explanation"])
    if cause is not None or before != (outlet.lean, outlet.factuality):
        RatingChange.objects.create(
            outlet=outlet,
            rating=cause,
            lean_before=before[0],
            lean_after=outlet.lean,
            factuality_before=before[1],
            factuality_after=outlet.factuality,
            rule=effective.rule,
            explanation=effective.explanation[:500],
        )
    lean_moved = before[0] != outlet.lean
    if lean_moved:
        outlets_rating_changed_notify(outlet_ids=[outlet.pk])
    return lean_moved


def outlets_rating_changed_notify(*, outlet_ids: list[int]) -> None:
    """Tell the pipeline (NEWSROOM_RATING_CHANGED_HOOK) that these outlets' effective lean moved:
    sources may not import stories, so the pipeline recomputes their stories' coverage."""
    hook: str = settings.NEWSROOM_RATING_CHANGED_HOOK
    if hook:
        import_string(hook)(outlet_ids=outlet_ids)


def outlets_effective_rating_recompute(*, outlet_ids: list[int] | None = None) -> list[int]:
    """Apply the policy in force again (after NEWSROOM_LEAN_POLICY changed); returns the outlets whose lean moved."""
    moved = []
    queryset = Outlet.objects.order_by("pk")
    if outlet_ids is not None:
        queryset = queryset.filter(pk__in=outlet_ids)
    for outlet_id in queryset.values_list("pk", flat=True):
        with transaction.atomic():
            outlet = Outlet.objects.select_for_update().get(pk=outlet_id)
            if outlet_effective_rating_sync(outlet=outlet):
                moved.append(outlet_id)
    return moved


# --- Import and export --------------------------------------------------------------

EXPORT_FIELDS = [
    "outlet",
    "domain",
    "scheme",
    "lean",
    "score",
    "factuality",
    "rated_by",
    "rated_at",
    "note",
    "entered_by",
    "created_at",
]


class _RatingFields(TypedDict):
    """What makes an imported rating the same as one in the history (all but its date)."""

    outlet: Outlet
    scheme: str
    lean: str
    score: float | None
    factuality: str
    rated_by: str
    note: str


@dataclass(frozen=True)
class RatingRow:
    line: int
    outlet: Outlet
    scheme: str
    lean: str
    score: float | None
    factuality: str
    rated_by: str
    rated_at: date | None
    note: str


def _score(value: object) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise RowError("'score' must be a number between -1 and 1")
    try:
        score = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        score = None
    if score is None or not -1.0 <= score <= 1.0:
        raise RowError(f"'score' must be a number between -1 and 1, got {value!r}")
    return score


def _outlet_find(record: dict[str, object]) -> Outlet:
    domain = text_field(record, "domain", max_length=253).lower().removeprefix("www.")
    name = text_field(record, "outlet", max_length=200)
    if not domain and not name:
        raise RowError("a rating needs 'outlet' (name) or 'domain'")
    outlet = Outlet.objects.for_domain(domain).first() if domain else None
    if outlet is None and name:
        outlet = Outlet.objects.filter(name__iexact=name).first()
    if outlet is None:
        raise RowError(f"no outlet with domain {domain!r} or name {name!r} (import it with import_outlets first)")
    return outlet


def rating_row_parse(line: int, record: dict[str, object]) -> RatingRow:
    """A validated rating row; RowError says what is wrong with it."""
    outlet = _outlet_find(record)
    scheme = text_field(record, "scheme", max_length=16).upper() or settings.NEWSROOM_DEFAULT_RATING_SCHEME
    if not re.match(SCHEME_PATTERN, scheme):
        raise RowError(f"'scheme' must be upper-case letters and digits (e.g. US, UK), got {scheme!r}")
    lean = text_field(record, "lean", max_length=16).lower()
    if lean not in Lean.values:
        raise RowError(f"'lean' must be one of {', '.join(Lean.values)}, got {lean!r}")
    factuality = text_field(record, "factuality", max_length=16).lower()
    if factuality and factuality not in Factuality.values:
        raise RowError(f"'factuality' must be one of {', '.join(Factuality.values)} or empty, got {factuality!r}")
    rated_by = text_field(record, "rated_by", max_length=200)
    if not rated_by:
        raise RowError("'rated_by' (the rater or method) is required")
    rated_at = date_field(record, "rated_at")
    return RatingRow(
        line=line,
        outlet=outlet,
        scheme=scheme,
        lean=lean,
        score=_score(record.get("score")),
        factuality=factuality,
        rated_by=rated_by,
        rated_at=rated_at,
        note=text_field(record, "note", max_length=10_000),
    )


@dataclass
class OutletOutcome:
    outlet: Outlet
    lean_before: str
    lean_after: str = ""
    rule: str = ""
    added: int = 0

    def __str__(self) -> str:
        change = (
            f"{self.lean_before or 'unrated'} -> {self.lean_after or 'unrated'}"
            if self.lean_before != self.lean_after
            else f"unchanged ({self.lean_after or 'unrated'})"
        )
        return f"{self.outlet.name} [{self.outlet.scheme}]: {change}; {self.added} rating(s) added, rule {self.rule}"


@dataclass
class RatingsImportReport:
    dry_run: bool
    errors: list[str] = field(default_factory=list)
    outlets: dict[int, OutletOutcome] = field(default_factory=dict)
    added: int = 0
    already_present: int = 0
    applied: bool = False

    def lines(self) -> list[str]:
        if self.errors:
            return [*self.errors, f"{len(self.errors)} bad line(s): nothing was imported."]
        verb = "would add" if self.dry_run else "added"
        summary = f"{verb} {self.added} rating(s); {self.already_present} already in the history"
        return [str(outcome) for outcome in self.outlets.values()] + [summary]


def format_of(path: str, *, explicit: str = "") -> str:
    if explicit:
        return explicit
    return "csv" if path.lower().endswith(".csv") else "jsonl"


def ratings_import(
    *, lines: Iterable[str], fmt: str, dry_run: bool = False, entered_by: User | None = None
) -> RatingsImportReport:
    """Import ratings all-or-nothing: every line is checked first, and a file with any bad line
    changes nothing. Good files are appended in one transaction through ``outlet_rating_add``
    (so effective leans, the changelog and the coverage recompute follow). A dry run does the
    same work and rolls it back, so its report shows exactly what the policy would make of it.
    A row identical to a rating already in the history (an export imported again) is skipped.
    """
    report = RatingsImportReport(dry_run=dry_run)
    rows: list[RatingRow] = []
    # A CSV the reader cannot go on with (a field too large) comes as a RowError on the line after the last read.
    for number, record in read_records(lines, fmt=fmt):
        if isinstance(record, RowError):
            report.errors.append(f"line {number}: {record}")
            continue
        try:
            rows.append(rating_row_parse(number, record))
        except RowError as error:
            report.errors.append(f"line {number}: {error}")
    if not rows and not report.errors:
        report.errors.append("line 1: no ratings in the file")
    if report.errors:
        return report
    with transaction.atomic():
        for row in rows:
            outcome = report.outlets.get(row.outlet.pk)
            if outcome is None:
                outcome = report.outlets[row.outlet.pk] = OutletOutcome(row.outlet, lean_before=row.outlet.lean)
            given: _RatingFields = {
                "outlet": row.outlet,
                "scheme": row.scheme,
                "lean": row.lean,
                "score": row.score,
                "factuality": row.factuality,
                "rated_by": row.rated_by,
                "note": row.note,
            }
            # A row without a date matches the same rating of any date: re-importing an export adds nothing.
            if OutletRating.objects.filter(**given, **({"rated_at": row.rated_at} if row.rated_at else {})).exists():
                report.already_present += 1
                continue
            outlet_rating_add(**given, rated_at=row.rated_at, entered_by=entered_by)
            outcome.added += 1
            report.added += 1
        for outcome in report.outlets.values():
            outcome.outlet.refresh_from_db(fields=["lean", "lean_rule"])
            outcome.lean_after, outcome.rule = outcome.outlet.lean, outcome.outlet.lean_rule
        if dry_run:
            transaction.set_rollback(True)
        else:
            report.applied = True
    return report


def ratings_export_records() -> Iterator[dict[str, object]]:
    """Every rating, oldest entry first, in the import format (plus who entered it and when)."""
    ratings = OutletRating.objects.select_related("outlet", "entered_by").order_by("created_at", "pk")
    domains: dict[int, str] = {}
    for outlet_id, domain in OutletDomain.objects.order_by("outlet_id", "domain").values_list("outlet_id", "domain"):
        domains.setdefault(outlet_id, domain)
    for rating in ratings.iterator(chunk_size=1000):
        yield {
            "outlet": rating.outlet.name,
            "domain": domains.get(rating.outlet_id, ""),
            "scheme": rating.scheme,
            "lean": rating.lean,
            "score": rating.score,
            "factuality": rating.factuality,
            "rated_by": rating.rated_by,
            "rated_at": rating.rated_at.isoformat(),
            "note": rating.note,
            "entered_by": rating.entered_by.get_username() if rating.entered_by else "",
            "created_at": rating.created_at.isoformat(),
        }


def ratings_export(out: TextIO, *, fmt: str) -> int:
    """Write every rating to ``out`` as CSV or JSONL; returns how many."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for record in ratings_export_records():
            writer.writerow({key: "" if value is None else value for key, value in record.items()})
            count += 1
        return count
    for record in ratings_export_records():
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
