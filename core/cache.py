"""Django's Redis cache, made to degrade instead of fail (see ``core.redis_fallback``).

Everything in our cache may be lost, and code that uses the cache (allauth's rate limits,
beat's heartbeat, libraries) expects a miss, not an exception. While Redis is unreachable
every read is a miss and every write is dropped, so pages keep answering; writes are not
queued for later (a stale value written after recovery would be worse than a miss).
"""

from __future__ import annotations

import functools

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from core.redis_fallback import RedisBreaker

_breaker = RedisBreaker("cache")

# What each client method returns when Redis is away: what it returns for a missing key.
# ``add`` answers True ("the key was absent and is stored now"), consistent with ``get``
# answering a miss: code that takes a lock or marks something used with ``add`` (allauth's
# rate-limit lock, its TOTP replay guard) goes on instead of waiting for a lock that can
# never be had. Logins stay limited by django-axes, which counts failures in PostgreSQL.
_ON_FAILURE: dict[str, object] = {
    "add": True,
    "clear": False,
    "delete": False,
    "delete_many": None,
    "get_many": {},
    "has_key": False,
    "set": None,
    "set_many": [],
    "touch": False,
}


def _resilient(name: str, method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if name == "get":
            fallback = kwargs.get("default", args[1] if len(args) > 1 else None)
        elif name == "incr":
            fallback = None
        else:
            fallback = _ON_FAILURE[name]
        if not _breaker.available():
            _breaker.fallback()
            return _failed_result(name, fallback)
        try:
            result = method(self, *args, **kwargs)
        except redis.RedisError as exc:
            _breaker.failed(exc)
            _breaker.fallback()
            return _failed_result(name, fallback)
        _breaker.succeeded()
        return result

    return wrapper


def _failed_result(name: str, fallback):
    if name == "incr":
        # Django's contract for a missing key; callers of incr() already handle it.
        raise ValueError("cache unavailable: the key is treated as missing")
    return fallback


class ResilientRedisCacheClient(RedisCacheClient):
    pass


for _name in [*_ON_FAILURE, "get", "incr"]:
    setattr(
        ResilientRedisCacheClient,
        _name,
        _resilient(_name, getattr(RedisCacheClient, _name)),
    )


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient
