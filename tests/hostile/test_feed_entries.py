"""Issue 19, intake: one bad feed entry never stops a feed, nor the feeds polled after it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sources.feeds import feed_poll
from sources.models import Article, Feed, Outlet
from tests.conftest import LocalServer, Route
from tests.test_feeds import FARE_ITEMS, rss_feed

JSON_FEED = {"Content-Type": "application/feed+json"}


def json_feed(*items: dict[str, str]) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Ledger", "items": list(items)}).encode()


def test_it_keeps_the_good_entries_of_a_feed_and_counts_the_bad_ones_with_their_reason(
    left_outlet: Outlet, right_outlet: Outlet, local_server: LocalServer
) -> None:
    long_path = "/" + "é" * 700  # 701 characters as sent, over 4,000 once percent-encoded
    local_server.routes["/feed.json"] = Route(
        body=json_feed(
            {
                "id": "1",
                "url": "https://leftledger.example/far-future",
                "title": "Dated at the end of time",
                "date_published": "9999-12-31T23:59:59-14:00",
            },
            {"id": "2", "url": "https://leftledger.example/nul", "title": "Water\x00 board meets"},
            {"id": "3", "url": "/2026/11/relative", "title": "Relative link", "date_published": "2026-11-18T09:00:00Z"},
            {"id": "4", "url": "HTTP://leftledger.example/upper", "title": "Upper-case scheme"},
            {"id": "5", "url": "https://leftledger.example" + long_path, "title": "Too long once encoded"},
            {"id": "6", "url": "mailto:desk@leftledger.example", "title": "No web link"},
            {"id": "7", "url": "http://[x/", "title": "Malformed"},
        ),
        headers=JSON_FEED,
    )
    local_server.routes["/right.xml"] = Route(
        body=rss_feed(*FARE_ITEMS), headers={"Content-Type": "application/rss+xml"}
    )
    bad = Feed.objects.create(outlet=left_outlet, url=local_server.url("/feed.json"))
    after = Feed.objects.create(outlet=right_outlet, url=local_server.url("/right.xml"))

    created = feed_poll(feed_id=bad.pk)
    feed_poll(feed_id=after.pk)

    titles = dict(Article.objects.filter(feed=bad).values_list("title", "canonical_url"))
    assert set(titles) == {"Dated at the end of time", "Water board meets", "Relative link", "Upper-case scheme"}
    assert len(created) == 4
    assert titles["Relative link"] == local_server.url("/2026/11/relative")
    assert titles["Upper-case scheme"] == "http://leftledger.example/upper"
    far = Article.objects.get(title="Dated at the end of time")
    assert far.published_at is None, "a date UTC cannot hold is treated as missing"
    assert Article.objects.get(title="Relative link").published_at == datetime(2026, 11, 18, 9, tzinfo=UTC)
    bad.refresh_from_db()
    assert (bad.consecutive_failures, bad.last_error, bad.health) == (0, "", "ok")
    assert bad.skipped_entries == {
        "link longer than 2000 characters": 1,
        "no http(s) link": 1,
        "malformed link": 1,
    }
    assert Article.objects.filter(feed=after).count() == 2, "the feed polled after it is read as usual"


def test_a_quiet_feed_with_a_flawed_title_is_healthy_not_failing(
    left_outlet: Outlet, local_server: LocalServer
) -> None:
    local_server.routes["/quiet.xml"] = Route(
        body=b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet&nbsp;News</title>'
        b"<link>https://leftledger.example/</link></channel></rss>",
        headers={"Content-Type": "application/rss+xml"},
    )
    local_server.routes["/page.html"] = Route(
        body=b"<html><body><p>Not a feed</p></body></html>", headers={"Content-Type": "application/rss+xml"}
    )
    quiet = Feed.objects.create(outlet=left_outlet, url=local_server.url("/quiet.xml"))
    page = Feed.objects.create(outlet=left_outlet, url=local_server.url("/page.html"))

    for _poll in range(11):
        assert feed_poll(feed_id=quiet.pk) == []
    feed_poll(feed_id=page.pk)

    quiet.refresh_from_db()
    page.refresh_from_db()
    assert (quiet.consecutive_failures, quiet.last_error, quiet.is_active) == (0, "", True)
    assert page.consecutive_failures == 1
    assert page.last_error.startswith("Not a readable feed")
