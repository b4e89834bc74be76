from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def healthz(request: HttpRequest) -> HttpResponse:
    """A trivial view: the liveness probe, and the baseline the page benchmarks compare against."""
    return HttpResponse("ok", content_type="text/plain")
