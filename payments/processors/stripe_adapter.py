"""``StripeProcessor``: the processor interface over stripe-python 16's ``StripeClient``.

Named ``stripe_adapter`` (not ``stripe``) so that it can never shadow the library. This is
one of the few modules allowed to import ``stripe``.

Connect model: a creator is an Express connected account; a payout is a transfer from
the platform to that account followed by a payout from the account to its bank, both with
idempotency keys derived from the caller's key, so a retry repeats neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings

from payments.processors import objects, signing

if TYPE_CHECKING:
    from stripe.params import (
        AccountCreateParams,
        BalanceTransactionListParams,
        BalanceTransactionListParamsCreated,
        PaymentIntentCreateParams,
        PayoutCreateParams,
        RefundCreateParams,
    )
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
    TransientProcessorError,
    WebhookPayloadError,
    WebhookSignatureError,
)

PAYMENT_EXPAND = ["latest_charge.balance_transaction"]


def _plain(obj: Any) -> dict[str, Any]:
    """A StripeObject as plain JSON-able dicts (nested objects included)."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _translate(exc: stripe.StripeError) -> Exception:
    if isinstance(exc, stripe.CardError | stripe.InvalidRequestError | stripe.IdempotencyError):
        body = exc.json_body if isinstance(exc.json_body, dict) else {}
        error = dict(body.get("error") or {})
        error.setdefault("type", "card_error" if isinstance(exc, stripe.CardError) else None)
        error.setdefault("message", exc.user_message or str(exc))
        return objects.error_from_api(exc.http_status or 400, error)
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError):
        return TransientProcessorError(str(exc))
    if isinstance(exc, stripe.APIError) or (exc.http_status or 0) >= 500:
        return TransientProcessorError(str(exc))
    return PermanentProcessorError(str(exc), code=exc.code or "processor_error")


def _call[T](fn: Callable[[], T]) -> T:
    try:
        return fn()
    except stripe.StripeError as exc:
        raise _translate(exc) from exc


