"""Partners push articles over the API: token-authenticated, validated item by item, idempotent by URL."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import Scope
from accounts.services import api_token_create
from newsroom import pipeline
from sources.models import Article, Outlet

URL = "/api/v1/articles/push/"
TEXT = (
    "The Riverton transit board voted five to two on Tuesday to raise the base fare to $2.75, the first "
    "increase in six years. Board members said rising fuel and labour costs left no choice."
)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """What the endpoint hands the pipeline (the models themselves are tested in test_pipeline.py)."""
    calls: dict[str, list[int]] = {"analyse": [], "fetch": []}
    process = pipeline.articles_process

    def recorded(article_ids: list[int]) -> pipeline.Queued:
        queued = process(article_ids)
        calls["analyse"].extend(queued.analyse)
        calls["fetch"].extend(queued.fetch)
        return queued

    monkeypatch.setattr(pipeline, "articles_process", recorded)
    monkeypatch.setattr(pipeline, "send", lambda signature: True)  # queued, never run here
    return calls


@pytest.fixture
def partner(db: None) -> User:
    user = User.objects.create_user("wire-partner")
    user.user_permissions.add(Permission.objects.get(codename="add_article", content_type__app_label="sources"))
    return user


def push(client: Client, user: User | None, payload: Any, *, scopes: tuple[str, ...] = (Scope.ARTICLES_PUSH,)) -> Any:
    headers = {}
    if user:
        _token, key = api_token_create(user=user, name="partner feed", scopes=list(scopes))
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    return client.post(URL, payload, content_type="application/json", **headers)


def test_it_records_good_items_and_reports_each_rejected_one_with_its_reason(
    client: Client, partner: User, left_outlet: Outlet, queued: dict[str, list[int]]
) -> None:
    response = push(
        client,
        partner,
        {
            "articles": [
                {
                    "url": "https://leftledger.example/fare?utm_source=partner",
                    "outlet_domain": "leftledger.example",
                    "title": "Fare rises",
                    "text": TEXT,
                    "published_at": "2026-11-18T09:00:00Z",
                    "gold_story": "ignored",
                },
                {"url": "https://newcomer.example/bridge", "outlet": "Newcomer", "title": "Bridge closes"},
                {"title": "No URL"},
                {"url": "ftp://leftledger.example/x", "title": "Not the web"},
                {"url": "https://leftledger.example/y", "title": "Bad date", "published_at": "yesterday"},
                "not an object",
            ]
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["existing"], body["rejected"]) == (2, 0, 4)
    items = body["items"]
    assert [item["status"] for item in items] == ["created", "created"] + ["rejected"] * 4
    assert items[0]["url"] == "https://leftledger.example/fare"
    assert [item["reason"] for item in items[2:]] == [
        "'url' is required",
        "'url' must be an http(s) URL, got 'ftp://leftledger.example/x'",
        "'published_at' is not an ISO 8601 date: 'yesterday'",
        "expected a JSON object",
    ]
    fare = Article.objects.get(pk=items[0]["article_id"])
    assert (fare.outlet, fare.state, fare.language) == (left_outlet, Article.State.FETCHED, "en")
    bridge = Article.objects.get(pk=items[1]["article_id"])
    assert (bridge.outlet.name, bridge.outlet.is_rated, bridge.state) == ("Newcomer", False, Article.State.DISCOVERED)
    # With its text the article goes straight to analysis; without, it is fetched first.
    assert queued == {"analyse": [fare.pk], "fetch": [bridge.pk]}


def test_pushing_the_same_article_again_creates_nothing(
    client: Client, partner: User, left_outlet: Outlet, queued: dict[str, list[int]]
) -> None:
    article = {"url": "https://leftledger.example/fare", "title": "Fare rises", "text": TEXT}
    first = push(client, partner, {"articles": [article]}).json()

    again = push(client, partner, {"articles": [{**article, "url": article["url"] + "?utm_medium=email#top"}]}).json()

    assert again["items"][0]["status"] == "existing"
    assert again["items"][0]["article_id"] == first["items"][0]["article_id"]
    assert Article.objects.count() == 1
    assert queued["analyse"] == [first["items"][0]["article_id"]]


def test_it_refuses_a_request_without_a_token_or_with_a_wrong_one(client: Client, db: None) -> None:
    payload = {"articles": [{"url": "https://a.example/x", "title": "x"}]}

    assert push(client, None, payload).status_code == 401
    response = client.post(URL, payload, content_type="application/json", HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "Unknown or revoked token.",
        "fields": {},
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert Article.objects.count() == 0


def test_it_refuses_a_token_whose_user_may_not_add_articles(client: Client, db: None) -> None:
    reader = User.objects.create_user("reader")

    response = push(client, reader, {"articles": [{"url": "https://a.example/x", "title": "x"}]})

    assert response.status_code == 403
    assert "sources.add_article" in response.json()["error"]["message"]


def test_it_refuses_a_token_without_the_push_scope(client: Client, partner: User) -> None:
    response = push(client, partner, {"articles": [{"url": "https://a.example/x", "title": "x"}]}, scopes=("read",))

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This token lacks the 'articles:push' scope."
    assert Article.objects.count() == 0


def test_it_refuses_a_signed_in_session_without_a_token(client: Client, partner: User) -> None:
    client.force_login(partner)

    response = client.post(URL, {"articles": [{"url": "https://a.example/x"}]}, content_type="application/json")

    assert response.status_code == 401
    assert Article.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [{"articles": []}, {"items": []}, ["not", "wrapped"], {"articles": "https://a.example/x"}],
)
def test_it_refuses_a_malformed_request(client: Client, partner: User, payload: Any) -> None:
    assert push(client, partner, payload).status_code == 400


def test_it_refuses_more_articles_than_the_limit(client: Client, partner: User, settings: Settings) -> None:
    settings.NEWSROOM_PUSH_MAX_ITEMS = 2
    articles = [{"url": f"https://a.example/{index}", "title": "x"} for index in range(3)]

    response = push(client, partner, {"articles": articles})

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["articles"] == ["At most 2 articles per request; got 3."]
    assert Article.objects.count() == 0


def test_the_endpoint_is_in_the_schema(client: Client, db: None) -> None:
    assert "/api/v1/articles/push/" in client.get("/api/schema/").content.decode()
