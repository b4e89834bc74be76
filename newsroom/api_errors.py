"""Every API error has one shape: ``{"error": {"code", "message", "fields"}}``.

``fields`` maps a request field or query parameter to its messages, so a client can show each
next to its input; it is empty when the error is not about one field.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_body(*, code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _first_code(codes: Any) -> str:
    while isinstance(codes, dict | list) and codes:
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return codes if isinstance(codes, str) else "invalid"


def _fields_message(fields: dict[str, Any]) -> str:
    names = ", ".join(sorted(fields))
    return f"Invalid input in: {names}." if names else "Invalid input."


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        # Django's own check of DATA_UPLOAD_MAX_MEMORY_SIZE, raised on reading the body: its HTML 400
        # would break the one shape of API errors.
        exc = PayloadTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes: send less at a time."
        )
    elif isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ParseError(str(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a 500, answered by newsroom.views.server_error
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        # By field name (a list serializer's errors come by index: JSON keys are strings either way).
        fields: dict[str, Any] = (
            {str(name): errors for name, errors in detail.items()}
            if isinstance(detail, dict)
            else {"non_field_errors": detail}
        )
        # One code for every invalid input; the messages by field say what is wrong with each.
        response.data = error_body(code="invalid", message=_fields_message(fields), fields=fields)
    elif isinstance(exc, exceptions.APIException):
        response.data = error_body(code=_first_code(exc.get_codes()), message=str(exc.detail))
        # Throttled sets wait in __init__; the stub does not declare it.
        wait: float | None = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
        if wait is not None:
            response.data["error"]["retry_after"] = int(wait + 0.999)
    else:  # Http404 and PermissionDenied from Django, which DRF turned into its own
        code = "not_found" if response.status_code == status.HTTP_404_NOT_FOUND else "permission_denied"
        response.data = error_body(code=code, message=str(response.data.get("detail", "")))
    return response


def json_error_response(request: HttpRequest, *, status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code=code, message=message), status=status_code)
