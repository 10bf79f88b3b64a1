"""Celery tasks of outgoing webhooks: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="hooks.events_dispatch", ignore_result=True)
def events_dispatch_task() -> int:
    from payments.hooks.services import events_dispatch

    return events_dispatch()


@shared_task(name="hooks.delivery_attempt", ignore_result=True)
def delivery_attempt_task(public_id: str, manual: bool = False) -> None:
    from payments.hooks.models import Delivery
    from payments.hooks.services import delivery_attempt

    attempt = delivery_attempt(public_id=public_id, manual=manual)
    if attempt is None or manual:
        return
    delivery = Delivery.objects.filter(public_id=public_id).values("status", "next_attempt_at")
    row = delivery.first()
    if row and row["status"] == Delivery.Status.PENDING:
        # The next try is this task again after the backoff; beat's deliveries_due is the
        # safety net for a countdown lost with its worker.
        wait = max((row["next_attempt_at"] - timezone.now()).total_seconds(), 0)
        delivery_attempt_task.apply_async((public_id,), countdown=wait)


@shared_task(name="hooks.deliveries_due", ignore_result=True)
def deliveries_due_task() -> int:
    from payments.hooks.services import deliveries_due

    return deliveries_due()


@shared_task(name="hooks.prune", ignore_result=True)
def prune_task() -> int:
    from payments.hooks.services import hooks_prune

    return hooks_prune()
