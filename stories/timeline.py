"""The story's timeline as SVG geometry: articles over time by side, and when each side first covered it.

A pure function of (time, side) points: the template draws the shapes, so every text is
escaped by Django's autoescaping and no front-end code is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sources.models import Side

WIDTH = 640
HEIGHT = 220
MARGIN_LEFT = 36
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 40
SIDE_LABELS = dict(Side.choices)
# Lines of sides with the same count would hide each other: each side is drawn a little apart.
SIDE_OFFSET: dict[str, float] = {Side.LEFT: -3.0, Side.CENTER: 0.0, Side.RIGHT: 3.0}
# The y-axis labels every count up to this many, then about four steps.
Y_LABELS_ALL_UP_TO = 6


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    y: float
    label: str
    anchor: str = "middle"
    # Left out on a narrow screen, where the labels would touch.
    is_minor: bool = False


@dataclass(frozen=True, slots=True)
class SideLine:
    """One side's cumulative article count as a step line, and the point where it first covered the story."""

    side: str
    label: str
    count: int
    first_at: datetime | None
    points: str = ""
    first_x: float = 0.0
    first_y: float = 0.0


@dataclass(frozen=True, slots=True)
class Timeline:
    width: int
    height: int
    lines: tuple[SideLine, ...]
    x_ticks: tuple[Tick, ...] = ()
    y_ticks: tuple[Tick, ...] = ()
    plot_left: float = MARGIN_LEFT
    plot_right: float = WIDTH - MARGIN_RIGHT
    plot_top: float = MARGIN_TOP
    plot_bottom: float = HEIGHT - MARGIN_BOTTOM
    description: str = ""

    @property
    def is_empty(self) -> bool:
        return not any(line.count for line in self.lines)


def timeline_build(points: Sequence[tuple[datetime, str | None]]) -> Timeline:
    """Geometry of the cumulative articles-by-side chart over ``points`` (publication time, side).

    Articles of no side (unrated outlets) are left out of the lines; the caller lists them apart.
    """
    rated = sorted((moment, side) for moment, side in points if side in SIDE_LABELS)
    times_by_side = {side: [moment for moment, point_side in rated if point_side == side] for side in Side.values}
    if not rated:
        lines = tuple(SideLine(side=side, label=label, count=0, first_at=None) for side, label in Side.choices)
        return Timeline(width=WIDTH, height=HEIGHT, lines=lines, description="No article from a rated outlet yet.")

    plot_left, plot_right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    plot_top, plot_bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    start, end = rated[0][0], rated[-1][0]
    span = max((end - start).total_seconds(), 1.0)
    most = max(len(times) for times in times_by_side.values())
    plot_width = plot_right - plot_left
    plot_height = plot_bottom - plot_top

    def x_of(moment: datetime) -> float:
        return round(plot_left + plot_width * (moment - start).total_seconds() / span, 1)

    def y_of(count: int) -> float:
        return round(plot_bottom - plot_height * count / most, 1)

    def line_of(side: str, label: str) -> SideLine:
        times = times_by_side[side]
        if not times:
            return SideLine(side=side, label=label, count=0, first_at=None)
        offset = SIDE_OFFSET.get(side, 0.0)
        # A step line: flat until the next article, then one higher; carried on to the end.
        coordinates: list[tuple[float, float]] = []
        for count, moment in enumerate(times, start=1):
            coordinates.append((x_of(moment), y_of(count - 1) + offset))
            coordinates.append((x_of(moment), y_of(count) + offset))
        if coordinates[-1][0] < plot_right:
            coordinates.append((plot_right, y_of(len(times)) + offset))
        return SideLine(
            side=side,
            label=label,
            count=len(times),
            first_at=times[0],
            points=" ".join(f"{x:g},{y:g}" for x, y in coordinates),
            first_x=x_of(times[0]),
            first_y=y_of(1) + offset,
        )

    lines = tuple(line_of(side, label) for side, label in Side.choices)
    same_day = start.date() == end.date()
    label_format = "%H:%M" if same_day else "%-d %b %H:%M"
    steps = 4
    x_ticks = tuple(
        Tick(
            x=round(plot_left + plot_width * step / steps, 1),
            y=plot_bottom + 16,
            label=(start + (end - start) * step / steps).strftime(label_format),
            # The end labels stay inside the drawing.
            anchor="start" if step == 0 else ("end" if step == steps else "middle"),
            is_minor=step % 2 == 1,
        )
        for step in range(steps + 1)
    )
    y_step = 1 if most <= Y_LABELS_ALL_UP_TO else -(-most // 4)
    # A label too close under the top one would touch it.
    y_values = sorted({value for value in range(0, most, y_step) if most - value >= y_step / 2} | {most})
    y_ticks = tuple(Tick(x=plot_left - 6, y=y_of(value), label=str(value)) for value in y_values)
    firsts = [f"{line.label} first on {line.first_at:%-d %b %H:%M}" for line in lines if line.first_at]
    description = (
        f"Articles over time by side, {start:%-d %b %H:%M} to {end:%-d %b %H:%M} UTC: "
        + "; ".join(f"{line.label} {line.count}" for line in lines)
        + ". "
        + "; ".join(firsts)
        + "."
    )
    return Timeline(
        width=WIDTH,
        height=HEIGHT,
        lines=lines,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        description=description,
    )
