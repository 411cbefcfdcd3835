"""Per-key request counting in fixed one-minute windows, in Django's cache.

The default LocMem cache counts per process: with several web processes each allows the full
rate, so a deployment with more than one process must configure a shared cache (Redis,
Memcached or the database cache); see docs/open311.md.
"""

from __future__ import annotations

import math

from django.core.cache import cache

from civicgrid.core import clock
from civicgrid.core.errors import DomainError

WINDOW_SECONDS = 60


class RateLimited(DomainError):
    """429: the key used up its requests for this minute; `retry_after` says for how long."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, field="api_key")
        self.retry_after = retry_after


def rate_limit_hit(*, key_id: int, limit: int) -> int | None:
    """Count one request for the key; the seconds to wait when it is over its limit, else None."""
    now = clock.now().timestamp()
    window = int(now // WINDOW_SECONDS)
    cache_key = f"open311:rate:{key_id}:{window}"
    # add() is a no-op when the counter exists, and incr() is atomic in every shared backend.
    cache.add(cache_key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add() and incr()
        cache.set(cache_key, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    if count <= limit:
        return None
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
