"""Celery tasks of wallets: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="payments.receipts_outbox_drain", ignore_result=True)
def receipts_outbox_drain_task() -> int:
    from payments.wallets.receipts import receipts_outbox_drain

    return receipts_outbox_drain()
