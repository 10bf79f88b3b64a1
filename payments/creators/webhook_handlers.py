"""Processor events for card tips (registered through ``PAYMENTS_WEBHOOK_HANDLER_MODULES``).

Only payments whose ``metadata.kind`` is ``creator_tip`` are ours; every other payment is
left to the handler of its own kind. The tip is found by the id we put in the metadata.
"""

from __future__ import annotations

from payments.creators import services
from payments.processors.base import Event
from payments.processors.objects import payment_from_object
from payments.webhooks import webhook_handler


def _tip_id(payment) -> int | None:
    if payment.metadata.get("kind") != services.CARD_TIP_KIND:
        return None
    raw = payment.metadata.get("tip", "")
    return int(raw) if raw.isdigit() else None


@webhook_handler("payment_intent.succeeded")
def card_tip_succeeded(event: Event) -> None:
    payment = payment_from_object(event.data)
    tip_id = _tip_id(payment)
    if tip_id is None:
        return
    services.tip_settle_card(
        tip_id=tip_id,
        processor=event.processor,
        payment_id=payment.id,
        amount=payment.amount,
        currency=payment.currency,
    )


@webhook_handler("payment_intent.payment_failed")
def card_tip_failed(event: Event) -> None:
    payment = payment_from_object(event.data)
    tip_id = _tip_id(payment)
    if tip_id is not None:
        services.tip_fail_card(tip_id=tip_id, code=payment.decline_code or "payment_failed")