class StripeProcessor(Processor):
    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str | tuple[str, ...],
        api_base: str | None = None,
        tolerance: int = 300,
        max_network_retries: int = 0,
        timeout: float = 30,
    ):
        if not api_key:
            raise PermanentProcessorError("STRIPE_API_KEY is not set.", code="not_configured")
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            # Below the Celery soft time limit, so a hung connection fails as transient.
            http_client=stripe.RequestsClient(timeout=timeout),
        )
        self.api_key = api_key
        # Platform events and Connect events come from two Stripe endpoints, each with its
        # own signing secret; a body verifies if any of them signed it.
        secrets = (webhook_secret,) if isinstance(webhook_secret, str) else webhook_secret
        self.webhook_secrets = tuple(s for s in secrets if s)
        self.tolerance = tolerance

    @classmethod
    def from_settings(cls) -> StripeProcessor:
        return cls(
            api_key=settings.STRIPE_API_KEY,
            webhook_secret=(settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_CONNECT_WEBHOOK_SECRET),
            api_base=settings.STRIPE_API_BASE or None,
            tolerance=settings.WEBHOOK_TOLERANCE_SECONDS,
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
            timeout=settings.STRIPE_TIMEOUT_SECONDS,
        )

    # --- payments ---------------------------------------------------------------------------

    def create_payment(self, request: PaymentRequest) -> Payment:
        params: PaymentIntentCreateParams = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "payment_method": request.payment_method,
            # The pinned SDK's API version names this allowed_payment_method_types; the
            # sandbox, the Stripe stub and the tests speak the older name.
            "payment_method_types": ["card"],  # type: ignore[typeddict-unknown-key]
            "confirm": True,
            "metadata": dict(request.metadata),
            "expand": PAYMENT_EXPAND,
        }
        if request.description:
            params["description"] = request.description
        if request.return_url:
            params["return_url"] = request.return_url
        intent = _call(
            lambda: self.client.v1.payment_intents.create(
                params, {"idempotency_key": request.idempotency_key}
            )
        )
        return objects.payment_from_object(_plain(intent))

    def card_fingerprint(self, payment_method: str) -> str:
        method = _plain(_call(lambda: self.client.v1.payment_methods.retrieve(payment_method)))
        fingerprint = (method.get("card") or {}).get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            raise PermanentProcessorError(
                "This payment method is not a card.", code="invalid_payment_method"
            )
        return fingerprint

    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> Payment:
        intent = _call(
            lambda: self.client.v1.payment_intents.confirm(
                payment_id, {"expand": PAYMENT_EXPAND}, {"idempotency_key": idempotency_key}
            )
        )
        return objects.payment_from_object(_plain(intent))

    def retrieve_payment(self, payment_id: str) -> Payment:
        intent = _call(
            lambda: self.client.v1.payment_intents.retrieve(payment_id, {"expand": PAYMENT_EXPAND})
        )
        return objects.payment_from_object(_plain(intent))

    def refund_payment(self, request: RefundRequest) -> Refund:
        params: RefundCreateParams = {"payment_intent": request.payment_id}
        if request.amount is not None:
            params["amount"] = request.amount
        if request.reason:
            params["reason"] = request.reason
        refund = _call(
            lambda: self.client.v1.refunds.create(
                params, {"idempotency_key": request.idempotency_key}
            )
        )
        return objects.refund_from_object(_plain(refund))

    # --- disputes ---------------------------------------------------------------------------

    def retrieve_dispute(self, dispute_id: str) -> Dispute:
        return objects.dispute_from_object(
            _plain(_call(lambda: self.client.v1.disputes.retrieve(dispute_id)))
        )

    def submit_dispute_evidence(self, dispute_id: str, *, text: str) -> Dispute:
        dispute = _call(
            lambda: self.client.v1.disputes.update(
                dispute_id, {"evidence": {"uncategorized_text": text}, "submit": True}
            )
        )
        return objects.dispute_from_object(_plain(dispute))

    # --- Connect ----------------------------------------------------------------------------

    def create_connected_account(self, request: ConnectedAccountRequest) -> ConnectedAccount:
        params: AccountCreateParams = {
            "type": "express",
            "country": request.country,
            "email": request.email,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": dict(request.metadata),
        }
        account = _call(
            lambda: self.client.v1.accounts.create(
                params, {"idempotency_key": request.idempotency_key}
            )
        )
        return objects.account_from_object(_plain(account))

    def create_onboarding_link(
        self, account_id: str, *, refresh_url: str, return_url: str
    ) -> OnboardingLink:
        link = _call(
            lambda: self.client.v1.account_links.create(
                {
                    "account": account_id,
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                    "type": "account_onboarding",
                }
            )
        )
        return OnboardingLink(
            url=link["url"], expires_at=datetime.fromtimestamp(link["expires_at"], tz=UTC)
        )

    def attach_bank_account(self, request: BankAccountRequest) -> BankAccount:
        # Stripe's shape for every country: the IBAN goes in account_number (no routing
        # number), a national bank code in routing_number. A missing field stays missing,
        # for Stripe to refuse: never a test default in a request that may be live.
        # Stripe's external accounts take no BIC (it derives the bank from the IBAN).
        external: Any = request.token or {
            "object": "bank_account",
            "country": request.country,
            "currency": request.currency.lower(),
            "account_number": request.account_number,
            "routing_number": request.routing_number or None,
            "account_holder_name": request.account_holder_name or None,
        }
        if isinstance(external, dict):
            external = {k: v for k, v in external.items() if v is not None}
        bank = _call(
            lambda: self.client.v1.accounts.external_accounts.create(
                request.account_id,
                {"external_account": external, "default_for_currency": True},
                {"idempotency_key": request.idempotency_key},
            )
        )
        return objects.bank_account_from_object(_plain(bank))

    def attach_debit_card(self, request: DebitCardRequest) -> DebitCard:
        # A card external account is created from a card token alone; Stripe refuses a
        # credit or prepaid card itself (invalid_card_type), and sets its currency from
        # the connected account's.
        card = _call(
            lambda: self.client.v1.accounts.external_accounts.create(
                request.account_id,
                {"external_account": request.token, "default_for_currency": True},
                {"idempotency_key": request.idempotency_key},
            )
        )
        plain = _plain(card)
        if plain.get("object") != "card":
            raise PermanentProcessorError("That token is not a card.", code="invalid_card_type")
        return objects.debit_card_from_object(plain)

    def create_payout(self, request: PayoutRequest) -> Payout:
        metadata = dict(request.metadata)
        _call(
            lambda: self.client.v1.transfers.create(
                {
                    "amount": request.amount,
                    "currency": request.currency.lower(),
                    "destination": request.destination,
                    "metadata": metadata,
                },
                {"idempotency_key": f"{request.idempotency_key}:transfer"},
            )
        )
        params: PayoutCreateParams = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "method": request.method,
            "metadata": metadata,
        }
        if request.description:
            params["description"] = request.description
        if request.external_account:
            params["destination"] = request.external_account
        payout = _call(
            lambda: self.client.v1.payouts.create(
                params,
                {
                    "idempotency_key": f"{request.idempotency_key}:payout",
                    "stripe_account": request.destination,
                },
            )
        )
        return objects.payout_from_object(_plain(payout), destination=request.destination)

    def retrieve_payout(self, payout_id: str, *, destination: str) -> Payout:
        payout = _call(
            lambda: self.client.v1.payouts.retrieve(
                payout_id, options={"stripe_account": destination}
            )
        )
        return objects.payout_from_object(_plain(payout), destination=destination)

    # --- reporting --------------------------------------------------------------------------

    def list_balance_transactions(
        self,
        *,
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
        starting_after: str | None = None,
        limit: int = 100,
    ) -> BalanceTransactionPage:
        params: BalanceTransactionListParams = {"limit": max(1, min(limit, 100))}
        created: BalanceTransactionListParamsCreated = {}
        if created_gte is not None:
            created["gte"] = int(created_gte.timestamp())
        if created_lt is not None:
            created["lt"] = int(created_lt.timestamp())
        if created:
            params["created"] = created
        if starting_after:
            params["starting_after"] = starting_after
        page = _call(lambda: self.client.v1.balance_transactions.list(params))
        return BalanceTransactionPage(
            items=tuple(objects.balance_transaction_from_object(_plain(t)) for t in page.data),
            has_more=bool(page.has_more),
        )

    # --- webhooks ---------------------------------------------------------------------------

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Event:
        header = signing.header_value(headers)
        if not self.webhook_secrets:
            raise WebhookSignatureError("STRIPE_WEBHOOK_SECRET is not set.")
        # Stripe's own verification decides, with its tolerance for old timestamps; it
        # accepts timestamps in the future, which we refuse as well.
        timestamp, _ = signing.parse_header(header)
        text = body.decode("utf-8", errors="replace")
        for secret in self.webhook_secrets:
            try:
                stripe.Webhook.construct_event(
                    text, header, secret, tolerance=self.tolerance, api_key=self.api_key
                )
            except stripe.SignatureVerificationError as exc:
                if "tolerance" in str(exc):  # this secret signed it; only the time is wrong
                    raise WebhookSignatureError(str(exc), code="stale_webhook") from exc
                continue
            except ValueError as exc:  # signed, but not JSON
                raise WebhookPayloadError("The body is not JSON.") from exc
            break
        else:
            raise WebhookSignatureError("No signature matches the body.")
        signing.check_timestamp(timestamp, tolerance=self.tolerance, now=time.time())
        return objects.event_from_body(body, processor=self.name)
