"""One throttle, three rates: anonymous clients by address, signed-in readers by user, tokens by token.

Each client's requests are counted in the cache, one counter per client and window of the rate's
duration (windows start on the clock's whole minutes, hours or days): one atomic increment a
request whatever the rate, one round trip to Redis. DRF's own throttles read and rewrite the
time of every request in the window (1,200 for a token); the (window start, count) pair this
module kept before took a read and a write, two round trips, and could lose a count to a
concurrent request. A client may send up to twice its rate across the end of a window: the rate
is a limit on abuse, not a quota.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.clients import client_address
from accounts.permissions import request_token


class ApiRateThrottle(SimpleRateThrottle):
    """Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``: ``anon``, ``user`` and ``token``.

    The rate is looked up per request (not once at import as DRF's own throttles do), so a
    settings override in a test or a reload takes effect.
    """

    scope = "anon"
    # Not DRF's key: what is stored there is a list of times, not a window.
    cache_format = "throttle-count_%(scope)s_%(ident)s"

    def __init__(self) -> None:
        # The rate depends on who asks, known only in allow_request.
        pass

    def allow_request(self, request: Request, view: Any) -> bool:
        token = request_token(request)
        if token is not None:
            self.scope = "token"
        elif request.user and request.user.is_authenticated:
            self.scope = "user"
        else:
            self.scope = "anon"
        # The stub types the rates as numbers; DRF's are strings ("60/minute"), as SimpleRateThrottle.rate says.
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[assignment]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.num_requests is None or self.duration is None:  # no rate for this scope
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = math.floor(self.now / self.duration)
        self.window_end = (window + 1) * self.duration
        # The default cache itself, not DRF's proxy to it (self.cache): window_count tells Redis by its class.
        count = window_count(caches[DEFAULT_CACHE_ALIAS], f"{self.key}_{window}", timeout=self.duration)
        return count <= self.num_requests

    def get_ident(self, request: Request) -> str:
        """The client's address as the rest of the site reads it (behind trusted proxies only)."""
        return client_address(request)

    def wait(self) -> float | None:
        return max(self.window_end - self.now, 1.0)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request_token(request)
        if token is not None:
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


def window_count(cache: BaseCache, key: str, *, timeout: int) -> int:
    """Adds one to the counter at ``key`` (created at 0, kept ``timeout`` seconds) and returns its new value.

    On Redis, an INCR and an EXPIRE sent together: one round trip. Django's own ``incr`` first
    asks whether the key exists (two round trips, three with the ``add`` that creates it).
    Elsewhere (the process's own memory in development and tests), ``add`` then ``incr``.
    """
    if isinstance(cache, RedisCache):
        redis_key = cache.make_and_validate_key(key)
        # Django's Redis backend stores an int as itself, so a get() of the key reads the count.
        pipeline = cache._cache.get_client(redis_key, write=True).pipeline(transaction=False)
        pipeline.incr(redis_key)
        pipeline.expire(redis_key, timeout, nx=True)
        count, _expiry_set = pipeline.execute()
        return int(count)
    cache.add(key, 0, timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # it expired between the two calls
        cache.add(key, 1, timeout)
        return 1
