"""Celery tasks of payouts: thin, they take ids and call a service (loaded through
``CELERY_IMPORTS``)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from payments.payouts import reconciliation, services


@shared_task(name="payouts.submit", bind=True, ignore_result=True, max_retries=None)
def payout_submit_task(self, payout_id: int) -> str:
    try:
        outcome = services.payout_submit(payout_id=payout_id)
    except (OperationalError, InterfaceError) as exc:
        # The database is briefly unreachable (a restart, no free connection): the payout
        # row is the truth and the service is idempotent, so simply run it again.
        if self.request.retries >= 10:
            raise  # the sweeper re-drives it later
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc
    if outcome.retry_in is not None:
        # A transient processor error; the attempt cap lives in the service.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="payouts.sweep", ignore_result=True)
def payouts_sweep_task() -> dict:
    from dataclasses import asdict

    return asdict(services.payouts_sweep())


@shared_task(
    name="payouts.reconcile",
    ignore_result=True,
    # It pages through a day of the processor's records: the nightly limits apply.
    soft_time_limit=settings.NIGHTLY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.NIGHTLY_TASK_TIME_LIMIT,
)
def reconciliation_task() -> int:
    return reconciliation.reconciliation_run_and_record().pk


@shared_task(name="payouts.scheduled", ignore_result=True)
def payouts_scheduled_task() -> int:
    return services.payouts_scheduled_run()
