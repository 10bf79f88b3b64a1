"""Celery tasks of wallets: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="payments.receipts_outbox_drain", ignore_result=True)
def receipts_outbox_drain_task() -> int:
    import time

    from payments.wallets.receipts import DRAIN_RUN_SECONDS, receipts_outbox_drain

    started = time.monotonic()
    handled = receipts_outbox_drain(run_seconds=DRAIN_RUN_SECONDS)
    if time.monotonic() - started > DRAIN_RUN_SECONDS:
        # It stopped with rows perhaps left: the next drain, without waiting for beat.
        receipts_outbox_drain_task.delay()
    return handled


@shared_task(name="payments.receipt_emails_sweep", ignore_result=True)
def receipt_emails_sweep_task() -> int:
    from payments.wallets.receipts import receipt_emails_sweep

    return receipt_emails_sweep()
