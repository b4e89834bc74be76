"""Feeds in every format, the polling schedule, politeness and robots.txt, against 127.0.0.1 only."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
import time_machine
from pytest_django.fixtures import Settings

from sources.articles import article_discover, article_fetch
from sources.feeds import feed_enable, feed_poll
from sources.fetching import FetchError, fetch
from sources.models import Article, Feed, Outlet
from tests.conftest import LocalServer, Route
from tests.test_feeds import FARE_ITEMS, PARAGRAPHS, POLL_TIME, article_page, rss_feed

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
TEXT = {"Content-Type": "text/plain"}


def urls(feed: Feed) -> set[str]:
    return set(Article.objects.filter(feed=feed).values_list("canonical_url", flat=True))


# --- Formats ---------------------------------------------------------------------


def test_it_reads_a_json_feed(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/feed"] = Route(
        body=b"""{"version": "https://jsonfeed.org/version/1.1", "title": "Left Ledger",
        "items": [
          {"id": "1", "url": "https://leftledger.example/2026/11/dam?utm_campaign=x", "title": "Dam opens",
           "date_published": "2026-11-18T08:00:00-05:00"},
          {"id": "https://leftledger.example/2026/11/levee", "title": "Levee holds"},
          {"id": "3", "title": "No link at all"},
          "not an item"
        ]}""",
        headers={"Content-Type": "application/feed+json"},
    )

    new_ids = feed_poll(feed_id=feed.pk)

    assert len(new_ids) == 2
    dam = Article.objects.get(canonical_url="https://leftledger.example/2026/11/dam")
    assert (dam.title, dam.published_at) == ("Dam opens", datetime(2026, 11, 18, 13, 0, tzinfo=UTC))
    assert Article.objects.filter(canonical_url="https://leftledger.example/2026/11/levee").exists()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"version": "https://jsonfeed.org/version/1.1", "items": [', id="truncated"),
        pytest.param(b'{"title": "not a feed", "items": []}', id="no-version"),
        pytest.param(b'{"version": "https://jsonfeed.org/version/1", "items": {}}', id="items-not-a-list"),
    ],
)
def test_it_records_a_broken_json_feed(feed: Feed, local_server: LocalServer, body: bytes) -> None:
    local_server.routes["/feed"] = Route(body=body, headers={"Content-Type": "application/json"})

    assert feed_poll(feed_id=feed.pk) == []

    feed.refresh_from_db()
    assert feed.last_error.startswith("Not a readable feed")
    assert feed.consecutive_failures == 1


def test_it_reads_rss_091_and_rss_10(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/feed"] = Route(
        body=b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><link>https://a.example/</link>
<description>d</description><language>en</language>
<item><title>Ferry resumes</title><link>https://leftledger.example/ferry</link></item></channel></rss>""",
        headers=RSS,
    )
    feed_poll(feed_id=feed.pk)
    other = Feed.objects.create(outlet=feed.outlet, url=local_server.url("/rdf"))
    local_server.routes["/rdf"] = Route(
        body=b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://leftledger.example/"><title>Ledger</title><link>https://leftledger.example/</link>
<description>d</description></channel>
<item rdf:about="https://leftledger.example/tram"><title>Tram extended</title>
<link>https://leftledger.example/tram</link><dc:date>2026-11-18T06:00:00Z</dc:date></item></rdf:RDF>""",
        headers={"Content-Type": "application/rdf+xml"},
    )
    feed_poll(feed_id=other.pk)

    assert urls(feed) == {"https://leftledger.example/ferry"}
    tram = Article.objects.get(feed=other)
    assert (tram.title, tram.published_at) == ("Tram extended", datetime(2026, 11, 18, 6, 0, tzinfo=UTC))


def test_it_reads_a_feed_in_a_declared_legacy_encoding(feed: Feed, local_server: LocalServer) -> None:
    body = (
        '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><title>L</title>'
        "<link>https://leftledger.example/</link><description>d</description>"
        "<item><title>Caf\u00e9 reopens \u2013 finally</title><link>https://leftledger.example/cafe</link></item>"
        "</channel></rss>"
    ).encode("windows-1252")
    # The header says UTF-8, wrongly: the bytes are windows-1252, as the document itself declares.
    local_server.routes["/feed"] = Route(body=body, headers=RSS)

    feed_poll(feed_id=feed.pk)

    assert Article.objects.get().title == "Caf\u00e9 reopens \u2013 finally"


