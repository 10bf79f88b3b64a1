"""Going on without Redis.

Redis holds nothing SocialPay needs to be correct: the cache, the API rate-limit counters
and beat's heartbeat can be lost, and money moves through PostgreSQL and its outboxes. So
when Redis cannot be reached, the code that uses it falls back (the cache answers "not
found", rate limits count inside each process) instead of failing the request.

``RedisBreaker`` keeps a failing Redis from costing every request a connection timeout:
after a failure the component does not try Redis again for ``REDIS_RETRY_AFTER_SECONDS``.
Each fallback is counted (``socialpay_degraded_operations``); the first failure and the
recovery are logged once each, not once per request.
"""

from __future__ import annotations

import threading
import time

import structlog
from django.conf import settings

from core.metrics import DEGRADED

log = structlog.get_logger(__name__)


class RedisBreaker:
    def __init__(self, component: str) -> None:
        self.component = component
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._down = False

    def available(self) -> bool:
        """False while a recent failure says not to try Redis yet."""
        return time.monotonic() >= self._retry_at

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + settings.REDIS_RETRY_AFTER_SECONDS
            first = not self._down
            self._down = True
        if first:
            log.warning(
                "redis.unavailable",
                component=self.component,
                error=type(exc).__name__,
                retry_after_seconds=settings.REDIS_RETRY_AFTER_SECONDS,
            )

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                log.info("redis.recovered", component=self.component)

    def fallback(self) -> None:
        """Count one operation served without Redis."""
        DEGRADED.labels(component=self.component, dependency="redis").inc()
