"""The card processor interface: frozen dataclasses in, frozen dataclasses out.

Amounts are integer minor units with an uppercase ISO 4217 currency code. Adapters only
translate between these values and a processor's API; they never touch our domain models
or the ledger. Every call that creates something at the processor takes an idempotency key
that the caller derives from its own row id (``topup:42``), so a retried call can never
create a second object there.

Errors: ``TransientProcessorError`` (retry later with the same idempotency key),
``PermanentProcessorError`` (terminal; carries a stable ``code``), ``CardDeclined`` (a
permanent error carrying Stripe's ``decline_code``) and ``WebhookSignatureError``.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = 99_999_999_999  # Stripe's own ceiling is lower; this only bounds nonsense
MAX_KEY_LENGTH = 255  # Stripe's limit for idempotency keys


# --- errors ---------------------------------------------------------------------------------


class ProcessorError(Exception):
    """Base of every adapter error. ``code`` is stable and snake_case."""

    code: str = "processor_error"

    def __init__(self, message: str = "", *, code: str | None = None):
        self.message = message or self.__class__.__name__
        if code:
            self.code = code
        super().__init__(self.message)


class TransientProcessorError(ProcessorError):
    """The processor could not be reached or asked us to slow down: retry with the same key."""

    code = "processor_unavailable"


class PermanentProcessorError(ProcessorError):
    """The processor refused the request; retrying it unchanged cannot succeed."""

    code = "processor_error"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        decline_code: str | None = None,
        payment_id: str | None = None,
    ):
        super().__init__(message, code=code)
        self.decline_code = decline_code
        self.payment_id = payment_id


class CardDeclined(PermanentProcessorError):
    """The card was declined. ``decline_code`` is Stripe's (``insufficient_funds``, ...)."""

    code = "card_declined"


class WebhookSignatureError(ProcessorError):
    """A webhook whose signature is missing, malformed, wrong, or outside the tolerance.

    ``code`` is ``invalid_signature`` or ``stale_webhook`` (timestamp too old or in the future).
    """

    code = "invalid_signature"


class WebhookPayloadError(ProcessorError):
    """A correctly signed webhook whose body is not an event we can read."""

    code = "malformed_payload"


# --- values ---------------------------------------------------------------------------------


def _check_amount(amount: Any, *, allow_zero: bool = False) -> None:
    if type(amount) is not int or amount < (0 if allow_zero else 1) or amount > MAX_AMOUNT:
        raise ValueError(f"amount must be a positive int of minor units, not {amount!r}")


def _check_currency(currency: Any) -> None:
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise ValueError(f"currency must be an uppercase ISO 4217 code, not {currency!r}")


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError("idempotency_key must be a non-empty string of at most 255 characters")


class PaymentStatus(StrEnum):
    REQUIRES_PAYMENT_METHOD = "requires_payment_method"  # declined; a new card is needed
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"  # customer authentication (3-D Secure) pending
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class PayoutStatus(StrEnum):
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """Charge a card. ``payment_method`` is a processor token (``pm_card_visa``), never a
    card number."""

    amount: int
    currency: str
    payment_method: str
    idempotency_key: str
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    return_url: str | None = None

    def __post_init__(self) -> None:
        _check_amount(self.amount)
        _check_currency(self.currency)
        _check_key(self.idempotency_key)
        if not isinstance(self.payment_method, str) or not self.payment_method:
            raise ValueError("payment_method must be a processor token")


@dataclass(frozen=True, slots=True)
class NextAction:
    """What the customer must do before a ``requires_action`` payment can go on."""

    type: str  # "redirect_to_url" or "use_stripe_sdk"
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    status: PaymentStatus
    amount: int
    currency: str
    created: datetime
    payment_method: str | None = None
    charge_id: str | None = None
    # Known once the payment succeeded: the processor's fee and what it credits us net.
    fee: int | None = None
    net: int | None = None
    amount_refunded: int = 0
    decline_code: str | None = None
    failure_message: str | None = None
    next_action: NextAction | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    payment_id: str
    idempotency_key: str
    amount: int | None = None  # None refunds what is left
    reason: str | None = None  # duplicate | fraudulent | requested_by_customer

    def __post_init__(self) -> None:
        _check_key(self.idempotency_key)
        if self.amount is not None:
            _check_amount(self.amount)


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment_id: str | None
    amount: int
    currency: str
    status: str  # pending | succeeded | failed | canceled
    created: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectedAccountRequest:
    """A processor-side account that can receive payouts (Stripe Connect Express)."""

    idempotency_key: str
    email: str
    country: str = "US"
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_key(self.idempotency_key)


