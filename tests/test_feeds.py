"""Polling feeds and fetching article pages, against a server on 127.0.0.1 only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
import time_machine

from sources.articles import article_discover, article_fetch
from sources.feeds import feed_poll
from sources.models import Article, Feed, Outlet
from tests.conftest import LocalServer, Route

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM = {"Content-Type": "application/atom+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
# When the schedule tests poll: a fixed instant on the suite clock, so back-off is compared exactly.
POLL_TIME = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def rss_feed(*items: tuple[str, str, str]) -> bytes:
    """An RSS 2.0 document with (title, link, pubDate) items."""
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><pubDate>{published}</pubDate></item>"
        for title, link, published in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Left Ledger</title>'
        f"<link>https://leftledger.example/</link><description>News</description>{entries}</channel></rss>"
    ).encode()


FARE_ITEMS = (
    (
        "Fare hike hits riders",
        "https://leftledger.example/2026/11/fare?utm_source=rss&utm_medium=feed",
        "Wed, 18 Nov 2026 09:00:00 GMT",
    ),
    ("Council approves budget", "https://leftledger.example/2026/11/budget", "Wed, 18 Nov 2026 11:30:00 +0000"),
    # The first story again, as another link: it is the same article.
    (
        "Fare hike hits riders (updated)",
        "https://leftledger.example/2026/11/fare#comments",
        "Wed, 18 Nov 2026 12:00:00 GMT",
    ),
)


@pytest.fixture
def feed(left_outlet: Outlet, local_server: LocalServer) -> Feed:
    return Feed.objects.create(outlet=left_outlet, url=local_server.url("/feed.xml"))


def test_it_creates_articles_from_an_rss_feed_once_per_canonical_url(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/feed.xml"] = Route(body=rss_feed(*FARE_ITEMS), headers=RSS)

    new_ids = feed_poll(feed_id=feed.pk)

    articles = {article.canonical_url: article for article in Article.objects.filter(pk__in=new_ids)}
    assert set(articles) == {"https://leftledger.example/2026/11/fare", "https://leftledger.example/2026/11/budget"}
    fare = articles["https://leftledger.example/2026/11/fare"]
    assert fare.title == "Fare hike hits riders"
    assert fare.published_at == datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
    assert (fare.state, fare.outlet_id, fare.feed_id) == (Article.State.DISCOVERED, feed.outlet_id, feed.pk)
    assert articles["https://leftledger.example/2026/11/budget"].published_at == datetime(
        2026, 11, 18, 11, 30, tzinfo=UTC
    )

    assert feed_poll(feed_id=feed.pk) == []
    assert Article.objects.count() == 2


def test_it_creates_articles_from_an_atom_feed(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/feed.xml"] = Route(
        body=b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Left Ledger</title><id>urn:ledger</id>
<updated>2026-11-18T10:00:00Z</updated>
<entry><title>Bridge closes for repairs</title><id>urn:ledger:1</id>
  <link rel="alternate" href="https://leftledger.example/2026/11/bridge?fbclid=abc"/>
  <updated>2026-11-18T10:00:00Z</updated><published>2026-11-18T08:15:00+01:00</published></entry>
<entry><title>No link here</title><id>urn:ledger:2</id><updated>2026-11-18T10:00:00Z</updated></entry>
</feed>""",
        headers=ATOM,
    )

    feed_poll(feed_id=feed.pk)

    article = Article.objects.get()
    assert article.canonical_url == "https://leftledger.example/2026/11/bridge"
    assert article.title == "Bridge closes for repairs"
    assert article.published_at == datetime(2026, 11, 18, 7, 15, tzinfo=UTC)


