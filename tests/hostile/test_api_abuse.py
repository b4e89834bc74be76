"""Issue 19, the API: what a clumsy or hostile client sends gets the right answer or a clear 4xx."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from stories.models import Story
from tests.test_push_api import partner, push  # noqa: F401 - the fixture


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


def test_json_nested_past_the_decoder_s_depth_is_a_bad_request(client: Client, story: Story) -> None:
    body = '{"question": ' + "[" * 50_000 + "]" * 50_000 + "}"

    response = client.post(f"/api/v1/stories/{story.pk}/ask/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "JSON parse error - nested too deeply."


def test_a_nul_in_a_search_separates_words(client: Client, story: Story) -> None:
    for query in ("\x00", "fare\x00hike"):
        response = client.get("/search/", {"q": query})
        assert response.status_code == 200, query
    assert "fare hike" in client.get("/search/", {"q": "fare\x00hike"}).content.decode()


def test_an_oversized_body_gets_the_api_s_json_error(client: Client, story: Story) -> None:
    body = '{"question": "' + "a" * 3_000_000 + '"}'

    response = client.post(f"/api/v1/stories/{story.pk}/ask/", body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_push_nested_past_the_decoder_s_depth_is_a_bad_request(
    client: Client,
    partner: User,  # noqa: F811 - the fixture imported above
) -> None:
    for body in ("[" * 100_000, '{"articles": ' + "[" * 100_000 + "]" * 100_000 + "}"):
        response = push(client, partner, body)

        assert response.status_code == 400
        assert response.json()["error"]["message"] == "JSON parse error - nested too deeply."
