"""The story list's filters, ordering and cursor pages, and the story detail's coverage; over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from clustering.services import cluster_assign
from sources.models import Article, Lean, Outlet
from sources.ratings import outlet_rating_add
from stories.models import Story
from stories.services import story_refresh
from tests.conftest import STORY_TIME, analysed_article_make, story_row_make, unit_vector
from tests.test_ask import fare_story  # noqa: F401 - the fixture: sentences really encoded

QueryCounter = Callable[..., Any]
URL = "/api/v1/stories/"


def story_row(title: str, *, hours: int = 0, left: int = 0, center: int = 0, right: int = 0, **fields: Any) -> Story:
    """A listed story written directly: the list reads only the story row."""
    moment = STORY_TIME + timedelta(hours=hours)
    rated = left + center + right
    defaults: dict[str, Any] = {
        "first_published_at": moment,
        "last_published_at": moment + timedelta(hours=1),
        "article_count": max(rated, 1),
        "outlet_count": max(rated, 1),
        "refreshed_at": moment + timedelta(hours=2),
    }
    return story_row_make(
        title=title, left_count=left, center_count=center, right_count=right, **{**defaults, **fields}
    )


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


@pytest.mark.parametrize("rows", [2, 20])
def test_it_lists_any_number_of_stories_in_the_same_queries(
    client: Client, django_assert_num_queries: QueryCounter, db: None, rows: int
) -> None:
    for number in range(rows):
        story_row(f"Story {number}", hours=number, left=1, center=1)

    # The stories' version (the cache key) and the page: no count, nothing per story.
    with django_assert_num_queries(2):
        response = client.get(URL, {"page_size": 20})

    assert len(ids(response)) == rows


def test_it_filters_stories_by_time_range(client: Client, db: None) -> None:
    early = story_row("Early", hours=-48)
    middle = story_row("Middle", hours=0)
    late = story_row("Late", hours=48)

    after = client.get(URL, {"last_published_after": (STORY_TIME - timedelta(hours=1)).isoformat()})
    before = client.get(URL, {"first_published_before": STORY_TIME.isoformat()})
    window = client.get(
        URL,
        {"first_published_after": "2026-11-17T00:00:00Z", "first_published_before": "2026-11-19T00:00:00Z"},
    )

    assert set(ids(after)) == {middle.pk, late.pk}
    assert set(ids(before)) == {early.pk, middle.pk}
    assert ids(window) == [middle.pk]


def test_it_filters_stories_by_topic_or_entity(client: Client, db: None) -> None:
    fares = story_row("Transit board raises fares", entity_counts={"Riverton": 3})
    bridge = story_row("Bridge closes for repairs", summary="The span over the Riverton river shuts.")
    other = story_row("Harvest festival", entity_counts={"Mayor Alvarez": 2, "Zürich": 1})

    assert ids(client.get(URL, {"q": "fares"})) == [fares.pk]
    assert set(ids(client.get(URL, {"q": "riverton"}))) == {fares.pk, bridge.pk}
    assert ids(client.get(URL, {"q": "mayor alvarez"})) == [other.pk]
    assert ids(client.get(URL, {"q": "Zürich"})) == [other.pk]
    # An entity name matches whole, not a fragment of one.
    assert ids(client.get(URL, {"q": "Mayor Alv"})) == []


def test_it_filters_stories_by_blindspot_side(client: Client, db: None, settings: Settings) -> None:
    settings.NEWSROOM_BLINDSPOT_MAX_SHARE = 0.2
    settings.NEWSROOM_BLINDSPOT_MIN_RATED = 3
    no_right = story_row("No right", left=2, center=2)
    little_right = story_row("Little right", left=4, center=5, right=1)  # 10%
    balanced = story_row("Balanced", left=2, center=2, right=2)
    story_row("Too small to tell", left=2)
    story_row("Nothing rated", unrated_count=4)

    assert set(ids(client.get(URL, {"blindspot": "right"}))) == {no_right.pk, little_right.pk}
    assert ids(client.get(URL, {"blindspot": "left"})) == []
    settings.NEWSROOM_BLINDSPOT_MAX_SHARE = 0.0  # a new rule: the cached lists do not answer for it
    assert ids(client.get(URL, {"blindspot": "right"})) == [no_right.pk]
    assert balanced.pk not in ids(client.get(URL, {"blindspot": "left"}))
    assert client.get(URL, {"blindspot": "center"}).status_code == 400


def test_it_filters_stories_by_minimum_outlet_count(client: Client, db: None) -> None:
    small = story_row("Small", outlet_count=1)
    large = story_row("Large", outlet_count=5)

    assert ids(client.get(URL, {"min_outlets": 3})) == [large.pk]
    assert set(ids(client.get(URL, {"min_outlets": 0}))) == {small.pk, large.pk}


def test_it_orders_stories_by_a_whitelisted_field(client: Client, db: None) -> None:
    few = story_row("Few", hours=2, outlet_count=2)
    many = story_row("Many", hours=0, outlet_count=9)
    some = story_row("Some", hours=1, outlet_count=5)

    assert ids(client.get(URL)) == [few.pk, some.pk, many.pk]  # newest coverage first
    assert ids(client.get(URL, {"ordering": "-outlet_count"})) == [many.pk, some.pk, few.pk]
    assert ids(client.get(URL, {"ordering": "first_published_at"})) == [many.pk, some.pk, few.pk]


def test_it_pages_through_stories_with_a_cursor(client: Client, db: None) -> None:
    stories = [story_row(f"Story {number}", hours=-number, outlet_count=number % 2) for number in range(5)]

    seen: list[int] = []
    response = client.get(URL, {"page_size": 2, "ordering": "-outlet_count"})
    pages = 0
    while True:
        seen += ids(response)
        pages += 1
        link = response.json()["next"]
        if not link:
            break
        response = client.get(link)

    # Ties on the ordering field (outlet counts 0 and 1) neither repeat nor drop a story.
    assert pages == 3
    assert sorted(seen) == sorted(story.pk for story in stories)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("params", "parameter", "message"),
    [
        ({"first_published_after": "last tuesday"}, "first_published_after", "Enter a valid date/time."),
        ({"last_published_before": "2026-13-45"}, "last_published_before", "Enter a valid date/time."),
        ({"blindspot": "middle"}, "blindspot", "Select a valid choice. middle is not one of the available choices."),
        ({"min_outlets": "many"}, "min_outlets", "Enter a whole number."),
        ({"min_outlets": "-1"}, "min_outlets", "Ensure this value is greater than or equal to 0."),
        ({"min_outlets": "99999999999999999999"}, "min_outlets", "Ensure this value is less than or equal to"),
        ({"q": "nul\x00byte"}, "q", "Null characters are not allowed."),
        ({"ordering": "title"}, "ordering", "Cannot order by 'title'; choose one of: last_published_at,"),
        ({"ordering": "-id,title"}, "ordering", "Cannot order by '-id,title'"),
        ({"page_size": "0"}, "page_size", "A whole number from 1 to 100; got '0'."),
        ({"page_size": "1000"}, "page_size", "A whole number from 1 to 100; got '1000'."),
        ({"cursor": "not-a-cursor"}, "cursor", "Not a cursor from this list"),
        # Well-formed (base64 of o/r/p), but its position cannot be a publication time.
        ({"cursor": "cD1ub3QtYS10aW1l"}, "cursor", "Not a cursor from this list"),
    ],
)
def test_it_refuses_a_bad_parameter_with_a_400_naming_it(
    client: Client, db: None, params: dict[str, str], parameter: str, message: str
) -> None:
    story_row("One", left=1)

    response = client.get(URL, params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [parameter]
    assert error["fields"][parameter][0].startswith(message)
    assert parameter in error["message"]


def test_it_shows_coverage_by_articles_and_by_outlets_with_unrated_apart(
    client: Client, story: Story, left_outlet: Outlet, unrated_outlet: Outlet
) -> None:
    vector = unit_vector(1)
    for number in range(2):  # a second left article from the same outlet: one more article, no more outlets
        article = analysed_article_make(
            outlet=left_outlet if number == 0 else unrated_outlet,
            title=f"Fare follow-up {number}",
            vector=unit_vector(30 + number, near=vector),
        )
        assert cluster_assign(article_id=article.pk) == story.pk
    story_refresh(story_id=story.pk)

    body = client.get(f"{URL}{story.pk}/").json()

    assert body["coverage_by_articles"] == {
        "counts": {"left": 2, "center": 1, "right": 1, "unrated": 1},
        "rated": 4,
        "shares": {"left": 50.0, "center": 25.0, "right": 25.0},
    }
    assert body["coverage_by_outlets"] == {
        "counts": {"left": 1, "center": 1, "right": 1, "unrated": 1},
        "rated": 3,
        "shares": {"left": 33.3, "center": 33.3, "right": 33.3},
    }
    assert body["confidence"] == pytest.approx(Story.objects.get(pk=story.pk).cluster.confidence)
    assert body["reclustered_at"] is not None
    overview = body["overview"]
    assert overview
    assert set(overview[0]) == {"text", "article", "citations", "quotes"}
    members = set(Article.objects.filter(membership__cluster_id=story.pk).values_list("pk", flat=True))
    assert all(set(sentence["citations"]) <= members for sentence in overview)
    # Each citation comes with the cited article's own sentence, which is one of that article's sentences.
    for sentence in overview:
        assert set(sentence["quotes"]) == {str(pk) for pk in sentence["citations"]}
        for pk, quote in sentence["quotes"].items():
            assert quote in Article.objects.get(pk=pk).analysis.sentences


@pytest.mark.parametrize("extra", [0, 17])
def test_it_shows_a_story_with_any_number_of_articles_in_the_same_queries(
    client: Client, django_assert_num_queries: QueryCounter, story: Story, left_outlet: Outlet, extra: int
) -> None:
    vector = unit_vector(1)
    for number in range(extra):
        article = analysed_article_make(
            outlet=left_outlet, title=f"More {number}", vector=unit_vector(200 + number, near=vector)
        )
        cluster_assign(article_id=article.pk)
    story_refresh(story_id=story.pk)

    # The story's version, the story, its viewpoints, its articles with outlets and analyses.
    with django_assert_num_queries(4):
        response = client.get(f"{URL}{story.pk}/")

    assert len(response.json()["articles"]) == 3 + extra


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # PostgreSQL refuses an offset past 15:59: the filter hands it the moment in UTC.
        ("0868-11-06T13:36:12-21:45", 200),
        ("2026-11-19T20:00:00+20:59", 200),
        ("9999-12-31T23:59:59-12:00", 400),
        ("0001-01-01T00:00:00+14:00", 400),
    ],
)
def test_it_takes_any_iso_offset_and_refuses_a_moment_outside_utc(
    client: Client, db: None, value: str, expected: int
) -> None:
    story = story_row("One", left=1)

    response = client.get(URL, {"last_published_before": value})

    assert response.status_code == expected
    if expected == 200:
        assert ids(response) == ([story.pk] if value.startswith("2026") else [])
    else:
        assert response.json()["error"]["fields"] == {"last_published_before": ["The date-time is out of range."]}


def test_the_detail_lists_claims_by_side_with_their_articles(client: Client, fare_story: Story) -> None:  # noqa: F811
    body = client.get(f"/api/v1/stories/{fare_story.pk}/").json()

    claims = body["claims"]
    assert claims
    article_ids = {article["id"] for article in body["articles"]}
    for claim in claims:
        cited = {pk for side in ("left", "center", "right") for pk in claim["sides"][side]}
        assert cited <= article_ids
        assert claim["reported_by"] == [side for side in ("left", "center", "right") if claim["sides"][side]]
        assert {int(pk) for pk in claim["quotes"]} == cited
        assert claim["text"] in claim["quotes"].values()
    # Shared facts come before one-sided ones.
    widths = [len(claim["reported_by"]) for claim in claims]
    assert widths == sorted(widths, reverse=True)


def test_the_detail_shows_the_coverage_of_its_last_refresh_until_the_next(
    client: Client, story: Story, right_outlet: Outlet
) -> None:
    # The rating's recompute is queued on commit, which the test's transaction never reaches:
    # the story is as its last refresh computed it, under the ratings snapshot it took.
    outlet_rating_add(outlet=right_outlet, lean=Lean.LEFT, rated_by="Internal review")

    body = client.get(f"{URL}{story.pk}/").json()

    one_each = {"left": 1, "center": 1, "right": 1, "unrated": 0}
    assert body["coverage_by_articles"]["counts"] == one_each
    assert body["coverage_by_outlets"]["counts"] == one_each
    right_article = next(article for article in body["articles"] if article["outlet"]["id"] == right_outlet.pk)
    assert right_article["side"] == "right"  # where the coverage counts it
    assert right_article["outlet"]["lean"] == Lean.LEFT  # the outlet as it is now
    snapshot = {entry["outlet"]: entry["lean"] for entry in body["ratings_snapshot"]["outlets"]}
    assert snapshot[right_outlet.pk] == Lean.LEAN_RIGHT

    story_refresh(story_id=story.pk)
    body = client.get(f"{URL}{story.pk}/").json()

    moved = {"left": 2, "center": 1, "right": 0, "unrated": 0}
    assert body["coverage_by_articles"]["counts"] == body["coverage_by_outlets"]["counts"] == moved
    assert [article["side"] for article in body["articles"]] == ["left", "center", "left"]
