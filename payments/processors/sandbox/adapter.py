"""``SandboxProcessor``: the processor interface over the sandbox engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from payments.processors import objects, signing
from payments.processors.base import (
    BalanceTransactionPage,
    BankAccount,
    BankAccountRequest,
    ConnectedAccount,
    ConnectedAccountRequest,
    DebitCard,
    DebitCardRequest,
    Dispute,
    Event,
    OnboardingLink,
    Payment,
    PaymentRequest,
    Payout,
    PayoutRequest,
    PermanentProcessorError,
    Processor,
    Refund,
    RefundRequest,
)
from payments.processors.sandbox import engine


def _call[T](fn: Callable[[], T]) -> T:
    try:
        return fn()
    except engine.SandboxApiError as exc:
        raise objects.error_from_api(exc.status, exc.body["error"]) from exc


class SandboxProcessor(Processor):
    """A real adapter: it keeps its own records and answers like Stripe's test mode.

    Calls must not run inside a transaction of the caller (the engine opens durable
    transactions of its own), which is the house rule for every processor call anyway.
    """

    name = "sandbox"

    def __init__(self, *, webhook_secret: str | None = None, tolerance: int | None = None):
        self.webhook_secret = webhook_secret or settings.SANDBOX_WEBHOOK_SECRET
        self.tolerance = tolerance or settings.WEBHOOK_TOLERANCE_SECONDS

    def create_payment(self, request: PaymentRequest) -> Payment:
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "payment_method": request.payment_method,
            "confirm": True,
            "description": request.description,
            "metadata": dict(request.metadata),
        }
        if request.return_url:
            params["return_url"] = request.return_url
        body = _call(
            lambda: engine.payment_intent_create(params, idempotency_key=request.idempotency_key)
        )
        return objects.payment_from_object(body)

    def card_fingerprint(self, payment_method: str) -> str:
        return str(
            _call(lambda: engine.payment_method_retrieve(payment_method))["card"]["fingerprint"]
        )

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> Payment:
        body = _call(
            lambda: engine.payment_intent_confirm(payment_id, idempotency_key=idempotency_key)
        )
        return objects.payment_from_object(body)

    def retrieve_payment(self, payment_id: str) -> Payment:
        return objects.payment_from_object(
            _call(lambda: engine.payment_intent_retrieve(payment_id))
        )

    def refund_payment(self, request: RefundRequest) -> Refund:
        params: dict[str, Any] = {"payment_intent": request.payment_id}
        if request.amount is not None:
            params["amount"] = request.amount
        if request.reason:
            params["reason"] = request.reason
        body = _call(lambda: engine.refund_create(params, idempotency_key=request.idempotency_key))
        return objects.refund_from_object(body)

    def create_connected_account(self, request: ConnectedAccountRequest) -> ConnectedAccount:
        params = {
            "type": "express",
            "email": request.email,
            "country": request.country,
            "metadata": dict(request.metadata),
        }
        body = _call(lambda: engine.account_create(params, idempotency_key=request.idempotency_key))
        return objects.account_from_object(body)

    def create_onboarding_link(
        self, account_id: str, *, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        body = _call(
            lambda: engine.account_link_create(
                account_id, refresh_url=refresh_url, return_url=return_url
            )
        )
        return OnboardingLink(
            url=body["url"], expires_at=datetime.fromtimestamp(body["expires_at"], tz=UTC)
        )

    def attach_bank_account(self, request: BankAccountRequest) -> BankAccount:
        external: Any = request.token or {
            "object": "bank_account",
            "country": request.country,
            "currency": request.currency.lower(),
            "account_number": request.account_number,
            "routing_number": request.routing_number,
            "account_holder_name": request.account_holder_name,
        }
        if isinstance(external, dict):
            external = {k: v for k, v in external.items() if v}
        body = _call(
            lambda: engine.external_account_create(
                request.account_id,
                {"external_account": external},
                idempotency_key=request.idempotency_key,
            )
        )
        return objects.bank_account_from_object(body)

    def attach_debit_card(self, request: DebitCardRequest) -> DebitCard:
        body = _call(
            lambda: engine.external_account_create(
                request.account_id,
                {"external_account": request.token, "currency": request.currency.lower()},
                idempotency_key=request.idempotency_key,
            )
        )
        if body.get("object") != "card":
            raise PermanentProcessorError("That token is not a card.", code="invalid_card_type")
        return objects.debit_card_from_object(body)

    def create_payout(self, request: PayoutRequest) -> Payout:
        params = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "method": request.method,
            "description": request.description,
            "metadata": dict(request.metadata),
        }
        if request.external_account:
            params["destination"] = request.external_account
        body = _call(
            lambda: engine.payout_create(
                request.destination, params, idempotency_key=request.idempotency_key
            )
        )
        return objects.payout_from_object(body, destination=request.destination)

    def retrieve_payout(self, payout_id: str, *, destination: str) -> Payout:
        body = _call(lambda: engine.payout_retrieve(destination, payout_id))
        return objects.payout_from_object(body, destination=destination)

    def retrieve_dispute(self, dispute_id: str) -> Dispute:
        return objects.dispute_from_object(_call(lambda: engine.dispute_retrieve(dispute_id)))

    def submit_dispute_evidence(self, dispute_id: str, *, text: str) -> Dispute:
        body = _call(lambda: engine.dispute_submit_evidence(dispute_id, text=text))
        return objects.dispute_from_object(body)

    def list_balance_transactions(
        self,
        *,
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
        starting_after: str | None = None,
        limit: int = 100,
    ) -> BalanceTransactionPage:
        body = _call(
            lambda: engine.balance_transactions_list(
                created_gte=created_gte,
                created_lt=created_lt,
                starting_after=starting_after,
                limit=limit,
            )
        )
        return BalanceTransactionPage(
            items=tuple(objects.balance_transaction_from_object(t) for t in body["data"]),
            has_more=body["has_more"],
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Event:
        signing.verify(
            body, signing.header_value(headers), self.webhook_secret, tolerance=self.tolerance
        )
        return objects.event_from_body(body, processor=self.name)

    # --- sandbox only: replay ---------------------------------------------------------------

    def redeliver_event(self, event_id: str) -> None:
        """Send an event again, as Stripe's dashboard "Resend" does."""
        with transaction.atomic():
            engine.schedule_delivery(event_id)
