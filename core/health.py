"""Health checks of the components SocialPay cannot work without.

Each check returns ``(ok, detail)`` and never raises: a health endpoint that crashes tells
the load balancer nothing.

Three questions, three endpoints: ``/livez`` (this process answers: restart it if not),
``/readyz`` (it can serve: the database and the broker answer; no Celery worker is asked,
so a worker outage does not take the web servers out of rotation) and ``/healthz`` (the
whole stack, workers included, for people and the CI smoke test). Workers and beat have
probes of their own (``manage.py probe worker|beat``).
"""

from __future__ import annotations

import time

import redis
from django.conf import settings
from django.db import connections

CHECK_TIMEOUT_SECONDS = 1.5


def check_database(connection=None) -> tuple[bool, str]:
    connection = connection or connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:
        return False, type(exc).__name__


def check_redis(url: str | None = None) -> tuple[bool, str]:
    """The Redis at ``url``, or the cache's: ``REDIS_URL``'s server, or every master of
    the Redis Cluster (``REDIS_CLUSTER_URLS``)."""
    from core import redis_clients

    if url is None and redis_clients.cluster_enabled():
        return _check_redis_cluster()
    client = redis.Redis.from_url(
        url or settings.REDIS_URL,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
        return True, "ok"
    except Exception as exc:
        return False, type(exc).__name__
    finally:
        client.close()


def _check_redis_cluster() -> tuple[bool, str]:
    from redis.cluster import RedisCluster

    from core import redis_clients

    try:
        client = redis_clients.cluster_client(
            settings.REDIS_CLUSTER_URLS,
            socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
            socket_timeout=CHECK_TIMEOUT_SECONDS,
        )
    except Exception as exc:
        return False, type(exc).__name__
    try:
        # Every slot's master answers (a master in failover does not, until its replica
        # is promoted).
        client.ping(target_nodes=RedisCluster.PRIMARIES)
        return True, f"ok ({len(client.get_primaries())} masters)"
    except Exception as exc:
        return False, type(exc).__name__
    finally:
        client.close()


def check_celery(app=None) -> tuple[bool, str]:
    """At least one worker answers a broadcast ping within the timeout."""
    if app is None:
        from socialpay.celery import app
    try:
        started = time.monotonic()
        # limit=1: one live worker is enough, so stop waiting at the first reply.
        replies = app.control.ping(timeout=CHECK_TIMEOUT_SECONDS, limit=1)
        if not replies:
            return False, "no worker answered"
        elapsed_ms = int((time.monotonic() - started) * 1000)
        return True, f"{len(replies)} worker(s) answered in {elapsed_ms} ms"
    except Exception as exc:
        return False, type(exc).__name__


def check_broker() -> tuple[bool, str]:
    """The Celery broker (a Redis server) answers."""
    return check_redis(settings.CELERY_BROKER_URL)


def _report(results: dict[str, tuple[bool, str]]) -> tuple[bool, dict[str, dict]]:
    components = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in results.items()}
    return all(ok for ok, _ in results.values()), components


def overall() -> tuple[bool, dict[str, dict]]:
    return _report({"database": check_database(), "redis": check_redis(), "celery": check_celery()})


def readiness() -> tuple[bool, dict[str, dict]]:
    return _report({"database": check_database(), "broker": check_broker()})


def worker_ping(node: str, *, app=None, timeout: float = 5.0) -> tuple[bool, str]:
    """One worker node (``celery@host``) answers a ping addressed to it alone."""
    if app is None:
        from socialpay.celery import app
    try:
        replies = app.control.ping(destination=[node], timeout=timeout)
    except Exception as exc:
        return False, type(exc).__name__
    if any(node in reply for reply in replies):
        return True, f"{node} answered"
    return False, f"{node} did not answer within {timeout:g} s"


def beat_freshness(max_age_seconds: float) -> tuple[bool, str]:
    """Beat wrote ``beat:last`` (core.beat) less than ``max_age_seconds`` ago."""
    from datetime import datetime

    from django.core.cache import cache
    from django.utils import timezone

    from core.beat import BEAT_LAST_KEY

    last = cache.get(BEAT_LAST_KEY)
    if not last:
        return False, "beat:last is missing"
    try:
        age = (timezone.now() - datetime.fromisoformat(last)).total_seconds()
    except (TypeError, ValueError):
        return False, "beat:last is unreadable"
    if age > max_age_seconds:
        return False, f"beat:last is {age:.0f} s old (limit {max_age_seconds:g} s)"
    return True, f"beat:last is {age:.0f} s old"
