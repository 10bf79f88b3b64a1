"""Celery tasks of the creator flows: thin, they call a service that re-checks state
under a row lock (a second run is a no-op)."""

from __future__ import annotations

from celery import shared_task

from payments.creators import services


@shared_task(name="creators.orders_release_due", ignore_result=True, acks_late=True)
def orders_release_due_task() -> int:
    return services.orders_release_due()


@shared_task(name="creators.order_release", ignore_result=True, acks_late=True)
def order_release_task(order_id: int) -> str:
    return services.order_release(order_id=order_id).status


@shared_task(name="creators.memberships_renew_due", ignore_result=True, acks_late=True)
def memberships_renew_due_task() -> int:
    return services.memberships_renew_due()


@shared_task(name="creators.sweep_stuck", ignore_result=True, acks_late=True)
def sweep_stuck_task() -> int:
    """Card tips whose processor webhook never came (the only processor-bound flow)."""
    return services.creators_sweep_stuck()
