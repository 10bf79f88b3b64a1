"""The sandbox processor's server side: Stripe's API semantics over the sandbox tables.

Every function takes Stripe-style parameters and returns Stripe-shaped JSON (dicts), or
raises ``SandboxApiError`` with Stripe's HTTP status and error body. The adapter is the
only caller in the app; tests may call the scheduled steps (``payout_settle``,
``dispute_open``, ``dispute_close``) directly to drive time forward.

Test vocabulary (as Stripe's test mode):

* cards: ``pm_card_visa``, ``pm_card_mastercard``, ``pm_card_amex`` succeed;
  ``pm_card_chargeDeclined`` (generic_decline), ``pm_card_chargeDeclinedInsufficientFunds``
  (insufficient_funds), ``pm_card_chargeDeclinedExpiredCard`` (expired_card),
  ``pm_card_chargeDeclinedIncorrectCvc`` (incorrect_cvc), ``pm_card_chargeDeclinedFraudulent``
  (fraudulent), ``pm_card_chargeDeclinedProcessingError`` (processing_error) decline;
  ``pm_card_authenticationRequired`` stays ``requires_action`` until confirmed;
  ``pm_card_createDispute`` succeeds and is then disputed (``charge.dispute.created``, then
  ``charge.dispute.funds_withdrawn``).
* fee on a successful charge: 2.9 % rounded half up, plus 30 minor units, reported on the
  charge's balance transaction. A dispute withdraws the amount plus a 1500 fee.
* bank accounts: ``000123456789`` (or token ``btok_us_verified``) pays; ``000111111116``
  fails with ``no_account``, ``000111111113`` ``account_closed``, ``000222222227``
  ``insufficient_funds``, ``000333333335`` ``debit_not_authorized``, ``000444444440``
  ``invalid_currency`` (tokens ``btok_us_verified_noAccount`` ...). Sandbox only:
  ``000888888883`` is paid and then fails (``could_not_process``), as a bank can return a
  payout days later. Failures arrive asynchronously, never on create. The same numbers
  work in Canada and India; the UK pays to ``00012345``, Australia to ``000123456``. A
  country that banks by national numbers needs its bank code in ``routing_number``
  (Stripe's test ones: US ``110000000``, GB ``108800``, CA ``11000-000``, AU ``110000``,
  IN ``HDFC0000261``); nothing is filled in for a missing one.
* IBANs (every other country; the IBAN's country must be the account's):
  ``DE89370400440532013000`` pays and the Stripe test IBANs of other countries
  (``FR1420041010050500013M02606`` ...) too; ``DE62370400440532013001`` fails with
  ``no_account``, ``…002`` ``account_closed``, ``…003`` ``insufficient_funds``, ``…004``
  ``debit_not_authorized``, ``…005`` ``invalid_currency``. Sandbox only:
  ``DE67370400440532013008`` is paid and then fails (``could_not_process``).
* debit cards for payouts (tokens only, as Stripe's test tokens): ``tok_visa_debit`` (or
  ``pm_card_visa_debit``) and ``tok_mastercard_debit`` (or ``pm_card_mastercard_debit``)
  take standard and instant payouts, which are paid; ``tok_visa_debit_transferFail``
  attaches and its payouts fail (``could_not_process``). A card that is not a debit card
  (``tok_visa``, ``tok_mastercard``, ``tok_amex``, ``tok_visa_prepaid``, their ``pm_card_``
  twins) is refused with ``invalid_card_type``. Stripe's test cards are US cards paid in
  USD; the sandbox takes a ``currency`` next to the token so that cards can be tried in
  the other currencies too. An instant payout to a bank account is refused with
  ``instant_payouts_unsupported``.
* dispute evidence ``winning_evidence`` wins (funds reinstated); anything else loses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.processors.sandbox import models as m

CARDS_OK = {"pm_card_visa": "visa", "pm_card_mastercard": "mastercard", "pm_card_amex": "amex"}
CARD_DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card", "Your card has expired."),
    "pm_card_chargeDeclinedIncorrectCvc": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    "pm_card_chargeDeclinedFraudulent": ("card_declined", "fraudulent", "Your card was declined."),
    "pm_card_chargeDeclinedProcessingError": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}
CARD_AUTH_REQUIRED = "pm_card_authenticationRequired"
CARD_DISPUTE = "pm_card_createDispute"
PAYMENT_METHODS = {*CARDS_OK, *CARD_DECLINES, CARD_AUTH_REQUIRED, CARD_DISPUTE}

BANK_NUMBERS = {
    "000123456789": "paid",
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
    "000444444440": "invalid_currency",
    "000888888883": "paid_then_could_not_process",
}
#: Countries that bank by a national account number plus a bank code (``routing_number``);
#: every other country is paid by IBAN.
LOCAL_BANK_COUNTRIES = frozenset({"US", "GB", "CA", "AU", "IN"})
LOCAL_BANK_NUMBERS = {**BANK_NUMBERS, "00012345": "paid", "000123456": "paid"}
IBANS = {
    "DE89370400440532013000": "paid",
    "DE62370400440532013001": "no_account",
    "DE35370400440532013002": "account_closed",
    "DE08370400440532013003": "insufficient_funds",
    "DE78370400440532013004": "debit_not_authorized",
    "DE51370400440532013005": "invalid_currency",
    "DE67370400440532013008": "paid_then_could_not_process",
    "FR1420041010050500013M02606": "paid",
    "NL39RABO0300065264": "paid",
    "AT611904300234573201": "paid",
    "BE62510007547061": "paid",
    "ES0700120345030000067890": "paid",
    "IT60X0542811101000000123456": "paid",
    "IE29AIBK93115212345678": "paid",
    "CH9300762011623852957": "paid",
}
BANK_TOKENS = {
    "btok_us_verified": "paid",
    "btok_us_verified_noAccount": "no_account",
    "btok_us_verified_accountClosed": "account_closed",
    "btok_us_verified_insufficientFunds": "insufficient_funds",
    "btok_us_verified_debitNotAuthorized": "debit_not_authorized",
    "btok_us_verified_invalidCurrency": "invalid_currency",
}
#: token → (brand, last4, outcome of payouts); all support instant payouts.
DEBIT_CARD_TOKENS = {
    "tok_visa_debit": ("Visa", "5556", "paid"),
    "pm_card_visa_debit": ("Visa", "5556", "paid"),
    "tok_mastercard_debit": ("MasterCard", "8210", "paid"),
    "pm_card_mastercard_debit": ("MasterCard", "8210", "paid"),
    "tok_visa_debit_transferFail": ("Visa", "0077", "could_not_process"),
}
#: Cards that exist but are no debit cards: token → funding.
NON_DEBIT_CARD_TOKENS = {
    "tok_visa": "credit",
    "pm_card_visa": "credit",
    "tok_mastercard": "credit",
    "pm_card_mastercard": "credit",
    "tok_amex": "credit",
    "pm_card_amex": "credit",
    "tok_visa_prepaid": "prepaid",
}
NOT_DEBIT_MESSAGE = "This card doesn't appear to be a debit card."


def card_test_outcome(token: str) -> tuple[tuple[str, str, str] | None, str | None]:
    """``((brand, last4, outcome), None)`` for a test debit card token, or ``(None, error
    code)``: ``invalid_card_type`` for a card that is not a debit card, ``resource_missing``
    for an unknown token. Shared with the Stripe stub."""
    if token in DEBIT_CARD_TOKENS:
        return DEBIT_CARD_TOKENS[token], None
    if token in NON_DEBIT_CARD_TOKENS:
        return None, "invalid_card_type"
    return None, "resource_missing"


def is_card_token(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("tok_", "pm_card_"))


PAYOUT_FAILURES = {
    "no_account": "The bank account details on file are probably incorrect.",
    "account_closed": "The bank account has been closed.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "debit_not_authorized": "Debit transactions are not approved on the bank account.",
    "invalid_currency": "The bank was unable to process this payout because of its currency.",
    "could_not_process": "The bank could not process this payout.",
}
DISPUTE_FEE = 1500
MAX_LIST_LIMIT = 100


def bank_test_outcome(external: dict[str, Any]) -> tuple[str, str | None, str]:
    """What a test bank account does: ``(outcome, error code, message)``; an error code
    means the account is refused on create, as Stripe refuses it. Shared with the Stripe
    stub so that both adapters meet the same test values."""
    country = str(external.get("country") or "").upper()
    number = str(external.get("account_number") or "")
    routing = str(external.get("routing_number") or "")
    if country in LOCAL_BANK_COUNTRIES:
        if not routing:
            return "", "routing_number_invalid", f"A {country} bank account needs its bank code."
        outcome = LOCAL_BANK_NUMBERS.get(number)
    else:
        if routing:
            return "", "routing_number_invalid", "IBAN accounts take no routing number."
        if number[:2] != country:
            return "", "account_number_invalid", "The IBAN is not of the account's country."
        outcome = IBANS.get(number)
    if outcome is None:
        return "", "account_number_invalid", "That is not a test account number."
    return outcome, None, ""


class SandboxApiError(Exception):
    def __init__(self, status: int, error: dict[str, Any]):
        self.status = status
        self.body = {"error": error}
        super().__init__(f"{status} {error.get('type')}: {error.get('message')}")


def _invalid(message: str, *, code: str = "parameter_invalid", param: str | None = None):
    return SandboxApiError(
        400, {"type": "invalid_request_error", "code": code, "message": message, "param": param}
    )


def _missing(kind: str, object_id: str):
    return SandboxApiError(
        404,
        {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"No such {kind}: '{object_id}'",
        },
    )


def _derive(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}_sb{digest}"


def _unix(value: datetime) -> int:
    return int(value.timestamp())


def charge_fee(amount: int) -> int:
    """2.9 % rounded half up plus 30 minor units, as Stripe's standard US card pricing."""
    return (amount * 29 + 500) // 1000 + 30


