"""Cursor pagination for every list: stable pages while stories arrive, and no COUNT(*) per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import exceptions, pagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 100


class CursorPagination(pagination.CursorPagination):
    """``?cursor=`` from a response's ``next``/``previous`` link; ``?page_size=`` from 1 to 100.

    The ordering comes from the view's ordering filter (see newsroom.api_filters) or its
    ``ordering``; a malformed cursor or page size is a 400 naming the parameter, not a 404.
    """

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-pk"
    invalid_cursor_message = "Not a cursor from this list: use the next or previous link of a response."

    def get_page_size(self, request: Request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}; got {raw[:40]!r}."]}
            )
        return int(raw)

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound as error:
            raise exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from error

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, TypeError, OverflowError) as error:
            # A well-formed cursor whose position does not fit the ordering's field (crafted, or
            # from a list in another ordering). Without a cursor it is a defect: let it be a 500.
            if self.cursor_query_param not in request.query_params:
                raise
            raise exceptions.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from error

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
