"""The version queries kept for a moment per process (NEWSROOM_VERSION_SECONDS): read once, then again
after the moment, never from a clock of the day (the moment is measured on a clock these tests move)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from sources import compiled
from sources.models import Outlet
from stories.models import Story
from stories.services import story_refresh
from tests.conftest import analysed_article_make, unit_vector

QueryCounter = Callable[..., Any]


class Clock:
    """Stands in for the ``time`` module in sources.compiled: a monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    settings.NEWSROOM_VERSION_SECONDS = 1.0
    fake = Clock()
    monkeypatch.setattr(compiled, "time", fake)
    compiled._KEPT_VERSIONS.clear()
    yield fake
    compiled._KEPT_VERSIONS.clear()


def test_a_new_article_is_listed_once_the_moment_has_passed(
    client: Client, clock: Clock, left_outlet: Outlet, django_assert_num_queries: QueryCounter
) -> None:
    first = client.get("/api/v1/articles/")
    analysed_article_make(outlet=left_outlet, title="Bridge reopens after repairs", vector=unit_vector(3))

    with django_assert_num_queries(0):  # the version kept, the body kept: nothing asked of the database
        within = client.get("/api/v1/articles/")
    clock.now += 1.01
    after = client.get("/api/v1/articles/")

    assert within.content == first.content
    assert "Bridge reopens after repairs" not in within.content.decode()
    assert after.json()["results"][0]["title"] == "Bridge reopens after repairs"


def test_a_refreshed_story_gets_a_new_etag_once_the_moment_has_passed(
    client: Client, clock: Clock, story: Story
) -> None:
    first = client.get(f"/api/v1/stories/{story.pk}/")
    story_refresh(story_id=story.pk)
    Story.objects.filter(pk=story.pk).update(refreshed_at=story.refreshed_at.replace(year=2030))  # type: ignore[union-attr]

    within = client.get(f"/api/v1/stories/{story.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])
    clock.now += 1.01
    after = client.get(f"/api/v1/stories/{story.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert within.status_code == 304
    assert after.status_code == 200
    assert after["ETag"] != first["ETag"]


def test_an_unknown_story_is_not_kept(client: Client, clock: Clock, db: None) -> None:
    assert client.get("/api/v1/stories/987654/").status_code == 404
    assert client.get("/stories/987654/").status_code == 404

    assert compiled._KEPT_VERSIONS == {}


def test_without_a_moment_every_request_reads_the_version(
    client: Client, settings: SettingsWrapper, left_outlet: Outlet
) -> None:
    settings.NEWSROOM_VERSION_SECONDS = 0
    client.get("/api/v1/articles/")
    analysed_article_make(outlet=left_outlet, title="Bridge reopens after repairs", vector=unit_vector(3))

    assert client.get("/api/v1/articles/").json()["results"][0]["title"] == "Bridge reopens after repairs"
    assert compiled._KEPT_VERSIONS == {}
