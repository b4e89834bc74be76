"""One throttle, three rates: anonymous clients by address, signed-in readers by user, tokens by token.

Each client's requests are counted in the cache (one counter per client and window, the window
starting at its first request): two cache calls a request whatever the rate, where DRF's own
throttles read and rewrite the list of every request's time in the window (1,200 times for a token).
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.permissions import request_token


class ApiRateThrottle(SimpleRateThrottle):
    """Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``: ``anon``, ``user`` and ``token``.

    The rate is looked up per request (not once at import as DRF's own throttles do), so a
    settings override in a test or a reload takes effect.
    """

    scope = "anon"

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
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        if self.cache.add(self.key, 1, self.duration):
            # The window's start, read only to tell a refused client when to come back.
            self.cache.set(f"{self.key}:start", self.now, self.duration)
            return True
        try:
            count = self.cache.incr(self.key)
        except ValueError:  # the window ended between the two calls: this request opens the next
            self.cache.set(self.key, 1, self.duration)
            self.cache.set(f"{self.key}:start", self.now, self.duration)
            return True
        return count <= self.num_requests

    def wait(self) -> float | None:
        start = self.cache.get(f"{self.key}:start")
        if start is None:
            return None
        return max(start + self.duration - self.now, 1.0)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request_token(request)
        if token is not None:
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
