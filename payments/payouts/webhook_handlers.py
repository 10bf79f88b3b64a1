"""Processor events about payouts (found by the registry's autodiscovery of
``webhook_handlers`` modules). Each handler is idempotent: our rows move forward
only, and every ledger effect has a key derived from our row id."""

from __future__ import annotations

import structlog

from payments.payouts import services
from payments.payouts.models import Payout
from payments.processors import objects
from payments.processors.base import Event
from payments.webhooks import webhook_handler

log = structlog.get_logger(__name__)


def _our_payout_id(event: Event, remote) -> int | None:
    by_remote = Payout.objects.filter(
        processor=event.processor, processor_payout_id=remote.id
    ).values_list("pk", flat=True)
    if by_remote:
        return by_remote[0]
    # The event can overtake the API answer we record after create_payout: find the payout
    # by the id we sent in the metadata, and only if it names the same connected account.
    raw = remote.metadata.get("payout_id", "")
    if not (raw.isascii() and raw.isdigit()):
        return None
    payout = (
        Payout.objects.filter(pk=int(raw), processor=event.processor)
        .select_related("user__payout_account")
        .first()
    )
    if payout is None:
        return None
    account = getattr(payout.user, "payout_account", None)
    if event.account and (account is None or account.account_id != event.account):
        log.warning("payout.webhook_account_mismatch", payout_id=payout.pk, event_id=event.id)
        return None
    return payout.pk


@webhook_handler("payout.paid", "payout.failed", "payout.canceled", "payout.updated")
def payout_from_event(event: Event) -> None:
    try:
        remote = objects.payout_from_object(event.data, destination=event.account)
    except (KeyError, TypeError, ValueError):
        log.warning("payout.webhook_unreadable", event_id=event.id)
        return  # not a payout object we could have sent
    payout_id = _our_payout_id(event, remote)
    if payout_id is None:
        log.info("payout.webhook_unknown", event_id=event.id, remote_id=remote.id)
        return
    services.payout_apply_remote(payout_id=payout_id, remote=remote, source="webhook")
