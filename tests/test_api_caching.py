"""Conditional requests: details carry ETag and Last-Modified, and an unchanged one is a 304."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.cache import caches
from django.test import Client
from django.utils.http import http_date

from sources.models import Article, Lean, Outlet
from sources.ratings import outlet_rating_add
from stories.models import Story
from stories.services import story_refresh

QueryCounter = Callable[..., Any]


def test_a_story_detail_carries_its_validators(client: Client, story: Story) -> None:
    response = client.get(f"/api/v1/stories/{story.pk}/")

    assert response.status_code == 200
    assert response["ETag"].startswith('"')
    newest = max(moment for moment in (story.refreshed_at, story.cluster.reclustered_at) if moment)
    assert response["Last-Modified"] == http_date(newest.timestamp())
    assert response["Cache-Control"] == "no-cache"
    assert "Accept" in response["Vary"]


def test_an_unchanged_story_is_a_304_from_one_query(
    client: Client, django_assert_num_queries: QueryCounter, story: Story
) -> None:
    first = client.get(f"/api/v1/stories/{story.pk}/")

    # Only the story's version is read: no story, viewpoints or articles.
    with django_assert_num_queries(1):
        by_etag = client.get(f"/api/v1/stories/{story.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(f"/api/v1/stories/{story.pk}/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert by_etag.status_code == by_date.status_code == 304
    assert by_etag.content == b""
    assert by_etag["ETag"] == first["ETag"]


def test_a_refreshed_story_is_sent_again(client: Client, story: Story) -> None:
    first = client.get(f"/api/v1/stories/{story.pk}/")
    story_refresh(story_id=story.pk)
    Story.objects.filter(pk=story.pk).update(refreshed_at=story.refreshed_at + timedelta(seconds=5))  # type: ignore[operator]

    by_etag = client.get(f"/api/v1/stories/{story.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(f"/api/v1/stories/{story.pk}/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert by_etag.status_code == by_date.status_code == 200
    assert by_etag["ETag"] != first["ETag"]
    assert by_etag.json()["id"] == story.pk


def test_each_representation_has_its_own_etag(client: Client, story: Story) -> None:
    as_json = client.get(f"/api/v1/stories/{story.pk}/")
    as_html = client.get(f"/api/v1/stories/{story.pk}/", HTTP_ACCEPT="text/html")

    assert as_html["Content-Type"].startswith("text/html")
    assert as_html["ETag"] != as_json["ETag"]
    assert client.get(f"/api/v1/stories/{story.pk}/", HTTP_IF_NONE_MATCH=as_html["ETag"]).status_code == 200


def test_an_outlet_is_a_304_until_its_rating_changes(client: Client, left_outlet: Outlet) -> None:
    first = client.get(f"/api/v1/outlets/{left_outlet.pk}/")
    assert first.json()["ratings"][0]["lean"] == Lean.LEFT

    unchanged = client.get(f"/api/v1/outlets/{left_outlet.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])
    outlet_rating_add(outlet=left_outlet, lean=Lean.LEAN_LEFT, rated_by="Chart v5")
    changed = client.get(f"/api/v1/outlets/{left_outlet.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert unchanged.status_code == 304
    assert changed.status_code == 200
    assert [rating["lean"] for rating in changed.json()["ratings"]] == [Lean.LEAN_LEFT, Lean.LEFT]
    assert changed.json()["current_rating"]["rated_by"] == "Chart v5"


def test_an_article_is_a_304_while_unchanged(client: Client, story: Story) -> None:
    article = Article.objects.filter(membership__cluster_id=story.pk).first()
    assert article is not None
    first = client.get(f"/api/v1/articles/{article.pk}/")

    assert first.json()["story"] == story.pk
    assert client.get(f"/api/v1/articles/{article.pk}/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_a_story_detail_is_rendered_once_and_kept_by_the_process(
    client: Client, django_assert_num_queries: QueryCounter, story: Story
) -> None:
    first = client.get(f"/api/v1/stories/{story.pk}/")
    caches["default"].clear()  # what the process kept is enough: no shared cache, no rendering

    with django_assert_num_queries(1):  # the story's version, which keys what was kept
        again = client.get(f"/api/v1/stories/{story.pk}/")
    indented = client.get(f"/api/v1/stories/{story.pk}/", HTTP_ACCEPT="application/json; indent=2")

    assert again.status_code == 200
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert again["ETag"] == first["ETag"]
    assert indented.json() == first.json()
    assert indented.content != first.content  # another rendering, kept apart


def test_a_story_list_page_is_rendered_once_and_kept_by_the_process(
    client: Client, django_assert_num_queries: QueryCounter, story: Story
) -> None:
    first = client.get("/api/v1/stories/", {"page_size": 5})
    caches["default"].clear()

    with django_assert_num_queries(1):  # the stories' version, which keys what was kept
        again = client.get("/api/v1/stories/", {"page_size": 5})

    assert again.status_code == 200
    assert again.content == first.content
    assert [row["id"] for row in again.json()["results"]] == [story.pk]
