"""Stripe-shaped JSON objects → the interface's dataclasses.

Both adapters speak Stripe's object shapes (the sandbox produces them, Stripe returns them),
so one translation serves both, and webhook handlers use the same functions on
``Event.data``: ``payment_from_object(event.data)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from payments.processors.base import (
    BalanceTransaction,
    BankAccount,
    CardDeclined,
    ConnectedAccount,
    DebitCard,
    Dispute,
    Event,
    NextAction,
    Payment,
    PaymentStatus,
    Payout,
    PayoutStatus,
    PermanentProcessorError,
    ProcessorError,
    Refund,
    TransientProcessorError,
    WebhookPayloadError,
)


def _ts(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value or 0), tz=UTC)


def _id(value: Any) -> str | None:
    """An expandable field: either an id or the expanded object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value


def _metadata(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (obj.get("metadata") or {}).items()}


def payment_from_object(obj: Mapping[str, Any]) -> Payment:
    """A PaymentIntent; the fee is read from ``latest_charge.balance_transaction`` when
    that was expanded (retrieve does expand it)."""
    charge = obj.get("latest_charge")
    fee = net = None
    if isinstance(charge, Mapping):
        txn = charge.get("balance_transaction")
        if isinstance(txn, Mapping):
            fee, net = int(txn["fee"]), int(txn["net"])
    error = obj.get("last_payment_error") or {}
    next_action = None
    raw_action = obj.get("next_action")
    if isinstance(raw_action, Mapping):
        url = (raw_action.get("redirect_to_url") or {}).get("url")
        next_action = NextAction(type=raw_action.get("type", "use_stripe_sdk"), url=url)
    return Payment(
        id=obj["id"],
        status=PaymentStatus(obj["status"]),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]).upper(),
        created=_ts(obj.get("created")),
        payment_method=_id(obj.get("payment_method")),
        charge_id=_id(charge),
        fee=fee,
        net=net,
        amount_refunded=int(
            (charge.get("amount_refunded") if isinstance(charge, Mapping) else None)
            or obj.get("amount_refunded")
            or 0
        ),
        decline_code=error.get("decline_code") or error.get("code"),
        failure_message=error.get("message"),
        next_action=next_action,
        metadata=_metadata(obj),
    )


def refund_from_object(obj: Mapping[str, Any]) -> Refund:
    return Refund(
        id=obj["id"],
        payment_id=_id(obj.get("payment_intent")),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]).upper(),
        status=obj["status"],
        created=_ts(obj.get("created")),
        reason=obj.get("reason"),
    )


def account_from_object(obj: Mapping[str, Any]) -> ConnectedAccount:
    return ConnectedAccount(
        id=obj["id"],
        email=obj.get("email"),
        country=obj.get("country") or "US",
        payouts_enabled=bool(obj.get("payouts_enabled")),
        details_submitted=bool(obj.get("details_submitted")),
    )


def bank_account_from_object(obj: Mapping[str, Any]) -> BankAccount:
    return BankAccount(
        id=obj["id"],
        account_id=_id(obj.get("account")) or "",
        last4=obj.get("last4") or "",
        currency=str(obj.get("currency") or "").upper(),
        country=obj.get("country") or "",
        status=obj.get("status") or "new",
        bank_name=obj.get("bank_name"),
    )


def debit_card_from_object(obj: Mapping[str, Any]) -> DebitCard:
    methods = obj.get("available_payout_methods") or ["standard"]
    return DebitCard(
        id=obj["id"],
        account_id=_id(obj.get("account")) or "",
        last4=obj.get("last4") or "",
        brand=str(obj.get("brand") or ""),
        funding=str(obj.get("funding") or "unknown"),
        country=str(obj.get("country") or "").upper(),
        currency=str(obj.get("currency") or "").upper(),
        instant="instant" in methods,
    )


