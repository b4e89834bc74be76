"""Every API error is JSON in one shape, throttled requests included (429 with Retry-After)."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from pytest_django.fixtures import Settings

from accounts.models import Scope
from accounts.services import api_token_create
from stories.models import Story
from tests.conftest import STORY_TIME


def error_of(response: Any) -> dict[str, Any]:
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


@pytest.fixture
def rates(settings: Settings) -> None:
    """Low rates for the test: 2 a minute anonymous, 3 for a signed-in reader, 4 for a token."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute", "token": "4/minute"},
    }


@pytest.mark.parametrize(
    "path", ["/api/v1/stories/999999/", "/api/v1/outlets/999999/", "/api/v1/articles/999999/", "/api/v1/nothing/"]
)
def test_an_unknown_object_or_path_is_a_json_404(client: Client, db: None, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_an_id_too_long_for_the_database_is_a_404_not_a_500(client: Client, db: None) -> None:
    response = client.get("/api/v1/stories/99999999999999999999999/")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_method_not_allowed_is_a_json_405(client: Client, story: Story) -> None:
    response = client.delete(f"/api/v1/stories/{story.pk}/")

    assert response.status_code == 405
    error = error_of(response)
    assert error == {"code": "method_not_allowed", "message": 'Method "DELETE" not allowed.', "fields": {}}
    assert response["Allow"] == "GET, HEAD, OPTIONS"


def test_a_body_that_is_not_json_is_a_json_400(client: Client, db: None) -> None:
    user = User.objects.create_superuser("curator")
    _token, key = api_token_create(user=user, name="t", scopes=[Scope.ARTICLES_PUSH])

    response = client.post(
        "/api/v1/articles/push/", "{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_anonymous_clients_are_throttled_with_a_json_429_and_retry_after(client: Client, db: None, rates: None) -> None:
    assert [client.get("/api/v1/stories/").status_code for _ in range(2)] == [200, 200]

    response = client.get("/api/v1/outlets/")

    assert response.status_code == 429
    error = error_of(response)
    assert error["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert error["retry_after"] == int(response["Retry-After"])


def test_a_token_and_a_signed_in_reader_get_their_own_higher_rates(client: Client, db: None, rates: None) -> None:
    reader = User.objects.create_user("reader")
    _token, key = api_token_create(user=reader, name="script", scopes=[Scope.READ])
    with_token = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    session = Client()
    session.force_login(reader)

    token_statuses = [client.get("/api/v1/stories/", **with_token).status_code for _ in range(5)]
    session_statuses = [session.get("/api/v1/stories/").status_code for _ in range(4)]
    anonymous_statuses = [client.get("/api/v1/stories/").status_code for _ in range(3)]

    assert token_statuses == [200, 200, 200, 200, 429]
    assert session_statuses == [200, 200, 200, 429]
    # The same address as the token's requests, yet its own count: the token's did not use it up.
    assert anonymous_statuses == [200, 200, 429]


def test_a_throttled_client_is_served_again_when_its_window_ends(
    client: Client, db: None, rates: None, clock: time_machine.Coordinates
) -> None:
    clock.move_to(STORY_TIME, tick=False)
    statuses = [client.get("/api/v1/stories/").status_code for _ in range(3)]
    clock.shift(30)
    refused = client.get("/api/v1/stories/")
    clock.shift(31)  # the window opened by the first request has ended
    again = [client.get("/api/v1/stories/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 30
    assert again == [200, 200, 429]


@pytest.fixture
def redis_cache(settings: Settings) -> Any:
    """The default cache on Redis, as in production (a database of its own, emptied before and after)."""
    from django.core.cache import cache
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    url = "redis://127.0.0.1:6379/14"
    try:
        Redis.from_url(url, socket_connect_timeout=1).ping()
    except RedisConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
    }
    cache.clear()
    yield cache
    cache.clear()


def test_on_redis_each_request_is_counted_once_in_its_window(
    client: Client, db: None, rates: None, redis_cache: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Django's own incr asks whether the key exists first: a second round trip, which the throttle avoids.
    monkeypatch.setattr(RedisCache, "incr", lambda *args, **kwargs: pytest.fail("Django's incr was called"))
    statuses = [client.get("/api/v1/stories/").status_code for _ in range(3)]
    refused = client.get("/api/v1/outlets/")

    assert statuses == [200, 200, 429]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    # One counter for the client in this window, holding every request (refused ones too), with an expiry.
    keys = [key.decode() for key in redis_cache._cache.get_client().keys("*throttle-count_anon_*")]
    assert len(keys) == 1
    assert int(redis_cache._cache.get_client().get(keys[0])) == 4
    assert 0 < redis_cache._cache.get_client().ttl(keys[0]) <= 60
