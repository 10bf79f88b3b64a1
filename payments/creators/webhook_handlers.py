"""Processor events for card tips (registered through ``PAYMENTS_WEBHOOK_HANDLER_MODULES``).

Only payments whose ``metadata.kind`` is ``creator_tip`` are ours; every other payment is
left to the handler of its own kind. The tip is found by the id we put in the metadata.
"""

from __future__ import annotations

from payments.creators import services
from payments.creators.models import GuestPayment
from payments.creators.services import guests
from payments.processors.base import Event
from payments.processors.objects import payment_from_object
from payments.webhooks import webhook_handler
from payments.webhooks.registry import WebhookRetryLater


def _tip_id(payment) -> int | None:
    if payment.metadata.get("kind") != services.CARD_TIP_KIND:
        return None
    raw = payment.metadata.get("tip", "")
    return int(raw) if raw.isdigit() else None


def _is_card_tip(event: Event) -> bool:
    # Decided on the metadata alone: another kind's event (or a forged, partial body meant
    # for another handler) is never parsed here, so it fails only where it belongs.
    return (event.data.get("metadata") or {}).get("kind") == services.CARD_TIP_KIND


@webhook_handler("payment_intent.succeeded")
def card_tip_succeeded(event: Event) -> None:
    if not _is_card_tip(event):
        return
    payment = payment_from_object(event.data)
    tip_id = _tip_id(payment)
    if tip_id is None:
        return
    # The metadata only says which tip to look at; the binding (platform account, the
    # recorded payment, the processor's own record) decides whether it may credit it.
    services.tip_settle_card_event(
        tip_id=tip_id, processor=event.processor, payment_id=payment.id, account=event.account
    )


@webhook_handler("payment_intent.payment_failed")
def card_tip_failed(event: Event) -> None:
    if not _is_card_tip(event):
        return
    payment = payment_from_object(event.data)
    tip_id = _tip_id(payment)
    if tip_id is not None:
        services.tip_fail_card(
            tip_id=tip_id,
            code=payment.decline_code or "payment_failed",
            payment_id=payment.id,
            account=event.account,
        )


# --- guest payments by card (``services.guests``) -------------------------------------------
def _guest_id(event: Event) -> int | None:
    metadata = event.data.get("metadata") or {}
    if metadata.get("kind") != guests.GUEST_PAYMENT_KIND:
        return None
    raw = metadata.get("guest_payment")
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


@webhook_handler("payment_intent.succeeded")
def guest_payment_succeeded(event: Event) -> None:
    guest_id = _guest_id(event)
    if guest_id is None:
        return
    if not GuestPayment.objects.filter(pk=guest_id).exists():
        raise WebhookRetryLater(f"guest payment {guest_id} is not recorded yet")
    # The metadata only says which row to look at; guest_settle decides whether this
    # payment may credit it (same payment, amount, currency, account).
    guests.guest_settle(
        guest_id=guest_id, payment_id=str(event.data.get("id") or ""), account=event.account
    )


@webhook_handler("payment_intent.payment_failed")
def guest_payment_failed(event: Event) -> None:
    guest_id = _guest_id(event)
    if guest_id is None:
        return
    error = event.data.get("last_payment_error") or {}
    guests.guest_fail_from_processor(
        guest_id=guest_id,
        decline_code=str(error.get("decline_code") or error.get("code") or "declined"),
        payment_id=str(event.data.get("id") or ""),
    )
