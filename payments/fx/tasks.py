"""Celery tasks of FX: thin, they call a service."""

from __future__ import annotations

from celery import shared_task

from payments.fx import services
from payments.fx.sources import RateFeedInvalid, RateUnavailable


@shared_task(
    name="payments.fx_rates_refresh",
    bind=True,
    ignore_result=True,
    autoretry_for=(RateUnavailable,),
    retry_backoff=30,
    max_retries=5,
)
def fx_rates_refresh_task(self) -> str:
    """Store the configured source's current table (beat, every minute). A feed that cannot
    be reached is retried; one that cannot be read is not (it would fail again) — quotes
    keep refusing a stale rate until a good table arrives."""
    try:
        snapshot = services.fx_rates_refresh()
    except RateFeedInvalid:
        return "invalid"
    return f"{snapshot.source}@{snapshot.as_of.isoformat()}"
