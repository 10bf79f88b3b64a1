"""Celery beat's scheduler, plus a heartbeat of beat itself.

Beat only enqueues, so nothing else can tell whether it is alive: this scheduler writes
``beat:last`` (ISO time) to the cache every ``_EVERY`` seconds from its own loop, and the
beat probe (``manage.py probe beat``) checks that it is fresh.
"""

from __future__ import annotations

import time

from celery.beat import PersistentScheduler
from django.core.cache import cache
from django.utils import timezone

_EVERY = 15.0
BEAT_LAST_KEY = "beat:last"


class HeartbeatScheduler(PersistentScheduler):
    _beat_written = float("-inf")

    def tick(self, *args, **kwargs) -> float:
        interval = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._beat_written >= _EVERY:
            self._beat_written = now
            # The cache never raises (core.cache): an unreachable cache only makes the probe
            # fail, which it cannot tell from a dead beat; either deserves a look.
            cache.set(BEAT_LAST_KEY, timezone.now().isoformat(), timeout=3600)
        return min(interval, _EVERY)