# --- idempotency ----------------------------------------------------------------------------


def _fingerprint(endpoint: str, params: dict[str, Any]) -> str:
    canonical = json.dumps([endpoint, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _idempotent(endpoint: str, key: str, params: dict[str, Any], run: Callable[[], dict]) -> dict:
    """Stripe's idempotency: the first result for a key (success or card error) is stored
    and replayed; the same key with other parameters is an ``idempotency_error``; a request
    that fails validation stores nothing. A concurrent request with the same key waits on
    the key row's unique index and then replays."""
    if not key or len(key) > 255:
        raise _invalid("Idempotency keys are 1 to 255 characters.", param="idempotency_key")
    fingerprint = _fingerprint(endpoint, params)
    with transaction.atomic(durable=True):
        try:
            with transaction.atomic():
                row = m.IdempotencyKey.objects.create(
                    key=key, endpoint=endpoint, fingerprint=fingerprint
                )
            fresh = True
        except IntegrityError:
            row = m.IdempotencyKey.objects.select_for_update().get(key=key)
            fresh = False
        if not fresh:
            if row.fingerprint != fingerprint:
                raise SandboxApiError(
                    400,
                    {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the "
                        "same parameters they were first used with.",
                    },
                )
            # Written in the same transaction as the row, whose lock we waited for.
            assert row.status_code is not None and row.response is not None
            status, body = row.status_code, row.response
        else:
            try:
                status, body = 200, run()
            except SandboxApiError as exc:
                if exc.body["error"]["type"] == "invalid_request_error":
                    raise  # validation failures store nothing (the atomic block rolls back)
                status, body = exc.status, exc.body
            row.status_code, row.response = status, body
            row.save(update_fields=["status_code", "response"])
    if status >= 400:
        raise SandboxApiError(status, body["error"])
    return body


# --- events ---------------------------------------------------------------------------------


def _emit(
    event_type: str, obj: dict[str, Any], *, account: str = "", discriminator: str = ""
) -> None:
    """Record an event and deliver it after commit, as Stripe does after its own commit."""
    created = timezone.now()
    event_id = _derive("evt", obj["id"], event_type, discriminator)
    payload = {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": _unix(created),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    if account:
        payload["account"] = account
    event, made = m.Event.objects.get_or_create(
        id=event_id,
        defaults={
            "type": event_type,
            "account": account,
            "object_id": obj["id"],
            "body": json.dumps(payload, indent=2),
            "created": created,
        },
    )
    if made:
        schedule_delivery(event.id)


def schedule_delivery(event_id: str, *, countdown: float = 0) -> None:
    from payments.processors.sandbox.tasks import sandbox_deliver_event

    # robust: a broker that cannot be reached is logged, not raised into the request that
    # committed (the event stays undelivered; sandbox_resend_webhooks --undelivered).
    transaction.on_commit(
        lambda: sandbox_deliver_event.apply_async((event_id,), countdown=countdown), robust=True
    )


def _balance(
    type_: str,
    *,
    amount: int,
    fee: int,
    currency: str,
    source: str,
    category: str,
    description: str = "",
    available_after: timedelta = timedelta(days=2),
    discriminator: str = "",
) -> m.BalanceTransaction:
    now = timezone.now()
    txn, _ = m.BalanceTransaction.objects.get_or_create(
        id=_derive("txn", source, type_, discriminator),
        defaults={
            "type": type_,
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": currency,
            "source": source,
            "reporting_category": category,
            "description": description,
            "created": now,
            "available_on": now + available_after,
        },
    )
    return txn


# --- JSON shapes ----------------------------------------------------------------------------


def txn_json(txn: m.BalanceTransaction) -> dict[str, Any]:
    return {
        "id": txn.id,
        "object": "balance_transaction",
        "amount": txn.amount,
        "available_on": _unix(txn.available_on),
        "created": _unix(txn.created),
        "currency": txn.currency,
        "description": txn.description or None,
        "fee": txn.fee,
        "net": txn.net,
        "reporting_category": txn.reporting_category,
        "source": txn.source,
        "status": "pending",
        "type": txn.type,
    }


def charge_json(pi: m.PaymentIntent, *, expand_balance: bool) -> dict[str, Any]:
    txn = m.BalanceTransaction.objects.filter(source=pi.charge_id, type="charge").first()
    return {
        "id": pi.charge_id,
        "object": "charge",
        "amount": pi.amount,
        "amount_captured": pi.amount if pi.status == "succeeded" else 0,
        "amount_refunded": pi.amount_refunded,
        "balance_transaction": (txn_json(txn) if expand_balance else txn.id) if txn else None,
        "currency": pi.currency,
        "paid": pi.status == "succeeded",
        "payment_intent": pi.id,
        "payment_method": pi.payment_method,
        "refunded": pi.amount_refunded == pi.amount,
        "disputed": hasattr(pi, "dispute"),
        "status": "succeeded" if pi.status == "succeeded" else "failed",
        "created": _unix(pi.created),
    }


def payment_intent_json(pi: m.PaymentIntent, *, expand: bool) -> dict[str, Any]:
    next_action = None
    if pi.status == "requires_action":
        url = pi.return_url and f"https://sandbox.invalid/authenticate/{pi.id}"
        next_action = (
            {
                "type": "redirect_to_url",
                "redirect_to_url": {"url": url, "return_url": pi.return_url},
            }
            if url
            else {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}
        )
    has_charge = pi.status in {"succeeded", "requires_payment_method"}
    return {
        "id": pi.id,
        "object": "payment_intent",
        "amount": pi.amount,
        "amount_received": pi.amount if pi.status == "succeeded" else 0,
        "currency": pi.currency,
        "created": _unix(pi.created),
        "description": pi.description or None,
        "last_payment_error": pi.last_payment_error,
        "latest_charge": (charge_json(pi, expand_balance=True) if expand else pi.charge_id)
        if has_charge
        else None,
        "livemode": False,
        "metadata": pi.metadata,
        "next_action": next_action,
        "payment_method": pi.payment_method,
        "payment_method_types": ["card"],
        "status": pi.status,
    }


def refund_json(refund: m.Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "charge": refund.payment_intent.charge_id,
        "created": _unix(refund.created),
        "currency": refund.currency,
        "payment_intent": refund.payment_intent_id,
        "reason": refund.reason or None,
        "status": refund.status,
    }


def dispute_json(dispute: m.Dispute) -> dict[str, Any]:
    return {
        "id": dispute.id,
        "object": "dispute",
        "amount": dispute.amount,
        "charge": dispute.payment_intent.charge_id,
        "created": _unix(dispute.created),
        "currency": dispute.currency,
        "payment_intent": dispute.payment_intent_id,
        "reason": dispute.reason,
        "status": dispute.status,
        "evidence": {"uncategorized_text": dispute.evidence or None},
    }


def account_json(account: m.Account) -> dict[str, Any]:
    has_bank = account.banks.exists()
    return {
        "id": account.id,
        "object": "account",
        "country": account.country,
        "email": account.email,
        "type": "express",
        "created": _unix(account.created),
        "details_submitted": has_bank,
        "payouts_enabled": has_bank,
        "charges_enabled": False,
        "metadata": account.metadata,
    }


def bank_json(bank: m.BankAccount) -> dict[str, Any]:
    return {
        "id": bank.id,
        "object": "bank_account",
        "account": bank.account_id,
        "bank_name": "STRIPE TEST BANK",
        "country": bank.country,
        "currency": bank.currency,
        "last4": bank.last4,
        "routing_number": "110000000",
        "status": "new",
    }


def card_json(card: m.BankAccount) -> dict[str, Any]:
    return {
        "id": card.id,
        "object": "card",
        "account": card.account_id,
        "brand": card.brand,
        "funding": "debit",
        "country": card.country,
        "currency": card.currency,
        "last4": card.last4,
        "available_payout_methods": ["standard", "instant"],
    }


def external_json(external: m.BankAccount) -> dict[str, Any]:
    return card_json(external) if external.kind == "card" else bank_json(external)


def payout_json(payout: m.Payout) -> dict[str, Any]:
    return {
        "id": payout.id,
        "object": "payout",
        "amount": payout.amount,
        "arrival_date": int(
            datetime.combine(payout.arrival_date, datetime.min.time(), UTC).timestamp()
        ),
        "created": _unix(payout.created),
        "currency": payout.currency,
        "description": payout.description or None,
        "destination": payout.bank_account_id,
        "failure_code": payout.failure_code or None,
        "failure_message": payout.failure_message or None,
        "metadata": {**payout.metadata, "connected_account": payout.account_id},
        "method": payout.method,
        "status": payout.status,
        "type": "card" if payout.bank_account.kind == "card" else "bank_account",
    }


# --- payments -------------------------------------------------------------------------------


def _currency(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha() or not value.isascii():
        raise _invalid("Invalid currency.", param="currency")
    return value.lower()


def _amount(value: Any) -> int:
    if type(value) is not int or value <= 0:
        raise _invalid("Invalid positive integer.", param="amount")
    return value


def payment_method_retrieve(method: Any) -> dict[str, Any]:
    """A test card's PaymentMethod, as Stripe shows it: each test token is its own card, so
    its fingerprint is derived from the token (stable across runs, distinct per card)."""
    if method not in PAYMENT_METHODS:
        raise _missing("PaymentMethod", str(method))
    brand = CARDS_OK.get(method, "visa")
    return {
        "id": method,
        "object": "payment_method",
        "type": "card",
        "card": {"brand": brand, "fingerprint": _derive("fp", method)[:19]},
    }


def payment_intent_create(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        amount = _amount(params.get("amount"))
        currency = _currency(params.get("currency"))
        method = params.get("payment_method")
        if method not in PAYMENT_METHODS:
            raise _missing("PaymentMethod", str(method))
        pi_id = _derive("pi", idempotency_key)
        pi = m.PaymentIntent.objects.create(
            id=pi_id,
            charge_id=_derive("ch", pi_id),
            amount=amount,
            currency=currency,
            payment_method=method,
            status="processing",
            description=str(params.get("description") or ""),
            metadata=dict(params.get("metadata") or {}),
            return_url=str(params.get("return_url") or ""),
            created=timezone.now(),
        )
        return _attempt(pi)

    return _idempotent("payment_intents.create", idempotency_key, params, run)


def _attempt(pi: m.PaymentIntent, *, authenticated: bool = False) -> dict[str, Any]:
    """Charge the card behind ``pi`` once; the caller holds the transaction."""
    if pi.payment_method in CARD_DECLINES:
        code, decline_code, message = CARD_DECLINES[pi.payment_method]
        pi.status = "requires_payment_method"
        pi.last_payment_error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "charge": pi.charge_id,
        }
        pi.save()
        body = payment_intent_json(pi, expand=False)
        _emit("payment_intent.payment_failed", body)
        raise SandboxApiError(
            402,
            {
                **pi.last_payment_error,
                "payment_intent": payment_intent_json(pi, expand=True),
            },
        )
    if pi.payment_method == CARD_AUTH_REQUIRED and not authenticated:
        pi.status = "requires_action"
        pi.save()
        _emit("payment_intent.requires_action", payment_intent_json(pi, expand=False))
        return payment_intent_json(pi, expand=True)
    pi.status = "succeeded"
    pi.last_payment_error = None
    pi.save()
    fee = charge_fee(pi.amount)
    _balance(
        "charge",
        amount=pi.amount,
        fee=fee,
        currency=pi.currency,
        source=pi.charge_id,
        category="charge",
        description=pi.description,
    )
    _emit("payment_intent.succeeded", payment_intent_json(pi, expand=False))
    if pi.payment_method == CARD_DISPUTE:
        from payments.processors.sandbox.tasks import sandbox_dispute_open

        pi_id = pi.id
        transaction.on_commit(lambda: sandbox_dispute_open.delay(pi_id), robust=True)
    return payment_intent_json(pi, expand=True)


def payment_intent_confirm(pi_id: str, *, idempotency_key: str) -> dict[str, Any]:
    """The customer completed authentication (the sandbox has no challenge page)."""

    def run() -> dict[str, Any]:
        pi = m.PaymentIntent.objects.select_for_update().filter(id=pi_id).first()
        if pi is None:
            raise _missing("payment_intent", pi_id)
        if pi.status == "succeeded":
            raise _invalid(
                "This PaymentIntent has already succeeded.", code="payment_intent_unexpected_state"
            )
        if pi.status not in {"requires_action", "requires_confirmation"}:
            raise _invalid(
                "This PaymentIntent cannot be confirmed in its state.",
                code="payment_intent_unexpected_state",
            )
        return _attempt(pi, authenticated=True)

    return _idempotent("payment_intents.confirm", idempotency_key, {"id": pi_id}, run)


def payment_intent_retrieve(pi_id: str) -> dict[str, Any]:
    pi = m.PaymentIntent.objects.filter(id=pi_id).first()
    if pi is None:
        raise _missing("payment_intent", pi_id)
    return payment_intent_json(pi, expand=True)


def refund_create(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        pi_id = str(params.get("payment_intent") or "")
        pi = m.PaymentIntent.objects.select_for_update().filter(id=pi_id).first()
        if pi is None:
            raise _missing("payment_intent", pi_id)
        if pi.status != "succeeded":
            raise _invalid(
                "This PaymentIntent has no successful charge to refund.",
                code="charge_not_refundable",
            )
        remaining = pi.amount - pi.amount_refunded
        amount = params.get("amount")
        amount = remaining if amount is None else _amount(amount)
        if remaining == 0:
            raise _invalid("Charge has already been refunded.", code="charge_already_refunded")
        if amount > remaining:
            raise _invalid(
                "Refund amount is greater than the unrefunded amount.",
                code="amount_too_large",
                param="amount",
            )
        pi.amount_refunded += amount
        pi.save(update_fields=["amount_refunded"])
        refund = m.Refund.objects.create(
            id=_derive("re", idempotency_key),
            payment_intent=pi,
            amount=amount,
            currency=pi.currency,
            status="succeeded",
            reason=str(params.get("reason") or ""),
            created=timezone.now(),
        )
        _balance(
            "refund",
            amount=-amount,
            fee=0,
            currency=pi.currency,
            source=refund.id,
            category="refund",
        )
        body = refund_json(refund)
        _emit("refund.created", body)
        _emit("charge.refunded", charge_json(pi, expand_balance=False), discriminator=refund.id)
        return body

    return _idempotent("refunds.create", idempotency_key, params, run)


# --- disputes (scheduled steps) -------------------------------------------------------------


def dispute_open(pi_id: str) -> None:
    """A cardholder disputes the charge: created, then funds withdrawn with the fee."""
    with transaction.atomic(durable=True):
        pi = m.PaymentIntent.objects.select_for_update().get(id=pi_id)
        if m.Dispute.objects.filter(payment_intent=pi).exists():
            return
        dispute = m.Dispute.objects.create(
            id=_derive("dp", pi.id),
            payment_intent=pi,
            amount=pi.amount,
            currency=pi.currency,
            status="needs_response",
            reason="fraudulent",
            created=timezone.now(),
        )
        _emit("charge.dispute.created", dispute_json(dispute))
        _balance(
            "adjustment",
            amount=-dispute.amount,
            fee=DISPUTE_FEE,
            currency=dispute.currency,
            source=dispute.id,
            category="dispute",
            description="Chargeback withdrawal",
        )
        _emit("charge.dispute.funds_withdrawn", dispute_json(dispute))


def dispute_retrieve(dispute_id: str) -> dict[str, Any]:
    dispute = m.Dispute.objects.select_related("payment_intent").filter(id=dispute_id).first()
    if dispute is None:
        raise _missing("dispute", dispute_id)
    return dispute_json(dispute)


def dispute_submit_evidence(dispute_id: str, *, text: str) -> dict[str, Any]:
    with transaction.atomic(durable=True):
        dispute = m.Dispute.objects.select_for_update().filter(id=dispute_id).first()
        if dispute is None:
            raise _missing("dispute", dispute_id)
        if dispute.status not in {"needs_response", "warning_needs_response"}:
            raise _invalid(
                "This dispute is already closed or under review.", code="dispute_already_closed"
            )
        dispute.evidence = text[:20000]
        dispute.status = "under_review"
        dispute.save()
        _emit("charge.dispute.updated", dispute_json(dispute))
        from payments.processors.sandbox.tasks import sandbox_dispute_close

        transaction.on_commit(lambda: sandbox_dispute_close.delay(dispute_id), robust=True)
        return dispute_json(dispute)


def dispute_close(dispute_id: str) -> None:
    with transaction.atomic(durable=True):
        dispute = m.Dispute.objects.select_for_update().get(id=dispute_id)
        if dispute.status != "under_review":
            return
        won = dispute.evidence.strip() == "winning_evidence"
        dispute.status = "won" if won else "lost"
        dispute.save()
        _emit("charge.dispute.closed", dispute_json(dispute))
        if won:
            _balance(
                "adjustment",
                amount=dispute.amount,
                fee=0,
                currency=dispute.currency,
                source=dispute.id,
                discriminator="reinstated",
                category="dispute_reversal",
                description="Chargeback reversal",
            )
            _emit("charge.dispute.funds_reinstated", dispute_json(dispute))


# --- Connect: accounts, bank accounts, payouts ----------------------------------------------


def account_create(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        account = m.Account.objects.create(
            id=_derive("acct", idempotency_key),
            email=str(params.get("email") or "")[:254],
            country=str(params.get("country") or "US")[:2].upper(),
            metadata=dict(params.get("metadata") or {}),
            created=timezone.now(),
        )
        return account_json(account)

    return _idempotent("accounts.create", idempotency_key, params, run)


def account_link_create(account_id: str, *, refresh_url: str, return_url: str) -> dict[str, Any]:
    if not m.Account.objects.filter(id=account_id).exists():
        raise _missing("account", account_id)
    expires = timezone.now() + timedelta(minutes=5)
    # The sandbox has no hosted onboarding: the link goes straight back to our return URL.
    return {
        "object": "account_link",
        "url": return_url,
        "expires_at": _unix(expires),
        "created": _unix(timezone.now()),
    }


def external_account_create(
    account_id: str, params: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        account = m.Account.objects.filter(id=account_id).first()
        if account is None:
            raise _missing("account", account_id)
        external = params.get("external_account")
        if isinstance(external, str) and is_card_token(external):
            return _card_create(account, external, params, idempotency_key)
        if isinstance(external, str):
            outcome = BANK_TOKENS.get(external)
            if outcome is None:
                raise _missing("token", external)
            last4, currency, country = "6789", "usd", "US"
        elif isinstance(external, dict):
            outcome, error, message = bank_test_outcome(external)
            if error:
                param = error.removesuffix("_invalid")
                raise _invalid(message, code=error, param=param)
            last4 = str(external["account_number"])[-4:]
            currency = _currency(external.get("currency"))
            country = str(external.get("country") or "")[:2].upper()
        else:
            raise _invalid(
                "Give a bank account token or account details.", param="external_account"
            )
        bank = m.BankAccount.objects.create(
            id=_derive("ba", idempotency_key),
            account=account,
            last4=last4,
            outcome=outcome,
            currency=currency,
            country=country,
            created=timezone.now(),
        )
        _emit("account.updated", account_json(account), account=account.id, discriminator=bank.id)
        return bank_json(bank)

    return _idempotent(
        "external_accounts.create", idempotency_key, {"account": account_id, **params}, run
    )


def _card_create(
    account: m.Account, token: str, params: dict[str, Any], idempotency_key: str
) -> dict[str, Any]:
    card, error = card_test_outcome(token)
    if error == "invalid_card_type":
        raise _invalid(NOT_DEBIT_MESSAGE, code=error, param="external_account")
    if card is None:
        raise _missing("token", token)
    brand, last4, outcome = card
    created = m.BankAccount.objects.create(
        id=_derive("card", idempotency_key),
        account=account,
        kind="card",
        brand=brand,
        last4=last4,
        outcome=outcome,
        currency=_currency(params.get("currency") or "usd"),
        country="US",
        created=timezone.now(),
    )
    _emit("account.updated", account_json(account), account=account.id, discriminator=created.id)
    return card_json(created)


def payout_create(
    account_id: str, params: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        account = m.Account.objects.filter(id=account_id).first()
        if account is None:
            raise _missing("account", account_id)
        currency = _currency(params.get("currency"))
        # As at Stripe, a payout goes to the external account named in ``destination``,
        # else to the account's newest one in its currency.
        externals = account.banks.filter(currency=currency)
        if params.get("destination"):
            externals = externals.filter(id=str(params["destination"]))
        bank = externals.order_by("-created").first()
        if bank is None:
            raise _invalid(
                f"This account has no external account in {currency.upper()}.",
                code="no_external_account",
            )
        method = params.get("method") or "standard"
        if method not in {"standard", "instant"}:
            raise _invalid("Invalid method.", param="method")
        if method == "instant" and bank.kind != "card":
            raise _invalid(
                "Instant payouts go to debit cards only.",
                code="instant_payouts_unsupported",
                param="method",
            )
        now = timezone.now()
        payout = m.Payout.objects.create(
            id=_derive("po", idempotency_key),
            account=account,
            bank_account=bank,
            amount=_amount(params.get("amount")),
            currency=_currency(params.get("currency")),
            method=method,
            status="pending",
            description=str(params.get("description") or ""),
            metadata=dict(params.get("metadata") or {}),
            arrival_date=(
                now + (timedelta(0) if method == "instant" else timedelta(days=2))
            ).date(),
            created=now,
        )
        _balance(
            "payout",
            amount=-payout.amount,
            fee=0,
            currency=payout.currency,
            source=payout.id,
            category="payout",
            available_after=timedelta(0),
        )
        body = payout_json(payout)
        _emit("payout.created", body, account=account.id)
        schedule_payout_settle(payout.id)
        return body

    return _idempotent("payouts.create", idempotency_key, {"account": account_id, **params}, run)


def schedule_payout_settle(payout_id: str) -> None:
    from payments.processors.sandbox.tasks import sandbox_payout_settle

    delay = settings.SANDBOX_PAYOUT_SETTLE_SECONDS
    transaction.on_commit(
        lambda: sandbox_payout_settle.apply_async((payout_id,), countdown=delay), robust=True
    )


def payout_settle(payout_id: str) -> str:
    """The bank's answer arrives: pending → paid or failed; a ``paid_then_…`` account fails
    on the next step after being paid. Returns the new status (a no-op when final)."""
    with transaction.atomic(durable=True):
        payout = (
            m.Payout.objects.select_for_update().select_related("bank_account").get(id=payout_id)
        )
        outcome = payout.bank_account.outcome
        if payout.status in {"pending", "in_transit"}:
            if outcome == "paid" or outcome.startswith("paid_then_"):
                payout.status = "paid"
                if outcome.startswith("paid_then_"):
                    schedule_payout_settle(payout.id)
            else:
                _fail_payout(payout, outcome)
        elif payout.status == "paid" and outcome.startswith("paid_then_"):
            _fail_payout(payout, outcome.removeprefix("paid_then_"))
        else:
            return payout.status
        payout.save()
        _emit(f"payout.{payout.status}", payout_json(payout), account=payout.account_id)
        return payout.status


def _fail_payout(payout: m.Payout, code: str) -> None:
    payout.status = "failed"
    payout.failure_code = code
    payout.failure_message = PAYOUT_FAILURES[code]
    _balance(
        "payout_failure",
        amount=payout.amount,
        fee=0,
        currency=payout.currency,
        source=payout.id,
        category="payout_reversal",
        available_after=timedelta(0),
    )


def payout_retrieve(account_id: str, payout_id: str) -> dict[str, Any]:
    payout = m.Payout.objects.filter(id=payout_id, account_id=account_id).first()
    if payout is None:
        raise _missing("payout", payout_id)
    return payout_json(payout)


# --- reporting ------------------------------------------------------------------------------


def balance_transactions_list(
    *,
    created_gte: datetime | None = None,
    created_lt: datetime | None = None,
    starting_after: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    if type(limit) is not int or not 1 <= limit <= MAX_LIST_LIMIT:
        raise _invalid("limit must be between 1 and 100.", param="limit")
    rows = m.BalanceTransaction.objects.order_by("-seq")
    if created_gte is not None:
        rows = rows.filter(created__gte=created_gte)
    if created_lt is not None:
        rows = rows.filter(created__lt=created_lt)
    if starting_after:
        cursor = m.BalanceTransaction.objects.filter(id=starting_after).first()
        if cursor is None:
            raise _missing("balance_transaction", starting_after)
        rows = rows.filter(seq__lt=cursor.seq)
    page = list(rows[: limit + 1])
    return {
        "object": "list",
        "data": [txn_json(t) for t in page[:limit]],
        "has_more": len(page) > limit,
        "url": "/v1/balance_transactions",
    }
