"""API rate limits with one Redis round trip per limit.

DRF's throttles keep a list of request times per client in the cache: every request reads
the list, unpickles it, trims it and writes it back — two round trips and a growing value
per limit, on every API request. These keep DRF's classes, scopes, keys and rates
(``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``) and replace only the counting, with the
sliding-window counter used by Cloudflare and Redis' own rate-limiting guide: a counter per
fixed window, and the estimate ``previous window * (share of it still inside the sliding
window) + current window``: ``INCR``/``EXPIRE``/``GET`` per limit, and all the limits of a
view (the per-person limit and a scope's, such as ``money``) in one round trip — one Lua
script call on a single Redis server (``_COUNT_LUA``: one command to send and one reply to
parse instead of three per limit), a pipeline on a Redis Cluster, where each limit's keys
live in a slot of their own. A refused request is taken back out (``DECR``), so refusals
do not extend the wait.

The estimate assumes the previous window's requests were spread evenly; it can be off by a
fraction of one window's traffic, never by a whole window's burst as a plain fixed window
can.

Without Redis (down, or unreachable within a second) the same counters are kept in the
process's memory (``_LocalCounters``): every limit, logins' included, still holds per
process, so a client gets at most the limit times the number of web processes while Redis
is away, and no request fails because of the rate limiter. Each request counted locally
adds to ``socialpay_degraded_operations{component="ratelimit"}``.
"""

from __future__ import annotations

import hashlib
import math
import threading
from typing import TYPE_CHECKING

import redis
from django.conf import settings
from redis.cluster import RedisCluster
from rest_framework import throttling

from core import redis_clients
from core.client_ip import client_ip
from core.redis_fallback import RedisBreaker

_client: redis.Redis | RedisCluster | None = None
# What a failed count may raise: Redis' own errors, and a socket that broke while redis-py
# was opening it, which surfaces as a bare OSError (EBADF) and then ValueError ("I/O
# operation on closed file") instead of a ConnectionError (seen with fifty requests opening
# their first connections at once). Either way Redis did not count this request, and the
# request is counted locally rather than failed.
_COUNTING_FAILED: tuple[type[Exception], ...] = (*redis_clients.ERRORS, OSError, ValueError)
_breaker = RedisBreaker("ratelimit")


def _redis() -> redis.Redis | RedisCluster:
    # One client (and connection pool) per process; redis-py resets the pool after a fork.
    global _client
    if _client is None:
        _client = redis_clients.client(socket_connect_timeout=1, socket_timeout=1)
    return _client


def window_key(current: str, window: int) -> str:
    """The counter of ``current`` (a limit and a client, see ``limit_key``) in
    ``window``."""
    return f"{current}:{window}"


def limit_key(key_prefix: str, key: str) -> str:
    """The keys of one limit for one client (DRF's cache key: scope and client). That key
    is the hash tag, so that a window and the one before it, read in the same round trip,
    live in one Redis Cluster slot (on one server the braces are just characters)."""
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{key_prefix}:{{{key}}}"


class _LocalCounters:
    """Window counters in this process's memory, for while Redis is away. Windows older
    than the previous one are dropped as new ones start, so the table stays small."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}
        self._newest = 0

    def count(self, key: str, window: int) -> tuple[int, int]:
        """Add one to ``key``'s current window; return (current, previous) counts."""
        with self._lock:
            if window > self._newest:
                self._newest = window
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window - 1}
            current = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = current
            return current, self._counts.get((key, window - 1), 0)

    def take_back(self, key: str, window: int) -> None:
        with self._lock:
            if (key, window) in self._counts:
                self._counts[(key, window)] -= 1


# Per limit: count this request in the current window's counter, (re)set its lifetime to two
# windows (the next window still reads it as the previous one) and read the previous
# window's counter. KEYS: each limit's current and previous counters, in pairs; ARGV: each
# limit's lifetime in seconds. Returns the (current, previous) counts, flattened.
_COUNT_LUA = """
local counts = {}
for i = 1, #ARGV do
    local current = KEYS[2 * i - 1]
    counts[2 * i - 1] = redis.call('INCR', current)
    redis.call('EXPIRE', current, ARGV[i])
    counts[2 * i] = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
end
return counts
"""
_COUNT_SHA = hashlib.sha1(_COUNT_LUA.encode()).hexdigest()  # noqa: S324 (Redis' script id)


def _count_scripted(
    client: redis.Redis, windows: dict[str, int], durations: dict[str, int]
) -> list[tuple[int, int]]:
    """Every limit counted by one ``EVALSHA`` of ``_COUNT_LUA`` (loaded on first use, and
    again after a Redis restart or ``SCRIPT FLUSH``): (current, previous) per key, in
    ``windows``' order."""
    keys: list[str] = []
    for key, window in windows.items():
        keys += [window_key(key, window), window_key(key, window - 1)]
    lifetimes = [durations[key] * 2 for key in windows]
    try:
        flat = client.evalsha(_COUNT_SHA, len(keys), *keys, *lifetimes)
    except redis.exceptions.NoScriptError:
        client.script_load(_COUNT_LUA)
        flat = client.evalsha(_COUNT_SHA, len(keys), *keys, *lifetimes)
    return [(int(flat[2 * i]), int(flat[2 * i + 1])) for i in range(len(windows))]


def _count_pipelined(
    client: RedisCluster, windows: dict[str, int], durations: dict[str, int]
) -> list[tuple[int, int]]:
    """The same counts on a cluster: a script's keys must share a slot, and each limit's
    pair has a hash tag of its own, so the commands go in one pipeline that redis-py
    splits by node."""
    pipe = client.pipeline(transaction=False)
    for key, window in windows.items():
        pipe.incr(window_key(key, window))
        pipe.expire(window_key(key, window), durations[key] * 2)
        pipe.get(window_key(key, window - 1))
    replies = pipe.execute()
    return [(int(replies[3 * i]), int(replies[3 * i + 2] or 0)) for i in range(len(windows))]


