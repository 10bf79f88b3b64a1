"""Celery tasks of outgoing webhooks: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="hooks.events_dispatch", ignore_result=True)
def events_dispatch_task() -> int:
    from payments.hooks.services import events_dispatch

    return events_dispatch()


@shared_task(name="hooks.deliveries_dispatch", ignore_result=True)
def deliveries_dispatch_task() -> int:
    from payments.hooks.services import deliveries_dispatch, deliveries_next_wait, deliveries_wake

    posted, more = deliveries_dispatch()
    if more:
        deliveries_wake()
    else:
        # The next retry: this task again when it is due.
        wait = deliveries_next_wait()
        if wait is not None:
            deliveries_wake(countdown=wait)
    return posted


@shared_task(name="hooks.delivery_attempt", ignore_result=True)
def delivery_attempt_task(public_id: str, manual: bool = False) -> None:
    """One attempt of one delivery (manual redelivery). A failed scheduled attempt is
    retried by the dispatcher."""
    from payments.hooks.services import deliveries_next_wait, deliveries_wake, delivery_attempt

    attempt = delivery_attempt(public_id=public_id, manual=manual)
    if attempt is not None and not manual:
        wait = deliveries_next_wait()
        if wait is not None:
            deliveries_wake(countdown=wait)


@shared_task(name="hooks.deliveries_due", ignore_result=True)
def deliveries_due_task() -> int:
    from payments.hooks.services import deliveries_due

    return deliveries_due()


@shared_task(name="hooks.prune", ignore_result=True)
def prune_task() -> int:
    from payments.hooks.services import hooks_prune

    return hooks_prune()
