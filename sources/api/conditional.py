"""Conditional GET for API details: validators on the response, 304 when the client's copy is current."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from rest_framework import generics, mixins
from rest_framework.request import Request
from rest_framework.response import Response


def entity_tag(request: Request, *, version: str) -> str:
    """A strong ETag for this version of a resource in the representation the client negotiated.

    The format is part of the tag: the JSON and the browsable HTML of one version are different bytes.
    """
    renderer = getattr(request, "accepted_renderer", None)
    digest = hashlib.sha256(f"{version}|{getattr(renderer, 'format', '')}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def not_modified(request: Request, *, etag: str, last_modified: datetime | None = None) -> HttpResponse | None:
    """A 304 (or 412) when the request's If-None-Match / If-Modified-Since match; None otherwise."""
    response = get_conditional_response(
        request._request, etag=etag, last_modified=int(last_modified.timestamp()) if last_modified else None
    )
    if response is not None:
        validators_set(response, etag=etag, last_modified=last_modified)
    return response


def validators_set(response: HttpResponse | Response, *, etag: str, last_modified: datetime | None = None) -> None:
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    # Caches may keep it, but must ask again before reusing it: the ETag makes asking cheap.
    response["Cache-Control"] = "no-cache"
    patch_vary_headers(response, ["Accept"])


class ContentETagRetrieveMixin(mixins.RetrieveModelMixin, generics.GenericAPIView[Any]):
    """``retrieve`` with an ETag taken from the response's data, for objects without a version to read.

    The data is still built (a few indexed queries), but an unchanged object costs the client no
    transfer; the validators travel on the 200 too.
    """

    # DRF sends whatever HttpResponse a handler returns (here a 304); the stub's retrieve says a Response.
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse | Response:  # type: ignore[override]
        instance = self.get_object()
        data = self.get_serializer(instance).data
        etag = entity_tag(request, version=json.dumps(data, sort_keys=True, default=str))
        cached = not_modified(request, etag=etag)
        if cached is not None:
            return cached
        response = Response(data)
        validators_set(response, etag=etag)
        return response
