"""API rate limits with one Redis round trip per limit.

DRF's throttles keep a list of request times per client in the cache: every request reads
the list, unpickles it, trims it and writes it back — two round trips and a growing value
per limit, on every API request. These keep DRF's classes, scopes, keys and rates
(``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``) and replace only the counting, with the
sliding-window counter used by Cloudflare and Redis' own rate-limiting guide: a counter per
fixed window, and the estimate ``previous window * (share of it still inside the sliding
window) + current window``. One pipelined ``INCR``/``EXPIRE``/``GET``; a refused request is
taken back out (``DECR``), so refusals do not extend the wait.

The estimate assumes the previous window's requests were spread evenly; it can be off by a
fraction of one window's traffic, never by a whole window's burst as a plain fixed window
can.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from rest_framework import throttling

if TYPE_CHECKING:
    # What the mixin relies on from the class it is mixed into.
    _Throttle = throttling.SimpleRateThrottle
else:
    _Throttle = object

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    # One client (and connection pool) per process; redis-py resets the pool after a fork.
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
    return _client


class SlidingWindowMixin(_Throttle):
    """Counting for any ``SimpleRateThrottle`` subclass (see the module docstring)."""

    key_prefix = "rate"
    # Set by SimpleRateThrottle.__init__ from ``rate`` (None without a rate); the stubs of
    # djangorestframework do not declare them.
    num_requests: int | None
    duration: int | None

    def allow_request(self, request, view) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        limit, duration = self.num_requests, self.duration
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // duration)
        current = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{self.key_prefix}:{self.key}"
        pipe = _redis().pipeline(transaction=False)
        pipe.incr(f"{current}:{window}")
        pipe.expire(f"{current}:{window}", duration * 2)
        pipe.get(f"{current}:{window - 1}")
        in_window, _, previous = pipe.execute()
        previous = int(previous or 0)
        elapsed = (now - window * duration) / duration
        estimate = previous * (1 - elapsed) + in_window
        if estimate <= limit:
            return True
        _redis().decr(f"{current}:{window}")
        self._wait = _seconds_until_allowed(
            limit=limit,
            duration=duration,
            previous=previous,
            in_window=in_window - 1,
            elapsed=elapsed,
        )
        return False

    def wait(self) -> float | None:
        wait = getattr(self, "_wait", None)
        return None if wait is None else max(math.ceil(wait), 1)


def _seconds_until_allowed(
    *, limit: int, duration: int, previous: int, in_window: int, elapsed: float
) -> float:
    """When the estimate (with one more request) falls back to the limit, as the previous
    window slides out; at most the rest of the current window."""
    rest = (1 - elapsed) * duration
    if previous == 0:
        return rest
    # previous * (1 - e) + in_window + 1 <= limit  <=>  e >= 1 - (limit - in_window - 1) / prev
    needed = 1 - (limit - in_window - 1) / previous
    return min(rest, max(needed - elapsed, 0) * duration)


class AnonRateThrottle(SlidingWindowMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(SlidingWindowMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(SlidingWindowMixin, throttling.ScopedRateThrottle):
    def allow_request(self, request, view) -> bool:
        # DRF's version picks the view's scope and rate here before counting.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return SlidingWindowMixin.allow_request(self, request, view)
