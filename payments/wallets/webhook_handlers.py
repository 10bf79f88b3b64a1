"""Webhook handlers of the wallet: top-ups settle when the processor says so.

Handlers run outside any transaction and must be idempotent (see
``payments.webhooks.registry``): ``topup_settle`` books with ledger keys derived from the
top-up id, so a duplicate, a reprocess or an out-of-order event credits at most once.
Payments without our ``topup_id`` metadata belong to someone else (or to nobody) and are
ignored.
"""

from __future__ import annotations

from payments.processors.base import Event
from payments.wallets import topups
from payments.wallets.models import TopUp
from payments.webhooks import webhook_handler
from payments.webhooks.registry import WebhookRetryLater


def _topup_id(event: Event) -> int | None:
    raw = (event.data.get("metadata") or {}).get("topup_id")
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


@webhook_handler("payment_intent.succeeded")
def topup_succeeded(event: Event) -> None:
    topup_id = _topup_id(event)
    if topup_id is None:
        return
    if not TopUp.objects.filter(pk=topup_id).exists():
        raise WebhookRetryLater(f"top-up {topup_id} is not recorded yet")
    # The event's metadata only says which top-up to look at; topup_settle decides
    # whether this payment may credit it (same payment, amount, currency, account).
    topups.topup_settle(
        topup_id=topup_id, payment_id=str(event.data.get("id") or ""), account=event.account
    )


@webhook_handler("payment_intent.payment_failed")
def topup_failed(event: Event) -> None:
    topup_id = _topup_id(event)
    if topup_id is None:
        return
    error = event.data.get("last_payment_error") or {}
    topups.topup_fail_from_processor(
        topup_id=topup_id,
        decline_code=str(error.get("decline_code") or error.get("code") or "declined"),
        message=str(error.get("message") or ""),
        payment_id=str(event.data.get("id") or ""),
    )
