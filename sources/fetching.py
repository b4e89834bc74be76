"""Fetching bytes over HTTP with the limits a crawler on the open web needs.

Every fetch has a timeout, a cap on the decoded body size (so a gzip bomb stops
at the cap, not at the end of memory), a cap on redirects, and a check that the
host is not on a private network (server-side request forgery) unless the host
is allow-listed in ``NEWSROOM_FETCH_ALLOWED_HOSTS`` with its port; the tests' local servers are.

Every request to a host also takes a turn at that host (``host_turn``): at most
``NEWSROOM_HOST_CONCURRENCY`` requests at once and ``NEWSROOM_HOST_DELAY_SECONDS``
between the starts of two, shared by every worker through Redis when
``NEWSROOM_POLITENESS_REDIS_URL`` is set, within the process otherwise.
Article pages are fetched only where the site's robots.txt allows (``robots_allow``).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import certifi
import httpx
from django.conf import settings

logger = logging.getLogger(__name__)


class FetchError(Exception):
    """A fetch that did not give a usable response; the message says why."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _allow_entry(entry: str) -> tuple[str, str]:
    """``host``, ``host:port`` or ``host:*`` (an IPv6 address in brackets) as (host, port or "*").

    A bare host allows only the scheme's default port: allowing one local server must not open
    every service on that machine.
    """
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest.removeprefix(":")
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, ""


def _host_is_allowed(url: str) -> bool:
    allowed: list[str] = getattr(settings, "NEWSROOM_FETCH_ALLOWED_HOSTS", [])
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or _default_port(parts.scheme)
    except ValueError:
        return False
    for entry in allowed:
        allowed_host, allowed_port = _allow_entry(entry)
        if allowed_host != host:
            continue
        if allowed_port == "*" or (allowed_port or str(_default_port(parts.scheme))) == str(port):
            return True
    return False


def _check_public_address(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"Refused {url!r}: only http and https URLs are fetched.")
    host = parts.hostname or ""
    if not host:
        raise FetchError(f"Refused {url!r}: no host name.")
    try:
        port = parts.port or _default_port(parts.scheme)
    except ValueError as error:
        raise FetchError(f"Refused {url!r}: {error}.") from error
    if _host_is_allowed(url):
        return
    try:
        infos = socket.getaddrinfo(host, port)
    except socket.gaierror as error:
        raise FetchError(f"Could not resolve {host!r}: {error}.") from error
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchError(f"Refused {url!r}: {host} resolves to a non-public address ({address}).")


_tls_contexts: list[ssl.SSLContext] = []


