"""The Redis that holds what may be lost — the cache, the API rate limits, the home
timelines: one server (``REDIS_URL``) or a Redis Cluster (``REDIS_CLUSTER_URLS``, a few of
its nodes, from which the client learns the rest). The Celery broker is never here: it
stays on ``CELERY_BROKER_URL``, a Redis of its own (docs/scaling.md, "Redis Cluster").

On a cluster every command goes to the master of its key's slot, so whatever is sent
together must be slot-safe: a Lua script's keys, a transaction's keys and a multi-key
command's keys share a hash tag (``{...}``, see each user's key design), and a pipeline
that writes to many people's keys is non-transactional (redis-py's cluster pipeline sends
each node its share).

Failover: when a master dies, its slots fail until its replica is promoted (about twice
``cluster-node-timeout``). Meanwhile the client's commands to those slots fail fast (a
refused connection, or ``socket_connect_timeout``) after ``CLUSTER_RETRIES`` retries, each
of which re-reads the slot map; callers then fall back as without Redis
(``core.redis_fallback``). After the promotion the first retry or ``MOVED`` reply re-reads
the slot map and commands go to the new master.
"""

from __future__ import annotations

from urllib.parse import unquote, urlparse

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException
from redis.retry import Retry

# Everything a Redis call may raise that means "Redis cannot answer this now": redis-py's
# cluster client raises some errors (no node for a slot, a slot map it cannot build) that
# are not RedisErrors.
ERRORS: tuple[type[Exception], ...] = (redis.RedisError, RedisClusterException)

# Retries of a cluster command after a connection error, each after re-reading the slot
# map (redis-py's default is 10: ten connection timeouts per call while a master is down).
CLUSTER_RETRIES = 2


def cluster_enabled() -> bool:
    return bool(settings.REDIS_CLUSTER_URLS)


def cluster_client(
    urls: list[str], *, socket_connect_timeout: float, socket_timeout: float
) -> RedisCluster:
    """A cluster client from startup nodes (``redis://[user:password@]host:port``)."""
    parsed = [urlparse(url) for url in urls]
    first = parsed[0]
    return RedisCluster(
        startup_nodes=[ClusterNode(p.hostname or "127.0.0.1", p.port or 6379) for p in parsed],
        username=unquote(first.username) if first.username else None,
        password=unquote(first.password) if first.password else None,
        socket_connect_timeout=socket_connect_timeout,
        socket_timeout=socket_timeout,
        retry=Retry(NoBackoff(), CLUSTER_RETRIES),
        # A shard without a master must not stop the client from serving the others.
        require_full_coverage=False,
    )


def client(*, socket_connect_timeout: float, socket_timeout: float) -> redis.Redis | RedisCluster:
    """A new client for ``REDIS_CLUSTER_URLS`` when set, else for ``REDIS_URL``. Callers
    keep one per process (each holds its connection pools)."""
    if cluster_enabled():
        return cluster_client(
            settings.REDIS_CLUSTER_URLS,
            socket_connect_timeout=socket_connect_timeout,
            socket_timeout=socket_timeout,
        )
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=socket_connect_timeout,
        socket_timeout=socket_timeout,
    )