_local = _LocalCounters()


if TYPE_CHECKING:
    # What the mixin relies on from the class it is mixed into.
    _Throttle = throttling.SimpleRateThrottle
else:
    _Throttle = object


class SlidingWindowMixin(_Throttle):
    """Counting for any ``SimpleRateThrottle`` subclass (see the module docstring)."""

    key_prefix = "rate"
    # Set by SimpleRateThrottle.__init__ from ``rate`` (None without a rate); the stubs of
    # djangorestframework do not declare them.
    num_requests: int | None
    duration: int | None

    def get_ident(self, request) -> str:
        # DRF's own reads X-Forwarded-For whenever it is present, so a client rotating
        # that header had a fresh budget per request. The address comes from the one
        # trusted-proxy setting instead (core.client_ip).
        return client_ip(request) or "unknown"

    def _limit_key(self, request, view) -> str | None:
        """This limit's counter for the request (without the window); None when it does
        not apply. Sets ``self.key`` as DRF's throttles do."""
        if self.rate is None or self.num_requests is None or self.duration is None:
            return None
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return None
        return limit_key(self.key_prefix, self.key)

    def allow_request(self, request, view) -> bool:
        current = self._limit_key(request, view)
        if current is None:
            return True
        assert self.num_requests is not None and self.duration is not None  # _limit_key
        limit, duration = self.num_requests, self.duration
        # DRF asks each of the view's limits in turn; the first one counts them all in one
        # round trip and leaves the others' counts on the request.
        batch: dict = getattr(request, "_rate_limit_counts", None) or {}
        if current not in batch:
            batch = self._count_view_limits(request, view, current)
            request._rate_limit_counts = batch
        now, window, counted = batch.pop(current)
        if counted is None:
            _breaker.fallback()
            in_window, previous = _local.count(current, window)
        else:
            in_window, previous = counted
        elapsed = (now - window * duration) / duration
        estimate = previous * (1 - elapsed) + in_window
        if estimate <= limit:
            return True
        self._take_back(current, window, in_redis=counted is not None)
        self._wait = self._seconds_until_allowed(previous, in_window - 1, elapsed)
        return False

    def _count_view_limits(self, request, view, current: str) -> dict:
        """Count this request against this limit and the view's other sliding-window
        limits that apply to it: ``{key: (now, window, (in window, previous) or None)}``,
        None for every key when Redis cannot be reached."""
        assert self.duration is not None  # allow_request checked
        durations = {current: self.duration}
        # Plain Django views pass None or a stand-in with the scope (no DRF throttles).
        view_throttles = getattr(view, "get_throttles", None)
        for other in view_throttles() if view_throttles is not None else ():
            if isinstance(other, SlidingWindowMixin):
                key = other._limit_key(request, view)
                if key is not None and other.duration is not None:
                    durations.setdefault(key, other.duration)
        now = self.timer()
        windows = {key: int(now // duration) for key, duration in durations.items()}
        counts = self._count_in_redis(windows, durations) if _breaker.available() else None
        return {
            key: (now, window, counts[key] if counts is not None else None)
            for key, window in windows.items()
        }

    def _count_in_redis(
        self, windows: dict[str, int], durations: dict[str, int]
    ) -> dict[str, tuple[int, int]] | None:
        """One round trip for every key; None when Redis cannot be reached."""
        try:
            client = _redis()
            if isinstance(client, RedisCluster):
                counts = _count_pipelined(client, windows, durations)
            else:
                counts = _count_scripted(client, windows, durations)
        except _COUNTING_FAILED as exc:
            _breaker.failed(exc)
            return None
        _breaker.succeeded()
        return dict(zip(windows, counts, strict=True))

    def _take_back(self, current: str, window: int, *, in_redis: bool) -> None:
        if not in_redis:
            _local.take_back(current, window)
            return
        try:
            _redis().decr(window_key(current, window))
        except redis_clients.ERRORS as exc:
            # The refusal stands; the counter stays one higher until its window ends.
            _breaker.failed(exc)

    def _seconds_until_allowed(self, previous: int, in_window: int, elapsed: float) -> float:
        """When the estimate (with one more request) falls back to the limit, as the
        previous window slides out; at most the rest of the current window."""
        assert self.duration is not None and self.num_requests is not None  # allow_request checked
        rest = (1 - elapsed) * self.duration
        if previous == 0:
            return rest
        # previous * (1 - e) + in_window + 1 <= limit  <=>  e >= 1 - (limit - in_window - 1) / prev
        needed = 1 - (self.num_requests - in_window - 1) / previous
        return min(rest, max(needed - elapsed, 0) * self.duration)

    def wait(self) -> float | None:
        wait = getattr(self, "_wait", None)
        return None if wait is None else max(math.ceil(wait), 1)


class AnonRateThrottle(SlidingWindowMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(SlidingWindowMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(SlidingWindowMixin, throttling.ScopedRateThrottle):
    def _limit_key(self, request, view) -> str | None:
        # DRF's version picks the view's scope and rate in allow_request before counting.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return None
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super()._limit_key(request, view)


class WebhookRateThrottle(SlidingWindowMixin, throttling.SimpleRateThrottle):
    """Requests to ``POST /webhooks/{processor}`` per client address (rate ``webhook``).
    Used by a plain Django view, so ``view`` is None; a refused processor retries later."""

    scope = "webhook"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
