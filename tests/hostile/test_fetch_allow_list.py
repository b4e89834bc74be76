"""The fetch allow-list names a host and its port: allowing one local server opens no other."""

from __future__ import annotations

import pytest
from pytest_django.fixtures import Settings

from sources.fetching import FetchError, fetch
from tests.conftest import LocalServer, Route

HTML = {"Content-Type": "text/html; charset=utf-8"}


def test_an_entry_with_a_port_allows_that_port_only(local_server: LocalServer, settings: Settings) -> None:
    local_server.routes["/page"] = Route(body=b"<p>hello</p>", headers=HTML)
    settings.NEWSROOM_FETCH_ALLOWED_HOSTS = [f"127.0.0.1:{local_server.port}"]

    assert fetch(local_server.url("/page")).content == b"<p>hello</p>"

    other = local_server.port + 1 if local_server.port < 65535 else local_server.port - 1
    with pytest.raises(FetchError, match="non-public address"):
        fetch(f"http://127.0.0.1:{other}/page")


def test_a_bare_host_allows_only_the_default_port(local_server: LocalServer, settings: Settings) -> None:
    local_server.routes["/page"] = Route(body=b"<p>hello</p>", headers=HTML)
    settings.NEWSROOM_FETCH_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

    with pytest.raises(FetchError, match="non-public address"):
        fetch(local_server.url("/page"))
    with pytest.raises(FetchError, match="non-public address"):
        fetch(f"http://localhost:{local_server.port}/page")
    assert local_server.requests == []


def test_a_wildcard_port_is_explicit(local_server: LocalServer, settings: Settings) -> None:
    local_server.routes["/page"] = Route(body=b"<p>hello</p>", headers=HTML)
    settings.NEWSROOM_FETCH_ALLOWED_HOSTS = ["127.0.0.1:*"]

    assert fetch(local_server.url("/page")).status == 200
    with pytest.raises(FetchError, match="non-public address"):
        fetch(f"http://localhost:{local_server.port}/page")


def test_an_invalid_port_is_a_clear_refusal() -> None:
    with pytest.raises(FetchError, match=r"Refused 'http://example\.org:99999/'"):
        fetch("http://example.org:99999/")
