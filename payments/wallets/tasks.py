"""Celery tasks of wallets: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task


# Receipts now travel through the outbox (receipts_outbox_drain); this task still delivers
# messages queued by an older deploy.
@shared_task(name="payments.receipts_deliver", ignore_result=True, max_retries=5)
def receipts_deliver_task(specs: list[dict]) -> int:
    from payments.wallets.receipts import ReceiptSpec, receipt_deliver

    return sum(receipt_deliver(spec=ReceiptSpec(**spec)) for spec in specs)


@shared_task(name="payments.receipts_outbox_drain", ignore_result=True)
def receipts_outbox_drain_task() -> int:
    from payments.wallets.receipts import receipts_outbox_drain

    return receipts_outbox_drain()


@shared_task(name="payments.wallet_transfers_redrive", ignore_result=True)
def wallet_transfers_redrive_task() -> int:
    from payments.wallets.transfers import transfers_redrive

    return transfers_redrive()