def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every fetch: loading the CA bundle costs more than a local fetch."""
    if not _tls_contexts:
        _tls_contexts.append(ssl.create_default_context(cafile=certifi.where()))
    return _tls_contexts[0]


def _check_peer(response: httpx.Response, url: str) -> None:
    """Refuse a response from a non-public address although the name resolved to a public one at the
    check: its DNS answer changed in between (DNS rebinding). The request went out, but nothing it
    returns is read."""
    stream = response.extensions.get("network_stream")
    if stream is None or _host_is_allowed(url):
        return
    peer = stream.get_extra_info("server_addr")
    if not peer:
        return
    address = ipaddress.ip_address(peer[0])
    if not address.is_global:
        raise FetchError(f"Refused {url!r}: connected to a non-public address ({address}).")


def fetch(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    accept: str = "*/*",
    allowed_content_types: tuple[str, ...] = (),
    check_robots: bool = False,
) -> FetchResult:
    """GET ``url``, following redirects one hop at a time so each hop is checked.

    With ``check_robots`` (article pages) each hop must also be allowed by its site's robots.txt.
    """
    timeout = httpx.Timeout(settings.NEWSROOM_FETCH_TIMEOUT_SECONDS)
    # The timeout above bounds each read; this bounds the whole fetch, redirects included, so a
    # server that sends a byte every few seconds cannot hold a worker for minutes.
    limit: float = settings.NEWSROOM_FETCH_DEADLINE_SECONDS
    deadline = time.monotonic() + limit
    max_bytes: int = settings.NEWSROOM_FETCH_MAX_BYTES
    # Only the encodings _Inflater decodes: br or zstd would be inflated by httpx, whole, out of our control.
    headers = {"User-Agent": settings.NEWSROOM_USER_AGENT, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified

    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls_context()) as client:
        current = url
        for _hop in range(settings.NEWSROOM_FETCH_MAX_REDIRECTS + 1):
            if time.monotonic() > deadline:
                raise FetchError(f"Gave up on {url}: not done after {limit:g} s in all.")
            _check_public_address(current)
            if check_robots:
                robots_allow(current)
            try:
                with host_turn(urlsplit(current).netloc), client.stream("GET", current, headers=headers) as response:
                    _check_peer(response, current)
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
                        raise FetchError(f"HTTP {response.status_code} from {current}.", status=response.status_code)
                    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    if allowed_content_types and content_type and not content_type.startswith(allowed_content_types):
                        raise FetchError(f"Unexpected content type {content_type!r} from {current}.")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(f"Response from {current} is {declared} bytes; the limit is {max_bytes}.")
                    inflater = _Inflater.for_encoding(response.headers.get("content-encoding", ""), current)
                    body = bytearray()
                    # Raw bytes, inflated here a bounded piece at a time: httpx would inflate each network
                    # read whole, tens of megabytes per read of a gzip bomb.
                    for chunk in response.iter_raw():
                        body.extend(inflater.inflate(chunk, room=max_bytes - len(body) + 1) if inflater else chunk)
                        if len(body) > max_bytes:
                            raise FetchError(f"Response from {current} exceeds the limit of {max_bytes} bytes.")
                        if time.monotonic() > deadline:
                            raise FetchError(f"Gave up on {current}: not done after {limit:g} s in all.")
                    if inflater and not inflater.finished:
                        raise FetchError(
                            f"Could not decode the response from {current}: the compressed body is cut short."
                        )
                    return FetchResult(
                        url=current, status=response.status_code, content=bytes(body), headers=dict(response.headers)
                    )
            except httpx.TimeoutException as error:
                raise FetchError(f"Timed out fetching {current}.") from error
            except (httpx.DecodingError, zlib.error) as error:
                raise FetchError(f"Could not decode the response from {current}: {error}.") from error
            except httpx.HTTPError as error:
                raise FetchError(f"Could not fetch {current}: {error}.") from error
        raise FetchError(f"Too many redirects starting from {url}.")


class _Inflater:
    """Decodes a gzip or deflate body without ever producing more than it is asked for."""

    def __init__(self, wbits: int | None) -> None:
        self._wbits = wbits  # None: deflate, zlib-wrapped or raw, told apart by the first bytes
        self._decompressor: Any = zlib.decompressobj(wbits) if wbits is not None else None

    @classmethod
    def for_encoding(cls, encoding: str, url: str) -> _Inflater | None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            return None
        if encoding in ("gzip", "x-gzip"):
            return cls(zlib.MAX_WBITS | 16)
        if encoding == "deflate":
            return cls(None)
        raise FetchError(f"Unsupported content encoding {encoding!r} from {url}.")

    @property
    def finished(self) -> bool:
        return self._decompressor is not None and bool(self._decompressor.eof)

    def inflate(self, data: bytes, *, room: int) -> bytes:
        """At most ``room`` bytes of output; input that would give more is left unread (the caller stops)."""
        if self._decompressor is None:
            # RFC 9110's deflate is zlib-wrapped, but servers send raw deflate too.
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._decompressor = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        output = self._decompressor.decompress(data, room)
        # A gzip body may hold several members one after another.
        while self._decompressor.eof and self._decompressor.unused_data and len(output) < room and self._wbits:
            rest = self._decompressor.unused_data
            self._decompressor = zlib.decompressobj(self._wbits)
            output += self._decompressor.decompress(rest, room - len(output))
        return output


# --- Politeness: one host at a time, a little apart ------------------------------

# Reserves a turn at a host atomically for every worker: returns -1 when the host already has its
# limit of requests under way, otherwise the seconds to wait before starting. Redis's clock is used
# so that workers on machines whose clocks differ still space their requests.
_RESERVE_TURN = """
local active = tonumber(redis.call('GET', KEYS[1]) or '0')
if active >= tonumber(ARGV[2]) then return '-1' end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local start = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
redis.call('SET', KEYS[2], tostring(start + tonumber(ARGV[1])), 'EX', ARGV[3])
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return tostring(start - now)
"""


@dataclass
class _HostTurns:
    """The in-process stand-in for the Redis keys: who is fetching from a host, and when the next may start."""

    condition: threading.Condition = field(default_factory=threading.Condition)
    active: int = 0
    next_start: float = 0.0


_host_turns: dict[str, _HostTurns] = {}
_host_turns_lock = threading.Lock()
_redis_clients: dict[str, Any] = {}


def _redis_client(url: str) -> Any:
    client = _redis_clients.get(url)
    if client is None:
        import redis  # the broker's client library; only needed when Redis holds the turns

        client = _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return client


@contextmanager
def host_turn(host: str) -> Iterator[None]:
    """Wait for a turn at ``host`` (host:port), then hold it while the request runs."""
    concurrency: int = max(1, settings.NEWSROOM_HOST_CONCURRENCY)
    delay: float = settings.NEWSROOM_HOST_DELAY_SECONDS
    redis_url: str = settings.NEWSROOM_POLITENESS_REDIS_URL
    if redis_url:
        with _redis_host_turn(redis_url, host, concurrency, delay):
            yield
        return
    with _host_turns_lock:
        turns = _host_turns.setdefault(host, _HostTurns())
    with turns.condition:
        while turns.active >= concurrency:
            turns.condition.wait()
        turns.active += 1
        start = max(time.monotonic(), turns.next_start)
        turns.next_start = start + delay
    try:
        time.sleep(max(0.0, start - time.monotonic()))
        yield
    finally:
        with turns.condition:
            turns.active -= 1
            turns.condition.notify()


@contextmanager
def _redis_host_turn(url: str, host: str, concurrency: int, delay: float) -> Iterator[None]:
    client = _redis_client(url)
    active_key, next_key = f"newsroom:host:{host}:active", f"newsroom:host:{host}:next"
    # The keys expire, so a worker killed while holding a turn does not hold it for ever.
    expiry = int(settings.NEWSROOM_FETCH_TIMEOUT_SECONDS * 4 + delay * concurrency) + 10
    deadline = time.monotonic() + expiry
    while True:
        wait = float(client.eval(_RESERVE_TURN, 2, active_key, next_key, delay, concurrency, expiry))
        if wait >= 0:
            break
        if time.monotonic() > deadline:
            raise FetchError(f"Gave up waiting for a turn at {host}: {concurrency} requests still under way.")
        time.sleep(0.05)
    try:
        time.sleep(wait)
        yield
    finally:
        client.decr(active_key)


# --- robots.txt -----------------------------------------------------------------

_robots_cache: dict[str, tuple[float, RobotFileParser | None, str]] = {}
_robots_lock = threading.Lock()


def _user_agent_token() -> str:
    agent: str = settings.NEWSROOM_USER_AGENT
    return agent.split("/")[0].split()[0] if agent.strip() else "*"


def robots_allow(url: str) -> None:
    """Raise FetchError unless the site's robots.txt lets our user agent fetch ``url``.

    Per RFC 9309: no robots.txt (a 4xx) allows everything; one that cannot be read (a 5xx,
    a timeout) disallows everything until it can. Answers are cached per origin for
    ``NEWSROOM_ROBOTS_CACHE_SECONDS`` (a failure for a tenth of that).
    """
    if not settings.NEWSROOM_RESPECT_ROBOTS:
        return
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    now = time.monotonic()
    with _robots_lock:
        cached = _robots_cache.get(origin)
    if cached is None or cached[0] < now:
        lifetime: float = settings.NEWSROOM_ROBOTS_CACHE_SECONDS
        parser: RobotFileParser | None = RobotFileParser()
        problem = ""
        try:
            result = fetch(f"{origin}/robots.txt", accept="text/plain", check_robots=False)
            assert parser is not None
            parser.parse(result.content.decode("utf-8", "replace").splitlines())
            parser.modified()  # can_fetch answers False for a parser it thinks was never read
        except FetchError as error:
            if error.status is not None and 400 <= error.status < 500 and error.status != 429:
                parser = None  # no robots.txt: everything is allowed
            else:
                problem = f"robots.txt of {origin} could not be read ({error})"
                lifetime /= 10
        cached = (now + lifetime, parser, problem)
        with _robots_lock:
            _robots_cache[origin] = cached
    _expires, parser, problem = cached
    if problem:
        raise FetchError(f"Not fetched: {problem}.")
    if parser is not None and not parser.can_fetch(_user_agent_token(), url):
        raise FetchError(f"Not fetched: robots.txt of {origin} disallows {url} for {_user_agent_token()}.")
