"""Ledger tasks (thin: they call a service or selector)."""

from __future__ import annotations

import time
from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings

from ledger import checkpoints, partitions, services

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


@shared_task(
    name="ledger.tasks.ledger_verify",
    # It reads the whole ledger, so it gets the nightly limits, not the global ones.
    soft_time_limit=settings.NIGHTLY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.NIGHTLY_TASK_TIME_LIMIT,
)
def ledger_verify() -> dict:
    """Nightly: check every invariant — incrementally from the newest checkpoint, or in
    full when the newest full run is older than ``LEDGER_VERIFY_FULL_EVERY_DAYS`` — log an
    error for each finding, record the run and mail ADMINS about findings (core.nightly)."""
    from core.nightly import nightly_check_record

    report = checkpoints.ledger_verify_run(
        hold_max_age=timedelta(hours=settings.LEDGER_HOLD_MAX_AGE_HOURS),
        incremental=checkpoints.nightly_incremental(),
    )
    for finding in report.findings:
        log.error("ledger.verify.finding", finding=finding)
    log.info(
        "ledger.verify",
        ok=report.ok,
        scope=report.scope,
        checked=report.checked,
        findings=len(report.findings),
    )
    nightly_check_record(
        name="ledger_verify", ok=report.ok, findings=report.findings, summary=report.checked
    )
    return {"ok": report.ok, "checked": report.checked, "findings": report.findings}


@shared_task(name="ledger.tasks.posting_partitions_ensure", ignore_result=True)
def posting_partitions_ensure() -> int:
    """Keep posting partitions ready ahead of the id sequence (every minute from beat)."""
    created = partitions.posting_partitions_ensure()
    if created:
        log.info("ledger.partitions.created", partitions=created)
    return created
