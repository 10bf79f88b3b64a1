"""Ledger tasks (thin: they call a service or selector)."""

from __future__ import annotations

import time
from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings

from ledger import selectors, services

log = structlog.get_logger(__name__)

# A fold run stops after this many batches so that one beat tick stays short.
_FOLD_MAX_BATCHES = 20


@shared_task(name="ledger.tasks.balance_deltas_fold", ignore_result=True)
def balance_deltas_fold() -> int:
    """Fold appended credits into cached balances (every few seconds from beat)."""
    started = time.monotonic()
    folded = 0
    for _ in range(_FOLD_MAX_BATCHES):
        n = services.balance_deltas_fold(limit=1000)
        folded += n
        if n < 1000:
            break
    if folded:
        log.info("ledger.fold", accounts=folded, ms=round((time.monotonic() - started) * 1000))
    return folded


@shared_task(name="ledger.tasks.ledger_verify")
def ledger_verify() -> dict:
    """Nightly: recompute every balance and invariant; log an error for each finding."""
    report = selectors.ledger_verify(
        hold_max_age=timedelta(hours=settings.LEDGER_HOLD_MAX_AGE_HOURS)
    )
    for finding in report.findings:
        log.error("ledger.verify.finding", finding=finding)
    log.info("ledger.verify", ok=report.ok, checked=report.checked, findings=len(report.findings))
    return {"ok": report.ok, "checked": report.checked, "findings": report.findings}