def test_it_refuses_a_50_megabyte_feed_without_reading_it(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/feed"] = Route(body=b"<rss>" + b" " * (50 * 1024 * 1024), headers=RSS)

    feed_poll(feed_id=feed.pk)

    feed.refresh_from_db()
    assert "the limit is 10485760" in feed.last_error
    assert Article.objects.count() == 0


# --- The schedule ------------------------------------------------------------------


def test_it_fetches_unconditionally_now_and_then_because_some_servers_answer_304_wrongly(
    feed: Feed, local_server: LocalServer, settings: Settings, clock: time_machine.Coordinates
) -> None:
    settings.NEWSROOM_FEED_UNCONDITIONAL_HOURS = 6
    clock.move_to(POLL_TIME, tick=False)
    asked_at = POLL_TIME
    served = [rss_feed(*FARE_ITEMS[:1])]

    def always_304_when_asked(handler: BaseHTTPRequestHandler) -> Route:
        if handler.headers.get("If-None-Match"):
            return Route(status=304, headers={"ETag": '"v1"'})
        return Route(body=served[-1], headers={**RSS, "ETag": '"v1"'})

    local_server.routes["/feed"] = always_304_when_asked
    feed_poll(feed_id=feed.pk)
    # The feed changes, but the server keeps answering "not modified" to the validators.
    served.append(rss_feed(*FARE_ITEMS))
    assert feed_poll(feed_id=feed.pk) == []

    clock.shift(timedelta(hours=7))  # past the longest a feed is trusted to answer 304 honestly
    assert len(feed_poll(feed_id=feed.pk)) == 1

    sent = [headers.get("If-None-Match") for _path, headers in local_server.requests]
    assert sent == [None, '"v1"', None]
    assert urls(feed) == {"https://leftledger.example/2026/11/fare", "https://leftledger.example/2026/11/budget"}
    feed.refresh_from_db()
    assert feed.last_unconditional_at >= asked_at + timedelta(hours=7)


def test_it_disables_a_feed_after_many_failures_and_a_curator_re_enables_it(
    feed: Feed, local_server: LocalServer, settings: Settings, clock: time_machine.Coordinates
) -> None:
    clock.move_to(POLL_TIME, tick=False)
    settings.NEWSROOM_FEED_DISABLE_AFTER_FAILURES = 3
    local_server.routes["/feed"] = Route(status=503, headers=HTML)

    for _attempt in range(2):
        feed_poll(feed_id=feed.pk)
        feed.refresh_from_db()
        assert (feed.is_active, feed.health) == (True, "failing")
    feed_poll(feed_id=feed.pk)

    feed.refresh_from_db()
    assert not feed.is_active
    assert feed.disabled_at is not None
    assert feed.health == "disabled"
    assert feed.last_error.startswith("HTTP 503 from")
    assert not Feed.objects.due(POLL_TIME + timedelta(days=2)).exists()

    local_server.routes["/feed"] = Route(body=rss_feed(*FARE_ITEMS), headers=RSS)
    assert feed_enable(feed_ids=[feed.pk]) == 1
    assert list(Feed.objects.due()) == [feed]
    feed_poll(feed_id=feed.pk)
    feed.refresh_from_db()
    assert (feed.is_active, feed.disabled_at, feed.consecutive_failures, feed.health) == (True, None, 0, "ok")


def test_a_catalogue_feed_is_unverified_until_its_first_successful_poll(feed: Feed, local_server: LocalServer) -> None:
    assert feed.health == "unverified"
    local_server.routes["/feed"] = Route(body=rss_feed(), headers=RSS)

    feed_poll(feed_id=feed.pk)

    feed.refresh_from_db()
    assert (feed.is_verified, feed.health) == (True, "ok")


# --- Politeness ----------------------------------------------------------------------


def test_it_spaces_requests_to_one_host(local_server: LocalServer, settings: Settings) -> None:
    settings.NEWSROOM_HOST_DELAY_SECONDS = 0.25
    local_server.routes["/page"] = Route(body=b"ok", headers=HTML)

    started = time.perf_counter()
    for _request in range(4):
        fetch(local_server.url("/page"))

    assert time.perf_counter() - started >= 0.75


def concurrent_peak(local_server: LocalServer, requests: int) -> int:
    """The most requests the server saw under way at once, for ``requests`` fetches from as many threads."""
    active, peak, lock = [0], [0], threading.Lock()

    def slow(handler: BaseHTTPRequestHandler) -> Route:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.15)
        with lock:
            active[0] -= 1
        return Route(body=b"ok", headers=HTML)

    local_server.routes["/slow"] = slow
    threads = [threading.Thread(target=fetch, args=(local_server.url("/slow"),)) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return peak[0]


def test_it_limits_concurrent_requests_to_one_host(local_server: LocalServer, settings: Settings) -> None:
    settings.NEWSROOM_HOST_CONCURRENCY = 2

    assert concurrent_peak(local_server, 6) == 2


def redis_url() -> str:
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    return url


def test_it_shares_the_turns_through_redis(local_server: LocalServer, settings: Settings) -> None:
    settings.NEWSROOM_POLITENESS_REDIS_URL = redis_url()
    settings.NEWSROOM_HOST_CONCURRENCY = 1
    settings.NEWSROOM_HOST_DELAY_SECONDS = 0.1

    started = time.perf_counter()
    assert concurrent_peak(local_server, 4) == 1
    assert time.perf_counter() - started >= 0.6


def test_it_sends_an_honest_user_agent(local_server: LocalServer, settings: Settings) -> None:
    settings.NEWSROOM_USER_AGENT = "NewsroomBot/9.9 (+https://newsroom.example/bot)"
    local_server.routes["/page"] = Route(body=b"ok", headers=HTML)

    fetch(local_server.url("/page"))

    assert local_server.requests[0][1]["User-Agent"] == "NewsroomBot/9.9 (+https://newsroom.example/bot)"


# --- robots.txt ------------------------------------------------------------------------

# Our own group applies, not the one for every robot (RFC 9309 section 2.2.1).
ROBOTS = b"User-agent: *\nDisallow: /\n\nUser-agent: NewsroomBot\nDisallow: /no-bots/\nDisallow: /private/\n"


def serve_article(local_server: LocalServer, path: str) -> None:
    local_server.routes[path] = Route(
        body=article_page(title="Transit fare rises", body=f"<p>{PARAGRAPHS}</p>"), headers=HTML
    )


def test_it_fetches_no_article_page_that_robots_txt_disallows(left_outlet: Outlet, local_server: LocalServer) -> None:
    local_server.routes["/robots.txt"] = Route(body=ROBOTS, headers=TEXT)
    for path in ["/news/fare", "/no-bots/fare", "/private/fare"]:
        serve_article(local_server, path)
    articles = {
        path: article_discover(outlet=left_outlet, url=local_server.url(path))[0]
        for path in ["/news/fare", "/no-bots/fare", "/private/fare"]
    }

    states = {path: article_fetch(article_id=article.pk) for path, article in articles.items()}

    assert states["/news/fare"].state == Article.State.FETCHED
    for path in ["/no-bots/fare", "/private/fare"]:
        assert states[path].state == Article.State.FAILED
        assert "robots.txt" in states[path].last_error
        assert "disallows" in states[path].last_error
    fetched_paths = [path for path, _headers in local_server.requests]
    assert fetched_paths.count("/robots.txt") == 1, "robots.txt is cached per host"
    assert "/no-bots/fare" not in fetched_paths
    assert "/private/fare" not in fetched_paths


def test_it_fetches_no_article_page_while_robots_txt_cannot_be_read(
    left_outlet: Outlet, local_server: LocalServer
) -> None:
    local_server.routes["/robots.txt"] = Route(status=503, headers=TEXT)
    serve_article(local_server, "/news/fare")
    article, _created = article_discover(outlet=left_outlet, url=local_server.url("/news/fare"))

    fetched = article_fetch(article_id=article.pk)

    assert fetched.state == Article.State.FAILED
    assert "robots.txt" in fetched.last_error
    assert "could not be read" in fetched.last_error


def test_feeds_are_polled_whatever_robots_txt_says(feed: Feed, local_server: LocalServer) -> None:
    local_server.routes["/robots.txt"] = Route(body=b"User-agent: *\nDisallow: /\n", headers=TEXT)
    local_server.routes["/feed"] = Route(body=rss_feed(*FARE_ITEMS), headers=RSS)

    assert len(feed_poll(feed_id=feed.pk)) == 2


def test_robots_txt_is_not_consulted_when_switched_off(
    left_outlet: Outlet, local_server: LocalServer, settings: Settings
) -> None:
    settings.NEWSROOM_RESPECT_ROBOTS = False
    local_server.routes["/robots.txt"] = Route(body=b"User-agent: *\nDisallow: /\n", headers=TEXT)
    serve_article(local_server, "/news/fare")
    article, _created = article_discover(outlet=left_outlet, url=local_server.url("/news/fare"))

    assert article_fetch(article_id=article.pk).state == Article.State.FETCHED


def test_it_raises_for_a_disallowed_redirect_target(local_server: LocalServer) -> None:
    local_server.routes["/robots.txt"] = Route(body=ROBOTS, headers=TEXT)
    local_server.routes["/go"] = Route(status=302, headers={"Location": "/private/page"})

    with pytest.raises(FetchError, match="disallows"):
        fetch(local_server.url("/go"), check_robots=True)


# --- One article per canonical URL, whatever the order of arrival -------------------------------


def test_the_canonical_url_arriving_after_its_amp_copy_is_the_same_article(
    left_outlet: Outlet, local_server: LocalServer
) -> None:
    canonical = "https://leftledger.example/2026/11/fare"
    local_server.routes["/amp/fare"] = Route(
        body=article_page(title="Fare", body=f"<p>{PARAGRAPHS}</p>", canonical=canonical), headers=HTML
    )
    amp, _created = article_discover(outlet=left_outlet, url=local_server.url("/amp/fare"))
    assert article_fetch(article_id=amp.pk).canonical_url == canonical

    again, created = article_discover(outlet=left_outlet, url=canonical + "?utm_source=twitter&fbclid=x")

    assert not created
    assert again.pk == amp.pk
    assert Article.objects.count() == 1
