"""Articles (filters and analysis) and outlets (current rating, history) over HTTP; query counts pinned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from sources.articles import article_discover
from sources.models import Article, Lean, Outlet
from sources.ratings import outlet_rating_add
from stories.models import Story
from tests.conftest import STORY_TIME, outlet_make

QueryCounter = Callable[..., Any]


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


def article_make(outlet: Outlet, slug: str, *, hours: int = 0, language: str = "en") -> Article:
    article, _created = article_discover(
        outlet=outlet,
        url=f"https://{outlet.domains.first()}/{slug}",
        title=slug.replace("-", " "),
        text="",
        published_at=STORY_TIME + timedelta(hours=hours),
        language=language,
    )
    return article


@pytest.mark.parametrize("rows", [2, 20])
def test_it_lists_any_number_of_articles_in_one_query(
    client: Client, django_assert_num_queries: QueryCounter, left_outlet: Outlet, rows: int
) -> None:
    for number in range(rows):
        article_make(left_outlet, f"article-{number}")

    # The articles' version (the list's cache key), then the page.
    with django_assert_num_queries(2):
        response = client.get("/api/v1/articles/", {"page_size": 20})
    # Kept: only the version is read. A change to any article is a new version.
    with django_assert_num_queries(1):
        client.get("/api/v1/articles/", {"page_size": 20})
    newest = article_make(left_outlet, "one-more")
    with django_assert_num_queries(2):
        again = client.get("/api/v1/articles/", {"page_size": 20})

    assert len(ids(response)) == rows
    assert newest.pk in ids(again)  # the list is newest first


def test_it_filters_articles_by_story_outlet_side_language_and_time(
    client: Client, story: Story, left_outlet: Outlet, right_outlet: Outlet, unrated_outlet: Outlet
) -> None:
    in_story = set(Article.objects.filter(membership__cluster_id=story.pk).values_list("pk", flat=True))
    french = article_make(left_outlet, "tarifs", hours=48, language="fr")
    unrated = article_make(unrated_outlet, "roundup", hours=-48)
    left_in_story = Article.objects.get(membership__cluster_id=story.pk, outlet=left_outlet)
    right_in_story = Article.objects.get(membership__cluster_id=story.pk, outlet=right_outlet)

    assert ids(client.get("/api/v1/articles/", {"story": story.pk})) == in_story
    assert ids(client.get("/api/v1/articles/", {"outlet": left_outlet.pk})) == {left_in_story.pk, french.pk}
    assert ids(client.get("/api/v1/articles/", {"side": "left"})) == {left_in_story.pk, french.pk}
    assert ids(client.get("/api/v1/articles/", {"side": "right"})) == {right_in_story.pk}  # lean right counts
    assert ids(client.get("/api/v1/articles/", {"side": "unrated"})) == {unrated.pk}
    assert ids(client.get("/api/v1/articles/", {"language": "FR"})) == {french.pk}
    assert ids(client.get("/api/v1/articles/", {"published_after": "2026-11-19T12:00:00Z"})) == {french.pk}
    assert ids(client.get("/api/v1/articles/", {"published_before": "2026-11-17T12:00:00+00:00"})) == {unrated.pk}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"story": "abc"}, "story"),
        ({"outlet": "0"}, "outlet"),
        ({"side": "lean_left"}, "side"),
        ({"published_after": "2026-02-30"}, "published_after"),
        ({"language": "x" * 17}, "language"),
    ],
)
def test_it_refuses_a_bad_article_filter_naming_it(
    client: Client, db: None, params: dict[str, str], parameter: str
) -> None:
    response = client.get("/api/v1/articles/", params)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [parameter]


def test_an_article_carries_its_frames_tone_and_entities(client: Client, story: Story, right_outlet: Outlet) -> None:
    article = Article.objects.get(membership__cluster_id=story.pk, outlet=right_outlet)

    body = client.get(f"/api/v1/articles/{article.pk}/").json()

    assert body["side"] == "right"
    assert body["story"] == story.pk
    analysis = body["analysis"]
    assert analysis["frames"] == [
        {
            "frame": "Economic",
            "score": 0.6,
            "sentences": [0],
            "evidence": ["The board raised the fare to $2.75 after years of overspending."],
        }
    ]
    assert (analysis["tone"], analysis["tone_label"]) == (-0.5, "negative")
    assert analysis["entities"] == [{"text": "Riverton", "label": "GPE", "count": 2}]


@pytest.mark.parametrize("rows", [2, 20])
def test_it_lists_any_number_of_outlets_in_the_same_queries(
    client: Client, django_assert_num_queries: QueryCounter, db: None, rows: int
) -> None:
    for number in range(rows):
        outlet = outlet_make(f"Outlet {number:02}", Lean.CENTER)
        outlet_rating_add(outlet=outlet, lean=Lean.LEAN_LEFT, rated_by="Second look")

    # The outlets' version (the list's cache key), the outlets, their domains, their ratings.
    with django_assert_num_queries(4):
        response = client.get("/api/v1/outlets/", {"page_size": 20})
    with django_assert_num_queries(1):  # kept: only the version is read
        client.get("/api/v1/outlets/", {"page_size": 20})

    results = response.json()["results"]
    assert len(results) == rows
    assert {outlet["current_rating"]["rated_by"] for outlet in results} == {"Second look"}


def test_an_outlet_shows_its_full_rating_history_newest_first(
    client: Client, django_assert_num_queries: QueryCounter, right_outlet: Outlet
) -> None:
    outlet_rating_add(outlet=right_outlet, lean=Lean.RIGHT, rated_by="Chart v4", rated_at=date(2099, 1, 1))
    outlet_rating_add(outlet=right_outlet, lean=Lean.CENTER, rated_by="Old chart", rated_at=date(2001, 1, 1))

    with django_assert_num_queries(3):
        detail = client.get(f"/api/v1/outlets/{right_outlet.pk}/").json()
    with django_assert_num_queries(3):
        history = client.get(f"/api/v1/outlets/{right_outlet.pk}/ratings/").json()

    assert [rating["rated_by"] for rating in detail["ratings"]] == ["Chart v4", "Test fixture", "Old chart"]
    assert detail["current_rating"]["lean"] == detail["lean"] == "right"
    assert history == detail["ratings"]


def test_an_article_detail_is_one_query(
    client: Client, django_assert_num_queries: QueryCounter, story: Story, left_outlet: Outlet
) -> None:
    article = Article.objects.get(membership__cluster_id=story.pk, outlet=left_outlet)

    # The article joined with its outlet, membership and analysis.
    with django_assert_num_queries(1):
        response = client.get(f"/api/v1/articles/{article.pk}/")

    assert response.json()["outlet"]["name"] == "Left Ledger"