def test_it_sends_the_validators_back_and_creates_nothing_on_not_modified(
    feed: Feed, local_server: LocalServer
) -> None:
    validators = {"ETag": '"v1"', "Last-Modified": "Wed, 18 Nov 2026 09:00:00 GMT"}
    # Were the validators lost, a later poll would get the second version and its new item.
    versions = [rss_feed(*FARE_ITEMS), rss_feed(*FARE_ITEMS, ("Late item", "https://leftledger.example/late", ""))]

    def conditional(handler: BaseHTTPRequestHandler) -> Route:
        if handler.headers.get("If-None-Match") == '"v1"':
            return Route(status=304, headers={"ETag": '"v1"'})
        return Route(body=versions.pop(0) if len(versions) > 1 else versions[0], headers={**RSS, **validators})

    local_server.routes["/feed.xml"] = conditional
    feed_poll(feed_id=feed.pk)
    articles = Article.objects.count()

    assert feed_poll(feed_id=feed.pk) == []
    feed_poll(feed_id=feed.pk)

    _path, first_headers = local_server.requests[0]
    assert "If-None-Match" not in first_headers
    for _path, headers in local_server.requests[1:]:
        assert headers["If-None-Match"] == '"v1"'
        # A 304 need not repeat Last-Modified; the one already known is kept for the next poll.
        assert headers["If-Modified-Since"] == "Wed, 18 Nov 2026 09:00:00 GMT"
    assert Article.objects.count() == articles
    feed.refresh_from_db()
    assert (feed.consecutive_failures, feed.last_error, feed.is_verified) == (0, "", True)


FAILURES = [
    pytest.param(Route(body=b"This is not a feed {", headers=RSS), "Not a readable feed", id="malformed"),
    pytest.param(Route(status=500, body=b"oops", headers=HTML), "HTTP 500", id="server-error"),
    pytest.param(Route(body=b"", headers=RSS), "Not a readable feed", id="empty-body"),
    pytest.param(
        Route(body=b"<html><body><p>Welcome!</p></body></html>", headers=HTML), "Not a readable feed", id="web-page"
    ),
]


@pytest.mark.parametrize(("route", "message"), FAILURES)
def test_it_records_a_failed_poll_and_backs_off(
    feed: Feed, local_server: LocalServer, route: Route, message: str, clock: time_machine.Coordinates
) -> None:
    local_server.routes["/feed.xml"] = route
    clock.move_to(POLL_TIME, tick=False)
    normal_next_poll = POLL_TIME + timedelta(minutes=30)

    assert feed_poll(feed_id=feed.pk) == []

    feed.refresh_from_db()
    assert message in feed.last_error
    assert feed.consecutive_failures == 1
    assert feed.next_poll_at > normal_next_poll
    assert not feed.is_verified
    first_backoff = feed.next_poll_at

    feed_poll(feed_id=feed.pk)

    feed.refresh_from_db()
    assert feed.consecutive_failures == 2
    assert feed.next_poll_at > first_backoff
    assert Article.objects.count() == 0


def test_it_marks_the_feed_verified_and_clears_the_error_after_a_success(
    feed: Feed, local_server: LocalServer, clock: time_machine.Coordinates
) -> None:
    clock.move_to(POLL_TIME, tick=False)
    local_server.routes["/feed.xml"] = Route(status=503, headers=HTML)
    feed_poll(feed_id=feed.pk)
    local_server.routes["/feed.xml"] = Route(body=rss_feed(*FARE_ITEMS), headers=RSS)

    feed_poll(feed_id=feed.pk)

    feed.refresh_from_db()
    assert feed.is_verified
    assert (feed.last_error, feed.consecutive_failures) == ("", 0)
    assert feed.last_success_at is not None
    assert feed.next_poll_at == POLL_TIME + timedelta(minutes=30)


# --- Fetching article pages ---------------------------------------------------

PARAGRAPHS = (
    "The Riverton transit board voted five to two on Tuesday to raise the base fare to $2.75, "
    "the first increase in six years. Board members said rising fuel and labour costs left no choice. "
    "Riders who spoke at the meeting said the increase would fall hardest on people who work night shifts "
    "and cannot drive. The new fare takes effect in January, and monthly passes rise by eight dollars."
)


