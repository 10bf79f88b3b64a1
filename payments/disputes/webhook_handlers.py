"""Processor events about disputes (found by the registry's autodiscovery of
``webhook_handlers`` modules). Idempotent: a dispute row moves forward only, and every
ledger effect has a key derived from our row id."""

from __future__ import annotations

import structlog

from payments.disputes import services
from payments.processors import objects
from payments.processors.base import Event
from payments.webhooks import webhook_handler

log = structlog.get_logger(__name__)


@webhook_handler(
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "charge.dispute.closed",
)
def dispute_from_event(event: Event) -> None:
    try:
        remote = objects.dispute_from_object(event.data)
    except (KeyError, TypeError, ValueError):
        log.warning("dispute.webhook_unreadable", event_id=event.id)
        return
    dispute = services.dispute_record(processor=event.processor, remote=remote)
    if event.type == "charge.dispute.funds_withdrawn":
        services.dispute_funds_withdraw(dispute_id=dispute.pk)
    elif event.type == "charge.dispute.funds_reinstated":
        services.dispute_funds_reinstate(dispute_id=dispute.pk)
