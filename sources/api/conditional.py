"""Conditional GET for API details: validators on the response, 304 when the client's copy is current."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache, caches
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from rest_framework import generics, mixins
from rest_framework.renderers import JSONRenderer
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


def request_key(request: Request) -> str:
    """The whole request as a cache key: the absolute URL (a page's next/previous links are absolute)
    with its query in a canonical order, hashed, so no two queries share an entry however long."""
    query = urlencode(sorted(request.query_params.lists()), doseq=True)
    return hashlib.sha256(f"{request.build_absolute_uri(request.path)}?{query}".encode()).hexdigest()


class KeptResponseMixin:
    """Responses kept by a key that carries the version of what they show."""

    def kept_response(
        self, request: Request, key: str, data_get: Callable[[], Any], *, seconds: int
    ) -> HttpResponse | Response:
        """The data under ``key`` as a response; as JSON, rendered once and kept in this process's memory.

        Each key carries the version of what it shows (read at most NEWSROOM_VERSION_SECONDS before),
        so a kept body is never staler than that (as with the
        rendered pages, stories.views.rendered_get); a request then costs no round trip to the shared
        cache and no rendering of the data (37 KB of JSON for a story's detail). Other formats (the
        browsable API) are rendered from the shared cache's data on every request.
        """
        renderer = request.accepted_renderer
        if type(renderer) is not JSONRenderer:
            return Response(data_get())
        # The media type may ask for an indent ("application/json; indent=2"): hashed, as a key has no spaces.
        media = hashlib.sha256(request.accepted_media_type.encode()).hexdigest()[:8]
        kept_key = f"json:{media}:{key}"
        body = caches["pages"].get(kept_key)
        if body is None:
            body = renderer.render(data_get(), request.accepted_media_type, self.get_renderer_context())  # type: ignore[attr-defined]
            caches["pages"].set(kept_key, body, seconds)
        return HttpResponse(body, content_type=renderer.media_type)

    def list_kept(
        self, request: Request, version: str, list_data: Callable[[], Any], *, seconds: int
    ) -> HttpResponse | Response:
        """A list page kept by ``version`` and the whole request, in the shared cache and as JSON in this process."""
        # Hashed: a version may hold spaces (times), which a cache key must not.
        version_key = hashlib.sha256(version.encode()).hexdigest()[:16]
        key = f"{type(self).__name__}-list:{version_key}:{request_key(request)}"

        def data_get() -> Any:
            data = cache.get(key)
            if data is None:
                data = list_data()
                cache.set(key, data, seconds)
            return data

        return self.kept_response(request, key, data_get, seconds=seconds)