@dataclass(frozen=True, slots=True)
class ConnectedAccount:
    id: str
    email: str | None
    country: str
    payouts_enabled: bool
    details_submitted: bool


@dataclass(frozen=True, slots=True)
class OnboardingLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class BankAccountRequest:
    """Attach a bank account to a connected account: either a processor token
    (``btok_us_verified``) or the account's details, in the shape Stripe's external
    accounts take: ``account_number`` is the IBAN where the country uses one, else the
    national account number; ``routing_number`` the national bank code (ABA routing
    number, sort code, BSB, ``transit-institution``, IFSC), absent for IBANs. Nothing is
    filled in for a missing field: the processor refuses what is incomplete."""

    account_id: str
    idempotency_key: str
    token: str | None = None
    account_number: str | None = None
    routing_number: str | None = None
    country: str = "US"
    currency: str = "USD"
    account_holder_name: str = ""
    bic: str | None = None  # kept for processors that route by BIC; Stripe takes none

    def __post_init__(self) -> None:
        _check_key(self.idempotency_key)
        _check_currency(self.currency)
        if not isinstance(self.country, str) or not re.match(r"^[A-Z]{2}$", self.country):
            raise ValueError(f"country must be an uppercase ISO 3166 code, not {self.country!r}")
        if bool(self.token) == bool(self.account_number):
            raise ValueError("give exactly one of token or account_number")


@dataclass(frozen=True, slots=True)
class BankAccount:
    id: str
    account_id: str
    last4: str
    currency: str
    country: str
    status: str
    bank_name: str | None = None


@dataclass(frozen=True, slots=True)
class DebitCardRequest:
    """Attach a debit card to a connected account as a payout destination, by processor
    token only (``tok_visa_debit``): a card number never passes through us. ``currency``
    is what payouts to it are made in (Stripe takes it from the connected account)."""

    account_id: str
    idempotency_key: str
    token: str
    currency: str = "USD"

    def __post_init__(self) -> None:
        _check_key(self.idempotency_key)
        _check_currency(self.currency)
        if not isinstance(self.token, str) or not re.match(r"^[A-Za-z0-9_]{1,100}$", self.token):
            raise ValueError("token must be a processor card token")


@dataclass(frozen=True, slots=True)
class DebitCard:
    """A card external account. ``instant`` says whether the processor offers instant
    payouts to it (Stripe's ``available_payout_methods``)."""

    id: str
    account_id: str
    last4: str
    brand: str
    funding: str  # debit | credit | prepaid | unknown
    country: str
    currency: str
    instant: bool


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    """Send money from the platform to a connected account's bank account or debit card.
    ``external_account`` names which one (a card for instant payouts); without it the
    processor pays the account's default for the currency."""

    amount: int
    currency: str
    destination: str  # connected account id
    idempotency_key: str
    method: str = "standard"  # standard | instant
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    external_account: str | None = None

    def __post_init__(self) -> None:
        _check_amount(self.amount)
        _check_currency(self.currency)
        _check_key(self.idempotency_key)
        if self.method not in {"standard", "instant"}:
            raise ValueError("method must be standard or instant")


@dataclass(frozen=True, slots=True)
class Payout:
    id: str
    status: PayoutStatus
    amount: int
    currency: str
    created: datetime
    destination: str | None = None  # connected account id
    bank_account_id: str | None = None
    method: str = "standard"
    arrival_date: date | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Dispute:
    id: str
    charge_id: str | None
    payment_id: str | None
    amount: int
    currency: str
    status: str  # warning_needs_response | needs_response | under_review | won | lost
    reason: str | None
    created: datetime


@dataclass(frozen=True, slots=True)
class BalanceTransaction:
    """One movement of the platform's balance at the processor, like Stripe's."""

    id: str
    type: str  # charge | refund | adjustment | payout | payout_failure | transfer ...
    amount: int  # signed gross
    fee: int
    net: int
    currency: str
    created: datetime
    available_on: datetime
    source: str | None
    reporting_category: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class BalanceTransactionPage:
    items: tuple[BalanceTransaction, ...]
    has_more: bool

    @property
    def next_cursor(self) -> str | None:
        """Pass as ``starting_after`` to read the next (older) page."""
        return self.items[-1].id if self.has_more and self.items else None


