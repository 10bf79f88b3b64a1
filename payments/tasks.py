"""Celery tasks of payments: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from payments.webhooks import services


@shared_task(name="payments.webhook_event_process", bind=True, ignore_result=True, max_retries=None)
def webhook_event_process_task(self, event_pk: int) -> str:
    outcome = services.webhook_event_process(event_pk=event_pk)
    if outcome.retry_in is not None:
        # "retry" (a transient error) or "busy" (a claim that may belong to a killed
        # worker). The attempt cap lives in the service (WEBHOOK_MAX_ATTEMPTS).
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="payments.webhook_events_redrive", ignore_result=True)
def webhook_events_redrive_task() -> int:
    return services.webhook_events_redrive()


@shared_task(name="payments.webhook_deliveries_prune", ignore_result=True)
def webhook_deliveries_prune_task() -> int:
    return services.webhook_deliveries_prune()


@shared_task(name="payments.receipts_outbox_drain", ignore_result=True)
def receipts_outbox_drain_task() -> int:
    from payments.wallets.receipts import receipts_outbox_drain

    return receipts_outbox_drain()


# Creator tasks live in their own package; importing them here registers them.
from payments.creators import tasks as _creators_tasks  # noqa: E402, F401

# Celery's autodiscovery looks at payments.tasks only; FX tasks live with their area.
from payments.fx import tasks as fx_tasks  # noqa: E402, F401
