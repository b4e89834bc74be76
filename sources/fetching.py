"""Fetching bytes over HTTP with the limits a crawler on the open web needs.

Every fetch has a timeout, a cap on the decoded body size (so a gzip bomb stops
at the cap, not at the end of memory), a cap on redirects, and a check that the
host is not on a private network (server-side request forgery) unless the host
is allow-listed in ``NEWSROOM_FETCH_ALLOWED_HOSTS``; the tests' local servers are.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings


class FetchError(Exception):
    """A fetch that did not give a usable response; the message says why."""


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


def _host_is_allowed(host: str) -> bool:
    allowed: list[str] = getattr(settings, "NEWSROOM_FETCH_ALLOWED_HOSTS", [])
    return host in allowed


def _check_public_address(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"Refused {url!r}: only http and https URLs are fetched.")
    host = parts.hostname or ""
    if not host:
        raise FetchError(f"Refused {url!r}: no host name.")
    if _host_is_allowed(host):
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as error:
        raise FetchError(f"Could not resolve {host!r}: {error}.") from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchError(f"Refused {url!r}: {host} resolves to a non-public address ({address}).")


def fetch(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    accept: str = "*/*",
    allowed_content_types: tuple[str, ...] = (),
) -> FetchResult:
    """GET ``url``, following redirects one hop at a time so each hop is checked."""
    timeout = httpx.Timeout(settings.NEWSROOM_FETCH_TIMEOUT_SECONDS)
    max_bytes: int = settings.NEWSROOM_FETCH_MAX_BYTES
    headers = {"User-Agent": settings.NEWSROOM_USER_AGENT, "Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified

    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        current = url
        for _hop in range(settings.NEWSROOM_FETCH_MAX_REDIRECTS + 1):
            _check_public_address(current)
            try:
                with client.stream("GET", current, headers=headers) as response:
                    # Before the redirect check: httpx counts every 3xx, 304 included, as a redirect.
                    if response.status_code == 304:
                        return FetchResult(url=current, status=304, content=b"", headers=dict(response.headers))
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        if not location:
                            raise FetchError(f"Redirect without a Location header from {current}.")
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 400:
                        raise FetchError(f"HTTP {response.status_code} from {current}.")
                    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    if allowed_content_types and content_type and not content_type.startswith(allowed_content_types):
                        raise FetchError(f"Unexpected content type {content_type!r} from {current}.")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(f"Response from {current} is {declared} bytes; the limit is {max_bytes}.")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise FetchError(f"Response from {current} exceeds the limit of {max_bytes} bytes.")
                    return FetchResult(
                        url=current, status=response.status_code, content=bytes(body), headers=dict(response.headers)
                    )
            except httpx.TimeoutException as error:
                raise FetchError(f"Timed out fetching {current}.") from error
            except httpx.DecodingError as error:
                raise FetchError(f"Could not decode the response from {current}: {error}.") from error
            except httpx.HTTPError as error:
                raise FetchError(f"Could not fetch {current}: {error}.") from error
        raise FetchError(f"Too many redirects starting from {url}.")
