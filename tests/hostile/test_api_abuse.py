"""Issue 19, the API: what a clumsy or hostile client sends gets the right answer or a clear 4xx."""

from __future__ import annotations

from django.test import Client

from stories.models import Story


def test_a_long_query_string_never_shares_a_cached_story_list_with_another(client: Client, story: Story) -> None:
    padding = "x" * 700  # past any cut-off of the key: only the end of the two queries differs
    everything = client.get("/api/v1/stories/", {"pad": padding, "min_outlets": 0})
    nothing = client.get("/api/v1/stories/", {"pad": padding, "min_outlets": 99})

    assert [item["id"] for item in everything.json()["results"]] == [story.pk]
    assert nothing.json()["results"] == []


def test_the_same_query_in_another_order_is_the_same_cached_list(client: Client, story: Story) -> None:
    first = client.get("/api/v1/stories/?min_outlets=1&blindspot=left").json()
    second = client.get("/api/v1/stories/?blindspot=left&min_outlets=1").json()

    assert first == second
