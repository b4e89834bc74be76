"""One throttle, three rates: anonymous clients by address, signed-in readers by user, tokens by token.

Each client's requests are counted in the cache as (start of its window, requests in it), the
window starting at its first request: one read and one write a request whatever the rate, where
DRF's own throttles read and rewrite the time of every request in the window (1,200 for a token).
"""

from __future__ import annotations

import math
from typing import Any

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
    cache_format = "throttle-window_%(scope)s_%(ident)s"

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
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        # One read and (when allowed) one write, like DRF's, but of two numbers: what DRF keeps is
        # the time of every request in the window. Concurrent requests may both read the same
        # count, as with DRF's; the rate is a limit on abuse, not a quota.
        start, count = self.cache.get(self.key, (self.now, 0))
        if self.now - start >= self.duration:
            start, count = self.now, 0
        self.window_start = start
        if count >= self.num_requests:
            return False
        self.cache.set(self.key, (start, count + 1), max(math.ceil(start + self.duration - self.now), 1))
        return True

    def get_ident(self, request: Request) -> str:
        """The client's address as the rest of the site reads it (behind trusted proxies only)."""
        return client_address(request)

    def wait(self) -> float | None:
        return max(self.window_start + self.duration - self.now, 1.0)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request_token(request)
        if token is not None:
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