def article_page(*, title: str, body: str, canonical: str = "") -> bytes:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f'<!doctype html><html lang="en"><head><title>{title}</title>{link}'
        '<meta property="article:published_time" content="2026-11-18T09:00:00+00:00"></head>'
        "<body><nav><a href='/'>Home</a> | <a href='/world'>World</a> | Subscribe now</nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>Copyright Left Ledger</footer></body></html>"
    ).encode()


def discovered(outlet: Outlet, url: str, title: str = "") -> Article:
    article, created = article_discover(outlet=outlet, url=url, title=title)
    assert created
    return article


def test_it_fetches_and_extracts_an_article_page(left_outlet: Outlet, local_server: LocalServer) -> None:
    local_server.routes["/2026/11/fare.html"] = Route(
        body=article_page(title="Transit fare rises to $2.75", body=f"<p>{PARAGRAPHS}</p><p>{PARAGRAPHS}</p>"),
        headers=HTML,
    )
    article = discovered(left_outlet, local_server.url("/2026/11/fare.html"))

    fetched = article_fetch(article_id=article.pk)

    assert fetched.state == Article.State.FETCHED
    assert "voted five to two on Tuesday" in fetched.text
    assert "Subscribe now" not in fetched.text
    assert not fetched.is_title_only
    assert fetched.title == "Transit fare rises to $2.75"
    assert fetched.language == "en"
    assert fetched.published_at == datetime(2026, 11, 18, tzinfo=UTC)
    assert fetched.fetched_at is not None
    assert fetched.content_hash
    # Fetching again does nothing: the article is past discovery.
    assert article_fetch(article_id=article.pk).text == fetched.text
    assert [path for path, _headers in local_server.requests if path != "/robots.txt"] == ["/2026/11/fare.html"]


def test_it_merges_a_page_whose_canonical_url_is_a_known_article(
    left_outlet: Outlet, local_server: LocalServer
) -> None:
    known = discovered(left_outlet, "https://leftledger.example/2026/11/fare", title="Fare hike hits riders")
    local_server.routes["/amp/fare.html"] = Route(
        body=article_page(
            title="Fare hike", body=f"<p>{PARAGRAPHS}</p>", canonical="https://leftledger.example/2026/11/fare"
        ),
        headers=HTML,
    )
    duplicate = discovered(left_outlet, local_server.url("/amp/fare.html"))

    result = article_fetch(article_id=duplicate.pk)

    assert result.pk == known.pk
    assert list(Article.objects.values_list("pk", flat=True)) == [known.pk]


def test_it_keeps_a_page_with_too_little_text_as_title_only(left_outlet: Outlet, local_server: LocalServer) -> None:
    local_server.routes["/brief.html"] = Route(
        body=article_page(title="Bridge closed", body="<p>Developing story.</p>"), headers=HTML
    )
    article = discovered(left_outlet, local_server.url("/brief.html"))

    fetched = article_fetch(article_id=article.pk)

    assert fetched.state == Article.State.FETCHED
    assert fetched.is_title_only
    assert fetched.text == ""
    assert fetched.title == "Bridge closed"


def test_it_marks_an_article_failed_when_its_page_is_missing(left_outlet: Outlet, local_server: LocalServer) -> None:
    article = discovered(left_outlet, local_server.url("/gone.html"), title="Gone")

    fetched = article_fetch(article_id=article.pk)

    assert fetched.state == Article.State.FAILED
    assert fetched.last_error.startswith("HTTP 404 from")
    assert fetched.attempts == 1


def test_it_counts_a_feed_with_no_items_yet_as_a_success(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/feed.xml"] = Route(body=rss_feed(), headers=RSS)

    assert feed_poll(feed_id=feed.pk) == []

    feed.refresh_from_db()
    assert (feed.is_verified, feed.last_error, feed.consecutive_failures) == (True, "", 0)
