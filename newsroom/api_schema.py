"""The OpenAPI schema describes every error an operation can answer with, in the one error shape."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="A stable, machine-readable name: invalid, not_found, throttled, ...")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    # The serializer's metaclass moves declared fields off the class, so this does not hide Serializer.fields.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(),
        help_text="Messages by request field or query parameter (a list of strings, or nested by item).",
    )
    retry_after = serializers.IntegerField(required=False, help_text="Throttled: seconds to wait.")


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


ERRORS: dict[str, str] = {
    "400": "A query parameter or field is invalid; `fields` says which and why.",
    "401": "The token is unknown or revoked, or a write was sent without one.",
    "403": "The token lacks the scope, or its user the permission.",
    "404": "No such object, or an unknown path.",
    "406": "The Accept header asks for a format the API does not serve.",
    "429": "Too many requests: wait the Retry-After header's seconds.",
}
WRITE_ERRORS: dict[str, str] = {
    "405": "The method is not allowed here.",
    "415": "The request body must be JSON.",
}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            errors.update(WRITE_ERRORS)
        elif "{" in self.path:
            responses.setdefault(
                "304", {"description": "Not modified: the copy named by If-None-Match or If-Modified-Since is current."}
            )
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=ErrorSerializer, description=description), code, direction=direction
                )
        return responses


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents accounts.authentication.ApiTokenAuthentication (this module is loaded as the schema class)."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from /account/tokens/ or a curator: `Authorization: Bearer <key>`.",
        }
