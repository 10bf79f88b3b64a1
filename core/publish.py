"""Sending Celery tasks after a commit without making the request depend on the broker.

Every task we send is a nudge: the database row it names is the truth, and a sweeper on
Celery beat re-drives rows whose task never arrived (payouts, webhook events, receipts).
So when the broker cannot be reached, the request that committed the row must still
answer as committed: ``publish_on_commit`` logs the failure, counts it
(``socialpay_degraded_operations{component="publish"}``) and goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from django.db import transaction

from core.metrics import DEGRADED

log = structlog.get_logger(__name__)


def publish_on_commit(publish: Callable[[], Any], *, task: str) -> None:
    """Run ``publish`` (an ``apply_async``/``delay`` call) once the current transaction
    commits (at once outside one); a failure to reach the broker is logged, not raised."""

    def run() -> None:
        try:
            publish()
        except Exception as exc:
            DEGRADED.labels(component="publish", dependency="broker").inc()
            log.warning("task.publish_failed", task_name=task, error=type(exc).__name__)

    transaction.on_commit(run)
