"""Who is asking, and how often: the client address behind trusted proxies, and per-client limits.

``client_address`` is the one answer to "which address sent this request" for the API throttle,
the report limit and the subscribe limit. ``X-Forwarded-For`` is read only as far as
``NEWSROOM_TRUSTED_PROXIES`` proxies (the ones in front of this site) wrote it: with none
(the default) it is ignored, since any client can send it. With N proxies, the address N
entries from the right is the client's: each trusted proxy appends the address it saw, and
whatever a client wrote itself stands further left.

``limit_allow`` counts events in the default cache in a fixed window per key. The count is
shared between web processes only if the cache is (production requires Redis for this).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies: int = settings.NEWSROOM_TRUSTED_PROXIES
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))]


def limit_allow(scope: str, ident: str, *, limit: int, seconds: int) -> bool:
    """Count one event for ``ident`` in ``scope``; False once more than ``limit`` fell in the window."""
    key = f"limit:{scope}:{hashlib.sha256(ident.encode('utf-8', 'surrogatepass')).hexdigest()}"
    cache.add(key, 0, seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, seconds)
        count = 1
    return count <= limit
