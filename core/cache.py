"""Django's Redis cache, made to degrade instead of fail (see ``core.redis_fallback``).

``ResilientRedisClusterCache`` is the same on a Redis Cluster (``REDIS_CLUSTER_URLS``).

Everything in our cache may be lost, and code that uses the cache (allauth's rate limits,
beat's heartbeat, libraries) expects a miss, not an exception. While Redis is unreachable
every read is a miss and every write is dropped, so pages keep answering; writes are not
queued for later (a stale value written after recovery would be worse than a miss).
"""

from __future__ import annotations

import functools
import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from core import redis_clients
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
        except redis_clients.ERRORS as exc:
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


class RedisClusterCacheClient(RedisCacheClient):
    """Django's client on a Redis Cluster (``REDIS_CLUSTER_URLS``): one ``RedisCluster``
    per process instead of a ``redis.Redis`` per pool, and the commands on several keys,
    whose keys may live on different masters, sent per slot: ``get_many`` as MGET per slot
    (``mget_nonatomic``), ``set_many`` as a non-transactional pipeline of SETs (each node
    gets its own), ``delete_many`` as DEL per slot (redis-py's cluster ``delete``).
    ``clear`` empties every master. Single-key commands are Django's own."""

    def __init__(self, servers, serializer=None, pool_class=None, parser_class=None, **options):
        super().__init__(servers, serializer=serializer, parser_class=parser_class, **options)
        self._startup_urls = list(servers)
        # Django's client sets it; its type stubs do not declare it.
        self._codec = self._serializer  # type: ignore[attr-defined]
        self._options = options
        self._lock = threading.Lock()
        self._cluster = None

    def get_client(self, key=None, *, write=False):
        if self._cluster is None:
            with self._lock:
                if self._cluster is None:
                    self._cluster = redis_clients.cluster_client(
                        self._startup_urls,
                        socket_connect_timeout=self._options.get("socket_connect_timeout", 1),
                        socket_timeout=self._options.get("socket_timeout", 1),
                    )
        return self._cluster

    def get_many(self, keys):
        keys = list(keys)
        values = self.get_client(None).mget_nonatomic(keys)
        found = zip(keys, values, strict=True)
        return {k: self._codec.loads(v) for k, v in found if v is not None}

    def set_many(self, data, timeout):
        pipeline = self.get_client(None, write=True).pipeline(transaction=False)
        for key, value in data.items():
            pipeline.set(key, self._codec.dumps(value), ex=timeout)
        pipeline.execute()
        return []

    def delete_many(self, keys):
        keys = list(keys)
        if keys:
            self.get_client(None, write=True).delete(*keys)

    def clear(self):
        return bool(self.get_client(None, write=True).flushdb())


class ResilientRedisClusterCacheClient(RedisClusterCacheClient):
    pass


for _name in [*_ON_FAILURE, "get", "incr"]:
    setattr(
        ResilientRedisCacheClient,
        _name,
        _resilient(_name, getattr(RedisCacheClient, _name)),
    )
    setattr(
        ResilientRedisClusterCacheClient,
        _name,
        _resilient(_name, getattr(RedisClusterCacheClient, _name)),
    )


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient


class ResilientRedisClusterCache(RedisCache):
    """The cache on a Redis Cluster, degrading to misses like ``ResilientRedisCache``;
    ``LOCATION``: the startup nodes (``REDIS_CLUSTER_URLS``)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ResilientRedisClusterCacheClient
