"""Hostile and broken input: each gets a clear, recorded error; nothing is lost and nothing crashes."""

from __future__ import annotations

import tracemalloc
import zlib

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from sources import articles, fetching
from sources.articles import article_discover, article_fetch
from sources.feeds import feed_poll
from sources.fetching import FetchError, fetch
from sources.models import Article, Feed, Outlet
from tests.conftest import LocalServer, Route, analysed_article_make, story_build, unit_vector
from tests.test_feeds import PARAGRAPHS, article_page, rss_feed
from tests.test_fetching import gzip_bomb

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def poll_error(feed: Feed) -> str:
    feed_poll(feed_id=feed.pk)
    feed.refresh_from_db()
    assert feed.consecutive_failures == 1
    return feed.last_error


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),  # cloud metadata (link-local)
        ("http://[::1]:8080/feed", "::1"),
        ("http://192.168.1.1/feed", "192.168.1.1"),
        ("http://10.1.2.3/feed", "10.1.2.3"),
        ("http://0.0.0.0/feed", "0.0.0.0"),
        ("http://[fd00::1]/feed", "fd00::1"),
    ],
)
def test_it_refuses_a_feed_on_a_private_or_metadata_address(left_outlet: Outlet, url: str, address: str) -> None:
    feed = Feed.objects.create(outlet=left_outlet, url=url)

    assert f"non-public address ({address})" in poll_error(feed)


def test_it_refuses_an_article_on_a_private_address(left_outlet: Outlet) -> None:
    article, _created = article_discover(outlet=left_outlet, url="http://169.254.169.254/latest/")

    fetched = article_fetch(article_id=article.pk)

    assert fetched.state == Article.State.FAILED
    assert "non-public address (169.254.169.254)" in fetched.last_error


