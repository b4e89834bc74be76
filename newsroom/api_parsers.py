"""Request parsers of the API: DRF's, with a body nested too deeply for the JSON decoder answered
as a bad request (400 in the API's error shape), not a server error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:  # json's decoder recurses once per level of nesting
            raise ParseError("JSON parse error - nested too deeply.") from error
