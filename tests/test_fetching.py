"""Fetching over HTTP with a crawler's limits, against a server on 127.0.0.1 only."""

from __future__ import annotations

import time
import tracemalloc
import zlib

import pytest
from pytest_django.fixtures import Settings

from sources.fetching import FetchError, fetch
from tests.conftest import LocalServer, Route

HTML = {"Content-Type": "text/html; charset=utf-8"}


def test_it_returns_the_body_status_and_headers(local_server: LocalServer) -> None:
    local_server.routes["/page"] = Route(body=b"<html><p>Hello</p></html>", headers=HTML)

    result = fetch(local_server.url("/page"), accept="text/html")

    assert result.status == 200
    assert result.content == b"<html><p>Hello</p></html>"
    assert result.content_type == "text/html"
    assert result.url == local_server.url("/page")
    path, headers = local_server.requests[0]
    assert path == "/page"
    assert headers["Accept"] == "text/html"
    assert headers["User-Agent"].startswith("NewsroomBot/")


def test_it_raises_a_clear_error_on_a_server_error(local_server: LocalServer) -> None:
    local_server.routes["/broken"] = Route(status=500, body=b"oops", headers=HTML)

    with pytest.raises(FetchError, match=r"^HTTP 500 from http://127\.0\.0\.1:\d+/broken\.$"):
        fetch(local_server.url("/broken"))


def test_it_follows_redirects_and_reports_the_final_url(local_server: LocalServer) -> None:
    local_server.routes["/old"] = Route(status=301, headers={"Location": "/middle"})
    local_server.routes["/middle"] = Route(status=302, headers={"Location": local_server.url("/new")})
    local_server.routes["/new"] = Route(body=b"moved here", headers=HTML)

    result = fetch(local_server.url("/old"))

    assert result.content == b"moved here"
    assert result.url == local_server.url("/new")
    assert [path for path, _headers in local_server.requests] == ["/old", "/middle", "/new"]


def test_it_gives_up_on_an_endless_redirect_loop(local_server: LocalServer, settings: Settings) -> None:
    settings.NEWSROOM_FETCH_MAX_REDIRECTS = 3
    local_server.routes["/a"] = Route(status=302, headers={"Location": "/b"})
    local_server.routes["/b"] = Route(status=302, headers={"Location": "/a"})

    with pytest.raises(FetchError, match="Too many redirects"):
        fetch(local_server.url("/a"))

    assert len(local_server.requests) == 4


def test_it_refuses_a_redirect_to_a_private_address(local_server: LocalServer) -> None:
    # 127.0.0.1 is allow-listed for the tests; 10.0.0.1 is not, and is never contacted.
    local_server.routes["/jump"] = Route(status=302, headers={"Location": "http://10.0.0.1/admin"})

    with pytest.raises(FetchError, match=r"non-public address \(10\.0\.0\.1\)"):
        fetch(local_server.url("/jump"))


def test_it_refuses_a_body_over_the_size_limit(local_server: LocalServer, settings: Settings) -> None:
    settings.NEWSROOM_FETCH_MAX_BYTES = 1000
    local_server.routes["/big"] = Route(body=b"x" * 1001, headers=HTML)
    local_server.routes["/fits"] = Route(body=b"x" * 1000, headers=HTML)

    with pytest.raises(FetchError, match="1001 bytes; the limit is 1000"):
        fetch(local_server.url("/big"))
    assert len(fetch(local_server.url("/fits")).content) == 1000


def gzip_bomb(inflated_mebibytes: int) -> bytes:
    """A valid gzip stream of zeros, built from one compressed block repeated (fast to make, tiny to send)."""
    block = bytes(1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    # A full flush leaves the segment byte-aligned and independent of what came before, so it can repeat.
    segment = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated_mebibytes):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    size = (inflated_mebibytes * len(block)) % 2**32
    trailer = crc.to_bytes(4, "little") + size.to_bytes(4, "little")
    return header + segment * inflated_mebibytes + compressor.flush(zlib.Z_FINISH) + trailer


def test_it_stops_a_gzip_bomb_at_the_limit_without_inflating_it(local_server: LocalServer, settings: Settings) -> None:
    inflated_mebibytes = 1024
    # Well above the compressed size, so only the decoded size can trip the limit.
    settings.NEWSROOM_FETCH_MAX_BYTES = 4 * 1024 * 1024
    bomb = gzip_bomb(inflated_mebibytes)
    assert len(bomb) < 2 * 1024 * 1024
    local_server.routes["/bomb"] = Route(body=bomb, headers={**HTML, "Content-Encoding": "gzip"})

    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="exceeds the limit of 4194304 bytes"):
            fetch(local_server.url("/bomb"))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Inflating the whole body would take a gibibyte; a fetch that stops early needs a small part of it.
    assert peak < inflated_mebibytes * 1024 * 1024 / 4


def test_it_decodes_a_gzip_body_within_the_limit(local_server: LocalServer) -> None:
    local_server.routes["/small.gz"] = Route(
        body=zlib.compress(b"<p>compressed</p>", wbits=31), headers={**HTML, "Content-Encoding": "gzip"}
    )

    assert fetch(local_server.url("/small.gz")).content == b"<p>compressed</p>"


def test_it_times_out_on_a_slow_server(local_server: LocalServer, settings: Settings) -> None:
    settings.NEWSROOM_FETCH_TIMEOUT_SECONDS = 0.2
    local_server.routes["/slow"] = Route(body=b"late", headers=HTML, delay=2.0)

    started = time.perf_counter()
    with pytest.raises(FetchError, match=r"Timed out fetching http://127\.0\.0\.1:\d+/slow"):
        fetch(local_server.url("/slow"))

    assert time.perf_counter() - started < 1.5


def test_it_refuses_an_unexpected_content_type(local_server: LocalServer) -> None:
    local_server.routes["/photo.jpg"] = Route(body=b"\xff\xd8\xff", headers={"Content-Type": "image/jpeg"})

    with pytest.raises(FetchError, match="Unexpected content type 'image/jpeg'"):
        fetch(local_server.url("/photo.jpg"), allowed_content_types=("text/html", "application/xhtml+xml"))


def test_it_refuses_a_private_address_that_is_not_allow_listed(local_server: LocalServer, settings: Settings) -> None:
    settings.NEWSROOM_FETCH_ALLOWED_HOSTS = []
    local_server.routes["/internal"] = Route(body=b"secret", headers=HTML)

    with pytest.raises(FetchError, match=r"127\.0\.0\.1 resolves to a non-public address"):
        fetch(local_server.url("/internal"))
    with pytest.raises(FetchError, match="non-public address"):
        fetch(f"http://localhost:{local_server.port}/internal")

    assert local_server.requests == []


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://127.0.0.1:70/", "javascript:alert(1)"],
)
def test_it_refuses_urls_that_are_not_http(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https URLs are fetched"):
        fetch(url)
