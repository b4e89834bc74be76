"""The home page's ranking and the blindspot feed, over HTTP with query counts pinned; the blindspot rule itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils.html import escape

from sources.models import Lean
from stories.models import Story
from stories.querysets import BlindspotRule
from tests.conftest import STORY_TIME, analysed_article_make, outlet_make, story_build, story_row_make, unit_vector

QueryCounter = Callable[..., Any]
LEAN_OF_SIDE = {"left": Lean.LEFT, "center": Lean.CENTER, "right": Lean.RIGHT, "unrated": ""}
_outlets_made = 0


def story_covered(title: str, seed: int, *, at: datetime = STORY_TIME, **sides: int) -> Story:
    """A story with ``left=2, right=1, ...`` articles, each from an outlet of its own."""
    global _outlets_made
    centre = unit_vector(seed)
    articles = []
    for side, number in sides.items():
        for index in range(number):
            _outlets_made += 1
            outlet = outlet_make(f"{side.title()} Outlet {_outlets_made}", LEAN_OF_SIDE[side])
            articles.append(
                analysed_article_make(
                    outlet=outlet,
                    title=f"{title} {side} {index}",
                    vector=unit_vector(seed * 100 + len(articles), near=centre, noise=0.05),
                    published_at=at + timedelta(minutes=len(articles)),
                )
            )
    story = story_build(articles)
    Story.objects.filter(pk=story.pk).update(title=title)
    story.refresh_from_db()
    return story


def titles_in_order(html: str) -> list[str]:
    return re.findall(r'<li class="story-card">\s*<h2><a href="/stories/\d+/">([^<]+)</a></h2>', html)


# --- Home ---------------------------------------------------------------------------------


def test_it_ranks_fresh_stories_by_outlet_count_then_recency_and_puts_stale_ones_after(
    client: Client, db: None
) -> None:
    story_covered("Stale but big", 11, at=STORY_TIME - timedelta(hours=60), left=2, center=2, right=2)
    story_covered("Fresh and wide", 12, at=STORY_TIME - timedelta(hours=10), left=1, center=1, right=1)
    story_covered("Newest but narrow", 13, at=STORY_TIME, center=1)
    story_covered("Fresh and wider", 14, at=STORY_TIME - timedelta(hours=30), left=2, right=2)

    html = client.get("/").content.decode()

    assert titles_in_order(html) == ["Fresh and wider", "Fresh and wide", "Newest but narrow", "Stale but big"]
    assert "latest 36 hours of news" in html


def test_it_flags_a_blindspot_on_the_home_page_and_says_why(client: Client, db: None) -> None:
    story_covered("Only the left", 21, left=3, center=1)

    html = client.get("/").content.decode()

    assert "Blindspot for the right</a>" in html
    assert "Of 4 rated articles: 3 left (75%), 1 center (25%), 0 right (0%)." in html
    assert "when that side has at most 20% of its articles from rated outlets, in a story with at least 3" in html


def test_it_serves_the_home_page_in_three_queries_whatever_the_number_of_stories(
    client: Client, django_assert_num_queries: QueryCounter, db: None
) -> None:
    story_covered("First", 31, left=1, right=1)
    with django_assert_num_queries(3):
        client.get("/")
    for number in range(4):
        story_covered(f"More {number}", 32 + number, left=1, center=2)

    # The stories' state (version and newest coverage), the pager's count, the page of stories.
    with django_assert_num_queries(3):
        response = client.get("/")
    with django_assert_num_queries(1):
        client.get("/")

    assert len(titles_in_order(response.content.decode())) == 5


def test_it_links_the_reader_pages_from_every_page_with_a_skip_link(client: Client, db: None) -> None:
    html = client.get("/").content.decode()

    assert '<a class="skip-link" href="#main">Skip to content</a>' in html
    assert '<main id="main" tabindex="-1">' in html
    for path in ("/blindspot/", "/outlets/", "/digest/"):
        assert f'href="{path}"' in html
    assert '<form class="site-search" role="search" aria-label="Site" action="/search/" method="get">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


# --- The blindspot rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"left": 5, "center": 2, "right": 0}, ["right"]),
        ({"left": 4, "center": 0, "right": 1}, ["right"]),  # 1 of 5 is exactly 20%: flagged
        ({"left": 0, "center": 3, "right": 0}, ["left", "right"]),
        ({"left": 3, "center": 2, "right": 2}, []),  # 2 of 7 is over 20%
        ({"left": 3, "center": 0, "right": 3}, []),  # a thin center is no blindspot
        ({"left": 2, "center": 0, "right": 0}, []),  # too few rated articles to say anything
        ({"left": 1, "center": 1, "right": 1}, []),
    ],
)
def test_the_rule_flags_the_sides_at_or_under_the_share_when_enough_is_rated(
    counts: dict[str, int], expected: list[str], db: None
) -> None:
    story = story_row_make(
        first_published_at=STORY_TIME,
        last_published_at=STORY_TIME,
        refreshed_at=STORY_TIME,
        article_count=sum(counts.values()),
        **{f"{side}_count": number for side, number in counts.items()},
    )
    rule = BlindspotRule(max_share=0.2, min_rated=3)

    assert rule.sides(story) == expected
    for side in ("left", "right"):
        in_sql = Story.objects.blindspot_for(side, rule=rule).filter(pk=story.pk).exists()
        assert in_sql == (side in expected), side
    assert Story.objects.blindspots(rule=rule).filter(pk=story.pk).exists() == bool(expected)


def test_the_rule_reads_its_threshold_and_minimum_from_the_settings(settings: Any, db: None) -> None:
    story = story_row_make(
        first_published_at=STORY_TIME, last_published_at=STORY_TIME, left_count=3, center_count=1, right_count=1
    )
    settings.NEWSROOM_BLINDSPOT_MAX_SHARE = 0.1
    assert not Story.objects.blindspots().exists()
    settings.NEWSROOM_BLINDSPOT_MAX_SHARE = 0.25
    settings.NEWSROOM_BLINDSPOT_MIN_RATED = 6
    assert not Story.objects.blindspots().exists()
    settings.NEWSROOM_BLINDSPOT_MIN_RATED = 5
    assert list(Story.objects.blindspots()) == [story]
    assert list(Story.objects.blindspot_for("right")) == [story]
    assert not Story.objects.blindspot_for("left").exists()


def test_the_rule_refuses_a_side_it_does_not_judge(db: None) -> None:
    for side in ("middle", "center"):
        with pytest.raises(ValueError, match=f"Blindspots are judged for left and right, not '{side}'"):
            Story.objects.blindspot_for(side)


# --- The blindspot feed -------------------------------------------------------------------


def test_it_lists_blindspots_with_counts_shares_and_the_threshold(client: Client, db: None) -> None:
    missed_by_right = story_covered("Missed by the right", 41, left=3, center=1)
    story_covered("Covered by all", 42, left=1, center=1, right=1)
    missed_by_left = story_covered("Missed by the left", 43, right=2, center=2)

    response = client.get("/blindspot/")

    html = response.content.decode()
    assert response.status_code == 200
    assert titles_in_order(html) == ["Missed by the left", "Missed by the right"]
    assert "Blindspot for the left</a>: Of 4 rated articles: 0 left (0%), 2 center (50%), 2 right (50%)." in html
    assert "A story is a blindspot for the left or the right when that side has at most 20% of its articles" in html
    assert 'aria-label="Coverage: 3 left, 1 center, 0 right, 0 unrated"' in html

    only_right = client.get("/blindspot/?side=right").content.decode()
    assert titles_in_order(only_right) == [escape(missed_by_right.title)]
    assert titles_in_order(client.get("/blindspot/?side=left").content.decode()) == [missed_by_left.title]
    story_covered("Only the center", 44, center=3)
    assert "Only the center" in titles_in_order(client.get("/blindspot/?side=left").content.decode())


def test_it_answers_400_for_a_side_without_blindspots(client: Client, db: None) -> None:
    for side in ("middle", "center"):
        response = client.get(f"/blindspot/?side={side}")

        assert response.status_code == 400
        assert f"Unknown side “{side}”: choose left or right." in response.content.decode()


def test_it_says_so_when_there_are_no_blindspots(client: Client, db: None) -> None:
    story_covered("Covered by all", 45, left=1, center=1, right=1)

    html = client.get("/blindspot/?side=right").content.decode()

    assert "No blindspots for the right right now" in html


def test_it_serves_the_blindspot_feed_in_fixed_queries_whatever_the_number_of_stories(
    client: Client, django_assert_num_queries: QueryCounter, db: None
) -> None:
    for number in range(4):
        story_covered(f"Blindspot {number}", 50 + number, left=3)

    # The stories' version (the cache key), the pager's count and the page of stories.
    with django_assert_num_queries(3):
        response = client.get("/blindspot/")
    # Served again from the cache: only the version is read.
    with django_assert_num_queries(1):
        again = client.get("/blindspot/")

    assert len(titles_in_order(response.content.decode())) == 4
    assert again.content == response.content