def payout_from_object(obj: Mapping[str, Any], *, destination: str | None = None) -> Payout:
    arrival = obj.get("arrival_date")
    return Payout(
        id=obj["id"],
        status=PayoutStatus(obj["status"]),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]).upper(),
        created=_ts(obj.get("created")),
        destination=destination or (obj.get("metadata") or {}).get("connected_account"),
        bank_account_id=_id(obj.get("destination")),
        method=obj.get("method") or "standard",
        arrival_date=date.fromtimestamp(int(arrival)) if arrival else None,
        failure_code=obj.get("failure_code"),
        failure_message=obj.get("failure_message"),
        metadata=_metadata(obj),
    )


def dispute_from_object(obj: Mapping[str, Any]) -> Dispute:
    return Dispute(
        id=obj["id"],
        charge_id=_id(obj.get("charge")),
        payment_id=_id(obj.get("payment_intent")),
        amount=int(obj["amount"]),
        currency=str(obj["currency"]).upper(),
        status=obj["status"],
        reason=obj.get("reason"),
        created=_ts(obj.get("created")),
    )


def balance_transaction_from_object(obj: Mapping[str, Any]) -> BalanceTransaction:
    return BalanceTransaction(
        id=obj["id"],
        type=obj["type"],
        amount=int(obj["amount"]),
        fee=int(obj.get("fee") or 0),
        net=int(obj["net"]),
        currency=str(obj["currency"]).upper(),
        created=_ts(obj.get("created")),
        available_on=_ts(obj.get("available_on") or obj.get("created")),
        source=_id(obj.get("source")),
        reporting_category=obj.get("reporting_category"),
        description=obj.get("description"),
    )


def error_from_api(status: int | None, error: Mapping[str, Any] | None) -> ProcessorError:
    """Stripe's error body (``{"type", "code", "decline_code", "message"}``) → our error.

    Card errors are declines; rate limits, conflicts on a key still in flight and 5xx are
    transient; everything else (invalid requests, idempotency mismatches, authentication)
    is permanent.
    """
    error = error or {}
    kind = error.get("type")
    code = error.get("code")
    message = error.get("message") or ""
    payment_id = _id(error.get("payment_intent"))
    if kind == "card_error":
        return CardDeclined(
            message,
            code="card_declined",
            decline_code=error.get("decline_code") or code or "generic_decline",
            payment_id=payment_id,
        )
    if status is None or status >= 500 or status == 429 or kind == "api_error":
        return TransientProcessorError(message, code="processor_unavailable")
    if status == 409 and code in {"idempotency_key_in_use", "lock_timeout"}:
        return TransientProcessorError(message, code=code)
    if kind == "idempotency_error":
        return PermanentProcessorError(message, code="idempotency_error")
    return PermanentProcessorError(message, code=code or kind or "invalid_request")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def event_from_body(body: bytes, *, processor: str) -> Event:
    """A verified webhook body → ``Event``. Raises ``WebhookPayloadError`` for anything that
    is not a Stripe-shaped event we could store (PostgreSQL's jsonb refuses NUL characters)."""
    import json

    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WebhookPayloadError("The body is not UTF-8 JSON.") from exc
    if not isinstance(payload, dict):
        raise WebhookPayloadError("The body is not a JSON object.")
    event_id, event_type = payload.get("id"), payload.get("type")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    created = payload.get("created")
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 255):
        raise WebhookPayloadError("The event has no valid id.")
    if not (isinstance(event_type, str) and 0 < len(event_type) <= 255):
        raise WebhookPayloadError("The event has no valid type.")
    if not isinstance(obj, dict) or type(created) is not int or created < 0:
        raise WebhookPayloadError("The event has no data.object or no created time.")
    if _has_nul(payload):
        raise WebhookPayloadError("The event contains NUL characters.")
    account = payload.get("account")
    return Event(
        id=event_id,
        type=event_type,
        created=_ts(created),
        data=obj,
        processor=processor,
        account=account if isinstance(account, str) else None,
        livemode=payload.get("livemode") is True,
    )
