from __future__ import annotations

from django import template

from sources.models import Lean

register = template.Library()


@register.filter
def lean_label(lean: str) -> str:
    return Lean(lean).label if lean in Lean.values else "Unrated"


@register.filter
def frame_label(frame: str) -> str:
    return frame.replace("_", " ").replace(" and ", " & ")


@register.filter
def percent(value: float) -> str:
    return f"{value:.0f}%"
