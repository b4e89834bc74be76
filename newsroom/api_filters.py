"""Ordering for API lists: one whitelisted field per request, and a 400 for any other."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import exceptions, filters
from rest_framework.request import Request


class StrictOrderingFilter(filters.OrderingFilter):
    """``?ordering=<field>`` or ``-<field>``, from the view's ``ordering_fields``.

    DRF's own filter drops an unknown field without a word; a client would then page through an
    order it did not ask for. The view's primary key breaks ties, so the cursor's pages are stable.
    """

    def allowed(self, view: Any) -> list[str]:
        fields: list[str] = list(getattr(view, "ordering_fields", None) or [])
        return [option for field in fields for option in (field, f"-{field}")]

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> list[str]:
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            requested = self.get_default_ordering(view)
            requested = [requested] if isinstance(requested, str) else list(requested or ["-pk"])
        else:
            if raw not in self.allowed(view):
                choices = ", ".join(self.allowed(view)) or "none"
                raise exceptions.ValidationError(
                    {self.ordering_param: [f"Cannot order by {raw[:40]!r}; choose one of: {choices}."]}
                )
            requested = [raw]
        if requested[0].lstrip("-") not in ("id", "pk"):
            requested.append("-pk" if requested[0].startswith("-") else "pk")
        return requested

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        allowed = self.allowed(view)
        if not allowed:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "The order of the list: a field, or the field with '-' for descending.",
                "schema": {"type": "string", "enum": allowed},
            }
        ]