def test_it_records_an_endless_redirect_on_the_feed(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/feed"] = Route(status=301, headers={"Location": "/feed"})

    assert poll_error(feed).startswith("Too many redirects")


def test_it_records_a_slow_feed_as_timed_out(feed: Feed, local_server: LocalServer, settings: Settings) -> None:
    settings.NEWSROOM_FETCH_TIMEOUT_SECONDS = 0.2
    local_server.routes["/feed"] = Route(body=rss_feed(), headers=RSS, delay=1.0)

    assert poll_error(feed).startswith("Timed out fetching")


def test_it_records_a_gzip_bomb_feed_and_stays_within_a_few_times_the_cap(
    feed: Feed, local_server: LocalServer, settings: Settings
) -> None:
    settings.NEWSROOM_FETCH_MAX_BYTES = 2 * 1024 * 1024
    local_server.routes["/feed"] = Route(body=gzip_bomb(512), headers={**RSS, "Content-Encoding": "gzip"})

    tracemalloc.start()
    try:
        error = poll_error(feed)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert "exceeds the limit of 2097152 bytes" in error
    # Inflated a bounded piece at a time: a few times the cap, not the 512 MiB the bomb holds.
    assert peak < 4 * settings.NEWSROOM_FETCH_MAX_BYTES


def test_it_decodes_deflate_bodies_zlib_wrapped_or_raw(local_server: LocalServer) -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    local_server.routes["/zlib"] = Route(body=zlib.compress(b"wrapped"), headers={"Content-Encoding": "deflate"})
    local_server.routes["/raw"] = Route(
        body=raw.compress(b"raw deflate") + raw.flush(), headers={"Content-Encoding": "deflate"}
    )

    assert fetch(local_server.url("/zlib")).content == b"wrapped"
    assert fetch(local_server.url("/raw")).content == b"raw deflate"


def test_it_refuses_an_encoding_it_did_not_ask_for(local_server: LocalServer) -> None:
    local_server.routes["/br"] = Route(body=b"\x8b\x02\x80hello\x03", headers={"Content-Encoding": "br"})

    with pytest.raises(FetchError, match="Unsupported content encoding 'br'"):
        fetch(local_server.url("/br"))
    assert local_server.requests[0][1]["Accept-Encoding"] == "gzip, deflate"


def test_it_records_a_corrupt_gzip_body(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/feed"] = Route(body=b"\x1f\x8b\x08\x00garbage", headers={**RSS, "Content-Encoding": "gzip"})

    assert "Could not decode" in poll_error(feed)


def test_it_records_an_article_that_is_not_a_web_page(left_outlet: Outlet, local_server: LocalServer) -> None:
    local_server.routes["/report.pdf"] = Route(body=b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
    article, _created = article_discover(outlet=left_outlet, url=local_server.url("/report.pdf"))

    fetched = article_fetch(article_id=article.pk)

    assert fetched.state == Article.State.FAILED
    assert "Unexpected content type 'application/pdf'" in fetched.last_error


def test_it_records_a_page_that_breaks_the_extractor(
    left_outlet: Outlet, local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_server.routes["/odd"] = Route(body=b"<html><p>odd</p></html>", headers=HTML)
    article, _created = article_discover(outlet=left_outlet, url=local_server.url("/odd"))

    def explode(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(articles.trafilatura, "bare_extraction", explode)

    fetched = article_fetch(article_id=article.pk)

    assert fetched.state == Article.State.FAILED
    assert fetched.last_error == "Could not extract the page: RecursionError: maximum recursion depth exceeded"


def test_it_skips_feed_links_that_are_not_web_urls_or_too_long(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/feed"] = Route(
        body=rss_feed(
            ("Script", "javascript:alert(1)", ""),
            ("Huge", "https://leftledger.example/" + "a" * 3000, ""),
            ("Fine", "https://leftledger.example/fine", ""),
        ),
        headers=RSS,
    )

    feed_poll(feed_id=feed.pk)

    assert list(Article.objects.values_list("canonical_url", flat=True)) == ["https://leftledger.example/fine"]


# --- Language ------------------------------------------------------------------------------

FRENCH = (
    "Le conseil municipal de Riverton a voté mardi soir une hausse du tarif des transports en commun, "
    "la première depuis six ans. Les usagers qui travaillent de nuit seront les plus touchés, selon "
    "plusieurs associations présentes lors de la séance publique. La hausse entrera en vigueur en janvier. "
)


def test_it_detects_the_language_of_the_extracted_text(left_outlet: Outlet, local_server: LocalServer) -> None:
    page = article_page(title="Le tarif augmente", body=f"<p>{FRENCH}</p><p>{FRENCH}</p>").replace(
        b'<html lang="en">', b"<html>"
    )
    local_server.routes["/fr"] = Route(body=page, headers=HTML)
    local_server.routes["/en"] = Route(body=article_page(title="Fare", body=f"<p>{PARAGRAPHS}</p>"), headers=HTML)
    french, _ = article_discover(outlet=left_outlet, url=local_server.url("/fr"))
    english, _ = article_discover(outlet=left_outlet, url=local_server.url("/en"))

    assert article_fetch(article_id=french.pk).language == "fr"
    assert article_fetch(article_id=english.pk).language == "en"


def test_it_detects_the_language_of_an_imported_text_that_names_none(left_outlet: Outlet) -> None:
    article, _created = article_discover(outlet=left_outlet, url="https://leftledger.example/fr", text=FRENCH)

    assert article.language == "fr"


# --- Article HTML never rendered ---------------------------------------------------------------


def test_article_markup_reaches_pages_only_as_escaped_text(
    left_outlet: Outlet, center_outlet: Outlet, client: Client
) -> None:
    vector = unit_vector(7)
    hostile = analysed_article_make(
        outlet=left_outlet,
        title='Fare <script>alert("x")</script> rise',
        vector=unit_vector(8, near=vector),
        sentences=["The board <img src=x onerror=alert(1)> raised the fare to $2.75 on Tuesday."],
    )
    calm = analysed_article_make(outlet=center_outlet, title="Fare rises to $2.75", vector=unit_vector(9, near=vector))
    story = story_build([hostile, calm])

    html = client.get(story.get_absolute_url()).content.decode()

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_extraction_keeps_text_not_markup(left_outlet: Outlet, local_server: LocalServer) -> None:
    body = f"<p>{PARAGRAPHS}</p><script>document.write('pwned')</script><p>{PARAGRAPHS}</p>"
    local_server.routes["/page"] = Route(body=article_page(title="Fare", body=body), headers=HTML)
    article, _ = article_discover(outlet=left_outlet, url=local_server.url("/page"))

    fetched = article_fetch(article_id=article.pk)

    assert "voted five to two" in fetched.text
    assert "pwned" not in fetched.text
    assert "<" not in fetched.text


def test_it_refuses_a_response_from_a_private_address_when_dns_changed_after_the_check(
    local_server: LocalServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the name looked public when checked, then resolved to 127.0.0.1 for the connection.
    settings.NEWSROOM_FETCH_ALLOWED_HOSTS = []
    monkeypatch.setattr(fetching, "_check_public_address", lambda url: None)
    local_server.routes["/internal"] = Route(body=b"secret", headers=HTML)

    with pytest.raises(FetchError, match=r"connected to a non-public address \(127\.0\.0\.1\)"):
        fetch(local_server.url("/internal"))
