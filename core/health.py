"""Health checks of the components SocialPay cannot work without.

Each check returns ``(ok, detail)`` and never raises: a health endpoint that crashes tells
the load balancer nothing.
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


def overall() -> tuple[bool, dict[str, dict]]:
    results = {
        "database": check_database(),
        "redis": check_redis(),
        "celery": check_celery(),
    }
    components = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in results.items()}
    return all(ok for ok, _ in results.values()), components
