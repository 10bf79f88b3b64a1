"""Django's PostgreSQL backend, with the persistent connection's health check at most once
per ``HEALTH_CHECK_INTERVAL_SECONDS`` (a key of the database's settings).

With ``CONN_HEALTH_CHECKS``, Django sends ``SELECT 1`` before the first statement of every
request that reuses a connection. That is one more round trip to PostgreSQL per request.
Measured over HTTP on a 2-core machine, it cost about a tenth of the CPU of
``GET /api/v1/me`` and about 8 % of a transfer's (README, "Benchmarks"). Here a connection
is checked only when its last check, or its opening, is more than the interval ago. A
worker that is busy serving requests checks about once per interval; a worker that was
idle checks before its next request, as Django does. ``0`` checks before every request,
exactly as Django does.

What the interval gives up: a connection that breaks (PostgreSQL restarted, a pooler or a
firewall dropped it) less than the interval after its last check is found broken by the
request's first statement instead of by the check. That request answers 503 with
Retry-After (``core.views.handler500``), like every other request that finds the database
unreachable. Django then sees the error, closes the connection at the end of the request,
and the next request connects again. So each break costs at most one such request per
worker process.
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    # Set by Django's BaseDatabaseWrapper; declared for the type checker (the stubs lack them).
    health_check_enabled: bool
    health_check_done: bool
    # When this connection was last known to work: opened, or passed the health check.
    _verified_at = float("-inf")

    def connect(self) -> None:
        super().connect()
        self._verified_at = time.monotonic()

    def close_if_health_check_failed(self) -> None:
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        now = time.monotonic()
        interval = self.settings_dict.get("HEALTH_CHECK_INTERVAL_SECONDS", 0)
        if now - self._verified_at < interval:
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
        if self.connection is not None:  # it passed; a failed one was closed
            self._verified_at = now
