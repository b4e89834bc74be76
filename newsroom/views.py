from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views import defaults

from newsroom.api_errors import json_error_response


def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponsePermanentRedirect(static("newsroom/favicon.svg"))


def healthz(request: HttpRequest) -> HttpResponse:
    """A trivial view: the liveness probe, and the baseline the page benchmarks compare against."""
    return HttpResponse("ok", content_type="text/plain")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Unknown paths under /api/ answer in the API's error shape; the rest get Django's page."""
    if _is_api(request):
        return json_error_response(request, status_code=404, code="not_found", message="No such path in the API.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return json_error_response(request, status_code=500, code="server_error", message="Internal server error.")
    return defaults.server_error(request)