@dataclass(frozen=True, slots=True)
class Event:
    """A verified webhook event. ``data`` is the event's object, Stripe-shaped for both
    adapters; turn it into a value with ``payments.processors.objects``."""

    id: str
    type: str
    created: datetime
    data: Mapping[str, Any]
    processor: str
    account: str | None = None  # set for events of a connected account
    livemode: bool = False


# --- the interface --------------------------------------------------------------------------


class Processor(abc.ABC):
    """One card processor. Methods never run inside a database transaction of the caller
    (record the intent, commit, call, record the result); they raise the errors above."""

    name: str

    @abc.abstractmethod
    def create_payment(self, request: PaymentRequest) -> Payment:
        """Create and confirm a card payment. Raises ``CardDeclined`` on a decline; a
        payment that needs authentication comes back ``requires_action``."""

    @abc.abstractmethod
    def card_fingerprint(self, payment_method: str) -> str:
        """The card's fingerprint (Stripe's ``card.fingerprint``): the same card gives the
        same value whatever token names it, so abuse limits can count per card before it
        is charged. Raises ``PermanentProcessorError`` (``resource_missing``) for a token
        the processor does not know."""

    @abc.abstractmethod
    def confirm_payment(self, payment_id: str, *, idempotency_key: str) -> Payment:
        """Confirm a payment again after the customer completed ``next_action``."""

    @abc.abstractmethod
    def retrieve_payment(self, payment_id: str) -> Payment: ...

    @abc.abstractmethod
    def refund_payment(self, request: RefundRequest) -> Refund: ...

    @abc.abstractmethod
    def create_connected_account(self, request: ConnectedAccountRequest) -> ConnectedAccount: ...

    @abc.abstractmethod
    def create_onboarding_link(
        self, account_id: str, *, refresh_url: str, return_url: str
    ) -> OnboardingLink: ...

    @abc.abstractmethod
    def attach_bank_account(self, request: BankAccountRequest) -> BankAccount: ...

    def attach_debit_card(self, request: DebitCardRequest) -> DebitCard:
        """Attach a debit card for payouts. A credit or prepaid card is refused with
        ``invalid_card_type``; a processor without card payouts refuses every card."""
        raise PermanentProcessorError(
            "This processor does not pay out to cards.", code="card_payouts_unsupported"
        )

    @abc.abstractmethod
    def create_payout(self, request: PayoutRequest) -> Payout:
        """Start a payout; it is ``pending`` until ``payout.paid`` or ``payout.failed``."""

    @abc.abstractmethod
    def retrieve_payout(self, payout_id: str, *, destination: str) -> Payout: ...

    @abc.abstractmethod
    def retrieve_dispute(self, dispute_id: str) -> Dispute: ...

    @abc.abstractmethod
    def submit_dispute_evidence(self, dispute_id: str, *, text: str) -> Dispute:
        """Submit evidence. In test modes ``winning_evidence`` / ``losing_evidence`` decide
        the outcome, as with Stripe."""

    @abc.abstractmethod
    def list_balance_transactions(
        self,
        *,
        created_gte: datetime | None = None,
        created_lt: datetime | None = None,
        starting_after: str | None = None,
        limit: int = 100,
    ) -> BalanceTransactionPage:
        """Newest first, like Stripe; page with ``starting_after=page.next_cursor``."""

    @abc.abstractmethod
    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Event:
        """Verify the signature of a raw webhook body and return the event.

        ``headers`` is case-insensitive-ish: adapters look up ``Stripe-Signature`` in the
        capitalisations Django and plain dicts produce. Raises ``WebhookSignatureError``
        (``invalid_signature`` / ``stale_webhook``) or ``WebhookPayloadError``.
        """


def get_processor(name: str | None = None) -> Processor:
    """The adapter named ``name``, or the one ``settings.PAYMENTS_PROCESSOR`` chooses."""
    from django.conf import settings

    name = name or settings.PAYMENTS_PROCESSOR
    if name == "sandbox":
        from payments.processors.sandbox.adapter import SandboxProcessor

        return SandboxProcessor()
    if name == "stripe":
        from payments.processors.stripe_adapter import StripeProcessor

        return StripeProcessor.from_settings()
    raise ValueError(f"unknown payments processor {name!r}")
