"""Payout services: destinations, requests, submission, status changes and their postings.

The shape of every processor call (after Liberapay): record the intent and commit; call the
processor with a key built from our row id (``payout:{id}``); record the answer in a new
transaction. No transaction is ever open across a processor call. The request is one
transaction (payer check, hold, payout row); so is each status change: the new status, its
ledger effects (the ledger joins the transaction) and the person's receipt in the outbox.
Every ledger effect is *derived from the payout's status* by ``payout_ledger_sync`` with
idempotency keys from the payout id, so running it again (the sweeper does, for rows
written by older versions that booked in a second transaction) books nothing twice.

Postings (``P`` = processor, ``A`` = amount, ``F`` = instant fee, 0 for standard):

=====================  =====================================================================
request                hold: D wallet:user A+F · C payouts_in_transit A · C fees F
paid                   post the hold (the entry above), then
                       D payouts_in_transit A · C processor_clearing:P A  (code payout_settle)
failed (before paid)   void the hold: the wallet is spendable again, no fee is kept
paid, then failed      reverse both entries, once each:
                       D processor_clearing:P A · C payouts_in_transit A
                       D payouts_in_transit A · D fees F · C wallet:user A+F
=====================  =====================================================================

A bank that returns an instant payout gets its fee refunded too: the service was not
delivered.

Locks: ``Payout`` rows are locked (``SELECT … FOR UPDATE``) for every status change, then
the ledger takes its own (hold row, then wallet) inside that transaction. A request locks
the person's user row (share), then the wallet and the new hold; nothing locks a payout row
after a wallet, so there is no cycle.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

import structlog
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.api.timestamps import rfc3339
from core.money import EXPONENTS, Money, currency_require_supported
from core.publish import publish_on_commit
from core.text import text_clean
from ledger import chart
from ledger.errors import EntryAlreadyReversed
from ledger.models import Entry, HoldStatus
from ledger.services import credit, debit, entry_post, entry_reverse, hold_create, hold_post
from ledger.services import hold_void as ledger_hold_void
from payments.payouts import bank_formats
from payments.payouts.errors import (
    IllegalPayoutTransition,
    InstantPayoutUnavailable,
    InvalidBankAccount,
    InvalidBankDetails,
    InvalidPayoutCard,
    InvalidPayoutMethod,
    NoPayoutDestination,
    PayoutCardNotDebit,
    PayoutCurrencyMismatch,
    PayoutDestinationOnHold,
    PayoutQuoteMismatch,
    PayoutRequestExpired,
    ProcessorUnavailable,
)
from payments.payouts.models import (
    TRANSITIONS,
    Payout,
    PayoutAccount,
    PayoutDestination,
    PayoutEvent,
    PayoutMethod,
    PayoutSchedule,
    PayoutStatus,
)
from payments.processors.base import (
    BankAccountRequest,
    ConnectedAccountRequest,
    DebitCardRequest,
    PayoutRequest,
    PermanentProcessorError,
    Processor,
    TransientProcessorError,
    get_processor,
)
from payments.processors.base import PayoutStatus as RemoteStatus
from payments.wallets.events import event_emit
from payments.wallets.payer import payer_check
from payments.wallets.receipts import ReceiptSide, payment_receipts

log = structlog.get_logger(__name__)

PAYOUT_CODE = "payout"
MAX_HOLDER_NAME = 100
SETTLE_CODE = "payout_settle"


# --- quotes ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PayoutQuote:
    """What a payout costs and when it should arrive: shown before the person confirms."""

    amount: Money
    fee: Money
    total: Money  # what leaves the wallet
    method: str
    arrival_estimate: date


def instant_fee_minimum(currency: str) -> int:
    """The smallest instant fee in ``currency``'s minor units: ``PAYOUT_INSTANT_FEE_MIN``
    (minor units of the limits currency) at the fixed ``WALLET_LIMIT_RATES``, rounded up,
    so that it is worth the same everywhere whatever the currency's decimals."""
    base = settings.WALLET_LIMITS_CURRENCY
    minimum = settings.PAYOUT_INSTANT_FEE_MIN
    if currency == base:
        return minimum
    rate = Decimal(settings.WALLET_LIMIT_RATES[currency])  # base units per unit of currency
    scaled = Decimal(minimum) / rate * Decimal(10) ** (EXPONENTS[currency] - EXPONENTS[base])
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


def payout_quote(*, amount: Money, method: str) -> PayoutQuote:
    """Raises ``InvalidPayoutMethod``; ``amount`` must already be a positive ``Money``."""
    if method not in PayoutMethod.values:
        raise InvalidPayoutMethod(details={"method": str(method)[:20]})
    if method == PayoutMethod.INSTANT:
        # Round up: a fee of 1.5 % on 1 cent is 1 cent, never 0.
        bps_fee = -(-amount.amount * settings.PAYOUT_INSTANT_FEE_BPS // 10_000)
        fee = Money(max(bps_fee, instant_fee_minimum(amount.currency)), amount.currency)
        arrival = timezone.now().date()
    else:
        fee = Money(0, amount.currency)
        arrival = timezone.now().date() + timedelta(days=settings.PAYOUT_STANDARD_ARRIVAL_DAYS)
    return PayoutQuote(
        amount=amount, fee=fee, total=amount + fee, method=method, arrival_estimate=arrival
    )


# --- destinations ----------------------------------------------------------------------------
def _payout_account_ensure(*, user: User, processor: Processor) -> PayoutAccount:
    """The person's connected account, created at the processor once (key from the user id)."""
    existing = PayoutAccount.objects.filter(user=user).first()
    if existing is not None:
        return existing
    remote = processor.create_connected_account(
        ConnectedAccountRequest(
            idempotency_key=f"payout-account:user:{user.pk}",
            email=user.email,
            metadata={"user_id": str(user.pk)},
        )
    )
    account, _ = PayoutAccount.objects.get_or_create(
        user=user, defaults={"processor": processor.name, "account_id": remote.id}
    )
    return account


def payout_onboarding_link(*, user: User, refresh_url: str, return_url: str) -> str:
    """The processor's hosted onboarding page for the person's connected account (Stripe
    Connect collects identity and bank details there; the sandbox sends them straight back
    to ``return_url``). Creates the connected account on first use. Raises
    ``ProcessorUnavailable`` when the processor cannot be reached."""
    processor = get_processor()
    try:
        account = _payout_account_ensure(user=user, processor=processor)
        link = processor.create_onboarding_link(
            account.account_id, refresh_url=refresh_url, return_url=return_url
        )
    except TransientProcessorError as exc:
        raise ProcessorUnavailable() from exc
    return link.url


def payout_destination_add(
    *,
    user: User,
    country: str = "US",
    currency: str = "",
    details: Mapping[str, str] | None = None,
    account_number: str = "",
    routing_number: str = "",
    token: str = "",
    account_holder_name: str = "",
    schedule: str = PayoutSchedule.MANUAL,
) -> PayoutDestination:
    """Attach a bank account through the processor and make it the active destination.

    ``details`` holds the country's fields (``bank_formats``: ``iban``, ``sort_code``,
    ``account_number`` ...); ``account_number`` and ``routing_number`` are shorthand for
    the two most common ones. ``currency`` empty is the country's usual one. ``token`` is
    a processor bank token instead of details. Only the last four characters are stored.

    The caller has checked re-authentication. Starts the payout hold
    (``PAYOUT_DESTINATION_HOLD_HOURS``). Raises ``InvalidBankDetails`` (per field, nothing
    written), ``InvalidBankAccount`` (the processor refused it; nothing active changes) or
    ``ProcessorUnavailable`` (retry later).
    """
    values = dict(details or {})
    if account_number:
        values["account_number"] = account_number
    if routing_number:
        values["routing_number"] = routing_number
    if schedule not in PayoutSchedule.values:
        raise InvalidBankAccount(_("Unknown payout schedule."), details={"field": "schedule"})
    holder = " ".join(
        text_clean(
            value=account_holder_name or "",
            max_length=MAX_HOLDER_NAME,
            field="account_holder_name",
            allow_newlines=False,
        ).split()
    )
    if token:
        if any(values.values()):
            raise InvalidBankAccount(_("Give bank account details or a bank token, not both."))
        if not token.startswith("btok_"):
            # A card token here would attach a card as if it were a bank account.
            raise InvalidBankAccount(details={"field": "token"})
        fmt = bank_formats.bank_format(country)
        if fmt is None or not fmt.supported_currencies():
            raise InvalidBankDetails(details={"fields": {"country": "bank_country_unsupported"}})
        bank_currency = (currency or fmt.supported_currencies()[0]).upper()
        if bank_currency not in fmt.supported_currencies():
            raise InvalidBankDetails(details={"fields": {"currency": "bank_currency_unsupported"}})
        checked = None
        bank_country = fmt.country
    else:
        checked = bank_formats.bank_details_validate(
            country=country, currency=currency, values=values
        )
        bank_country, bank_currency = checked.country, checked.currency
    processor = get_processor()
    # Intent first: the row id becomes the processor's idempotency key.
    with transaction.atomic(durable=True):
        destination = PayoutDestination.objects.create(
            user=user,
            processor=processor.name,
            last4=checked.last4 if checked else "",
            country=bank_country,
            currency=bank_currency,
            account_holder_name=holder,
            schedule=schedule,
        )
    try:
        account = _payout_account_ensure(user=user, processor=processor)
        bank = processor.attach_bank_account(
            BankAccountRequest(
                account_id=account.account_id,
                idempotency_key=f"payout-destination:{destination.pk}",
                token=token or None,
                account_number=checked.account_number if checked else None,
                routing_number=checked.routing_number if checked else None,
                bic=checked.bic if checked else None,
                country=bank_country,
                currency=bank_currency,
                account_holder_name=holder,
            )
        )
    except TransientProcessorError as exc:
        PayoutDestination.objects.filter(pk=destination.pk).update(
            status=PayoutDestination.Status.FAILED, failure_code=exc.code[:64]
        )
        raise ProcessorUnavailable() from exc
    except PermanentProcessorError as exc:
        PayoutDestination.objects.filter(pk=destination.pk).update(
            status=PayoutDestination.Status.FAILED, failure_code=exc.code[:64]
        )
        raise InvalidBankAccount(details={"processor_code": exc.code}) from exc
    # What the processor says it attached wins; it answered for the same shape.
    destination.bank_account_id = bank.id
    destination.last4 = bank.last4
    destination.currency = bank.currency.upper()[:3] or bank_currency
    destination.country = bank.country.upper()[:2] or bank_country
    return _destination_activate(user=user, destination=destination)


def _destination_activate(*, user: User, destination: PayoutDestination) -> PayoutDestination:
    """Make an attached destination the active one, replacing the previous one, and start
    the payout hold. Locks: the person's user row (one destination change at a time)."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        User.objects.select_for_update().get(pk=user.pk)
        PayoutDestination.objects.filter(user=user, status=PayoutDestination.Status.ACTIVE).update(
            status=PayoutDestination.Status.REPLACED
        )
        destination.status = PayoutDestination.Status.ACTIVE
        destination.payouts_allowed_at = now + timedelta(
            hours=settings.PAYOUT_DESTINATION_HOLD_HOURS
        )
        destination.save()
    log.info(
        "payout.destination_added",
        user_id=user.pk,
        destination_id=destination.pk,
        kind=str(destination.kind),
    )
    return destination


#: What a processor card token looks like (``tok_visa_debit``, ``pm_card_visa_debit``).
_CARD_TOKEN = re.compile(r"^(tok|pm|card)_[A-Za-z0-9_]{1,90}$")


def payout_card_add(*, user: User, token: str, currency: str = "") -> PayoutDestination:
    """Attach a debit card (a processor token, never a number) and make it the active
    destination; instant payouts go to it where the processor offers them.

    ``currency`` empty is the person's home currency if wallets hold it, else the default.
    The caller has checked re-authentication. Starts the payout hold, as a bank account
    does. Raises ``InvalidPayoutCard`` (a malformed or unknown token, nothing written),
    ``PayoutCardNotDebit`` (a credit or prepaid card; the failed attempt is kept),
    ``unsupported_currency`` or ``ProcessorUnavailable``.
    """
    token = str(token or "").strip()
    if not _CARD_TOKEN.match(token):
        raise InvalidPayoutCard(details={"field": "token"})
    if currency:
        card_currency = currency_require_supported(str(currency).strip()[:3])
    elif user.home_currency in settings.SUPPORTED_CURRENCIES:
        card_currency = user.home_currency
    else:
        card_currency = settings.DEFAULT_CURRENCY
    processor = get_processor()
    with transaction.atomic(durable=True):
        destination = PayoutDestination.objects.create(
            user=user,
            processor=processor.name,
            kind=PayoutDestination.Kind.CARD,
            currency=card_currency,
            country="US",
        )
    try:
        account = _payout_account_ensure(user=user, processor=processor)
        card = processor.attach_debit_card(
            DebitCardRequest(
                account_id=account.account_id,
                idempotency_key=f"payout-destination:{destination.pk}",
                token=token,
                currency=card_currency,
            )
        )
    except TransientProcessorError as exc:
        PayoutDestination.objects.filter(pk=destination.pk).update(
            status=PayoutDestination.Status.FAILED, failure_code=exc.code[:64]
        )
        raise ProcessorUnavailable() from exc
    except PermanentProcessorError as exc:
        PayoutDestination.objects.filter(pk=destination.pk).update(
            status=PayoutDestination.Status.FAILED, failure_code=exc.code[:64]
        )
        if exc.code == "invalid_card_type":
            raise PayoutCardNotDebit(details={"processor_code": exc.code}) from exc
        raise InvalidPayoutCard(details={"processor_code": exc.code}) from exc
    if card.funding != "debit":  # the processor's check, asserted: never pay a credit card
        PayoutDestination.objects.filter(pk=destination.pk).update(
            status=PayoutDestination.Status.FAILED, failure_code="invalid_card_type"
        )
        raise PayoutCardNotDebit(details={"processor_code": "invalid_card_type"})
    destination.bank_account_id = card.id
    destination.last4 = card.last4
    destination.card_brand = card.brand[:32]
    destination.instant_available = card.instant
    destination.currency = card.currency[:3] or card_currency
    destination.country = card.country[:2] or destination.country
    return _destination_activate(user=user, destination=destination)


def payout_schedule_set(*, user: User, schedule: str) -> PayoutDestination:
    if schedule not in PayoutSchedule.values:
        raise InvalidBankAccount(_("Unknown payout schedule."), details={"field": "schedule"})
    with transaction.atomic(durable=True):
        destination = (
            PayoutDestination.objects.select_for_update()
            .filter(user=user, status=PayoutDestination.Status.ACTIVE)
            .first()
        )
        if destination is None:
            raise NoPayoutDestination()
        destination.schedule = schedule
        destination.save(update_fields=["schedule"])
    return destination


# --- requests --------------------------------------------------------------------------------
def _destination_payable(user: User) -> PayoutDestination:
    destination = PayoutDestination.objects.filter(
        user=user, status=PayoutDestination.Status.ACTIVE
    ).first()
    if destination is None:
        raise NoPayoutDestination()
    if destination.payouts_allowed_at > timezone.now():
        raise PayoutDestinationOnHold(
            details={"payouts_allowed_at": rfc3339(destination.payouts_allowed_at)}
        )
    return destination


def _request_hold_key(user_id: int, request_key: str) -> str:
    digest = hashlib.sha256(request_key.encode()).hexdigest()[:40]
    return f"payout-request:{user_id}:{digest}"


def payout_request(
    *,
    user: User,
    amount: Money,
    method: str,
    request_key: str,
    reauthenticated: bool | None = None,
) -> Payout:
    """Reserve ``amount`` (plus the instant fee) in the wallet and queue the payout. An
    instant payout needs an active debit card that the processor pays instantly.

    One transaction (the caller's, or its own): the payer check (``payments.wallets.payer``:
    the person read fresh and share-locked, not frozen, verified, re-authenticated above
    the step-up threshold), the destination check, the hold (the ledger joins the
    transaction; its key comes from ``request_key``), the payout row and its first event.
    The submission to the processor is queued after commit. A refusal leaves nothing.
    ``request_key`` is the client's idempotency key: the same key returns the same payout.
    ``reauthenticated``: what the request proved; ``None`` for scheduled payouts.
    Locks: the person's user row (share), the wallet (ledger), the hold row.
    Raises ``VerificationRequired``, ``AccountFrozen``, ``ReauthenticationRequired``,
    ``NoPayoutDestination``, ``PayoutDestinationOnHold``, ``InvalidPayoutMethod``,
    ``InstantPayoutUnavailable``, ledger
    ``InsufficientFunds`` / ``IdempotencyKeyReused``, ``PayoutRequestExpired``.
    """
    currency_require_supported(amount.currency)
    quote = payout_quote(amount=amount, method=method)
    currency = amount.currency
    postings = [
        debit(chart.wallet_key(user.pk, currency), quote.total),
        credit(chart.payouts_in_transit_key(currency), quote.amount),
    ]
    if quote.fee.amount:
        postings.append(credit(chart.fees_key(currency), quote.fee))
    hold_key = _request_hold_key(user.pk, request_key)
    existing = Payout.objects.filter(user=user, hold__idempotency_key=hold_key).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        payer_check(
            payer_id=user.pk,
            money=quote.total,
            reauthenticated=reauthenticated,
            require_verified=True,
        )
        destination = _destination_payable(user)
        if destination.currency != currency:
            raise PayoutCurrencyMismatch(details={"currency": destination.currency})
        if method == PayoutMethod.INSTANT and not destination.instant_available:
            raise InstantPayoutUnavailable(details={"destination": destination.kind})
        hold = hold_create(
            code=PAYOUT_CODE,
            idempotency_key=hold_key,
            postings=postings,
            reference=f"payout-request:{user.pk}",
            metadata={"method": method},
        )
        # A request with the same key that got here first committed its hold and its
        # payout together (hold_create waited for it), so its payout is visible now.
        existing = Payout.objects.filter(hold_id=hold.pk).first()
        if existing is not None:
            return existing
        if hold.status != HoldStatus.PENDING:
            # Unreachable while a hold and its payout commit together; refuse rather than
            # attach a payout to a resolved hold.
            raise PayoutRequestExpired()
        payout = Payout.objects.create(
            user=user,
            destination=destination,
            hold=hold,
            amount=quote.amount.amount,
            fee=quote.fee.amount,
            currency=currency,
            method=method,
            processor=destination.processor,
            arrival_date=quote.arrival_estimate,
        )
        PayoutEvent.objects.create(
            payout=payout, from_status="", to_status=PayoutStatus.REQUESTED, source="api"
        )
        payout_id = payout.pk
        # The sweeper re-drives a requested payout whose task never reached the broker.
        publish_on_commit(lambda: payout_submit_enqueue(payout_id=payout_id), task="payouts.submit")
    log.info("payout.requested", payout_id=payout.pk, amount=payout.amount, currency=currency)
    return payout


@dataclass(frozen=True, slots=True)
class PayoutConversion:
    """A payout from a wallet in another currency: the FX quote that converts first (rate,
    FX fee, expiry) and the payout it pays for. Shown in full before the person confirms."""

    payout: PayoutQuote
    fx_quote_id: str
    source: Money  # what leaves the wallet the person pays from
    fx_fee: Money  # in the payout's currency, on top of the rate's mid-market value
    mid_rate: Decimal  # mid-market, target currency per source currency
    expires_at: datetime


def payout_destination_currency(*, user: User) -> str | None:
    """The currency payouts to ``user``'s active bank account are made in."""
    return (
        PayoutDestination.objects.filter(user=user, status=PayoutDestination.Status.ACTIVE)
        .values_list("currency", flat=True)
        .first()
    )


def payout_conversion_quote(
    *, user: User, amount: Money, method: str, from_currency: str
) -> PayoutConversion:
    """Price a payout of ``amount`` (in the bank account's currency) paid from the wallet in
    ``from_currency``: the payout's own fee and arrival, and an FX quote for exactly what
    the payout takes from a wallet (``amount`` + its fee). Moves no money; the quote
    expires after ``FX_QUOTE_TTL_SECONDS``. Raises ``NoPayoutDestination``,
    ``PayoutCurrencyMismatch``, ``InvalidPayoutMethod``, and the FX pricing errors
    (``same_currency``, ``amount_too_small``, ``rate_stale`` ...)."""
    from payments.fx.services import fx_quote_create

    currency = payout_destination_currency(user=user)
    if currency is None:
        raise NoPayoutDestination()
    if amount.currency != currency:
        raise PayoutCurrencyMismatch(details={"currency": currency})
    payout = payout_quote(amount=amount, method=method)
    fx = fx_quote_create(
        user=user,
        source_currency=from_currency,
        target_currency=currency,
        target_amount=payout.total.amount,
    )
    return PayoutConversion(
        payout=payout,
        fx_quote_id=str(fx.pk),
        source=Money(fx.source_amount, fx.source_currency),
        fx_fee=Money(fx.fee_amount, fx.target_currency),
        mid_rate=fx.mid_rate,
        expires_at=fx.expires_at,
    )


def payout_request_converted(
    *,
    user: User,
    amount: Money,
    method: str,
    fx_quote_id: str,
    request_key: str,
    reauthenticated: bool | None = None,
) -> Payout:
    """Convert at the FX quote, then request the payout, in one transaction: if the payout
    is refused (hold, verification, step-up, funds) the conversion is rolled back too, so
    a confirmed step either does both or nothing.

    The quote must be ``user``'s, unused, unexpired, and pay for exactly this payout (its
    target is ``amount`` + the payout's fee, in the bank account's currency). The same
    ``request_key`` returns the same payout (and converts nothing again).
    Locks: as ``fx_conversion_execute`` (the source wallet), then as ``payout_request``.
    Raises ``PayoutQuoteMismatch``, ``quote_expired``/``quote_used``/``not_found``, and
    whatever ``payout_request`` raises.
    """
    from payments.fx import selectors as fx_selectors
    from payments.fx.services import fx_conversion_execute

    existing = Payout.objects.filter(
        user=user, hold__idempotency_key=_request_hold_key(user.pk, request_key)
    ).first()
    if existing is not None:
        return existing
    total = payout_quote(amount=amount, method=method).total
    quote = fx_selectors.quote_get(user=user, quote_id=fx_quote_id)
    if (quote.target_currency, quote.target_amount) != (total.currency, total.amount):
        raise PayoutQuoteMismatch(
            details={
                "quote_target": {"amount": quote.target_amount, "currency": quote.target_currency}
            }
        )
    # The caller's transaction when there is one (the API's idempotent request is one).
    with transaction.atomic():
        fx_conversion_execute(user=user, quote_id=quote.pk)
        payout = payout_request(
            user=user,
            amount=amount,
            method=method,
            request_key=request_key,
            reauthenticated=reauthenticated,
        )
    log.info("payout.converted", payout_id=payout.pk, fx_quote=str(quote.pk))
    return payout


def payout_submit_enqueue(*, payout_id: int, countdown: float = 0) -> None:
    from payments.payouts.tasks import payout_submit_task

    options: dict = {"countdown": countdown}
    if settings.PAYOUTS_QUEUE:
        options["queue"] = settings.PAYOUTS_QUEUE
    payout_submit_task.apply_async((payout_id,), **options)


# --- status changes --------------------------------------------------------------------------
def _transition(payout: Payout, to_status: str, *, source: str, detail: dict | None = None) -> bool:
    """Change the status of a LOCKED payout and log it. Returns False for a repeat of the
    current status; raises ``IllegalPayoutTransition`` (after logging the refusal) otherwise.
    The caller holds the row lock inside its own transaction."""
    if payout.status == to_status:
        return False
    if to_status not in TRANSITIONS[payout.status]:
        log.warning(
            "payout.illegal_transition",
            payout_id=payout.pk,
            from_status=payout.status,
            to_status=to_status,
            source=source,
        )
        raise IllegalPayoutTransition(
            details={"payout": payout.pk, "from": payout.status, "to": to_status}
        )
    PayoutEvent.objects.create(
        payout=payout,
        from_status=payout.status,
        to_status=to_status,
        source=source,
        detail=detail or {},
    )
    payout.status = to_status
    payout.updated_at = timezone.now()
    return True


def _log_refusal(payout_id: int, from_status: str, to_status: str, source: str, detail: dict):
    """Refused transitions are kept too (append-only), in their own small transaction."""
    PayoutEvent.objects.create(
        payout_id=payout_id,
        from_status=from_status,
        to_status=to_status,
        accepted=False,
        source=source,
        detail=detail,
    )


def payout_transition(
    *, payout_id: int, to_status: str, source: str, detail: dict | None = None, **fields
) -> Payout:
    """Move a payout to ``to_status`` (and set ``fields``), book its ledger effects and
    write its receipt, in one transaction.

    Raises ``IllegalPayoutTransition`` (the refusal is logged as an event). A repeat of
    the current status changes nothing. Locks: the payout row, then (the ledger) the hold
    row and the wallet.
    """
    with transaction.atomic(durable=True):
        payout = (
            Payout.objects.select_for_update(of=("self",)).select_related("user").get(pk=payout_id)
        )
        from_status = payout.status
        try:
            changed = _transition(payout, to_status, source=source, detail=detail)
        except IllegalPayoutTransition:
            _log_refusal(payout_id, from_status, to_status, source, detail or {})
            refused = True
        else:
            refused = False
            for name, value in fields.items():
                if value is not None and not getattr(payout, name):
                    setattr(payout, name, value)
            payout.save()
            if changed:
                _receipt(payout)
            # The status, its ledger effects and its receipt commit together.
            payout_ledger_sync(payout_id=payout_id)
    if refused:
        raise IllegalPayoutTransition(
            details={"payout": payout_id, "from": from_status, "to": to_status}
        )
    return Payout.objects.get(pk=payout_id)


# Subject and text of the receipt for each outcome the person is told about.
_RECEIPT_TEXT = {
    PayoutStatus.PAID: (
        _("Your payout was paid"),
        _("Your payout of %(amount)s was paid."),
    ),
    PayoutStatus.FAILED: (
        _("Your payout failed"),
        _("Your payout of %(amount)s failed: %(reason)s The money is back in your wallet."),
    ),
    PayoutStatus.REVERSED: (
        _("Your bank returned your payout"),
        _(
            "Your bank returned your payout of %(amount)s: %(reason)s The money is back in "
            "your wallet."
        ),
    ),
}


def _receipt(payout: Payout) -> None:
    """The person's receipt of a final status, in the transaction that sets it (the
    outbox): a committed status is always told, a rolled-back one never."""
    if payout.status not in _RECEIPT_TEXT:
        return
    if payout.status in (PayoutStatus.PAID, PayoutStatus.FAILED):
        event_emit(
            f"payout.{payout.status}",
            payout.user_id,
            {
                "payout": payout.pk,
                "amount": Money(payout.amount, payout.currency).as_dict(),
                "fee": Money(payout.fee, payout.currency).as_dict(),
                "method": payout.method,
                "arrival_date": payout.arrival_date.isoformat() if payout.arrival_date else None,
                "failure_code": payout.failure_code or None,
            },
        )
    subject, text = _RECEIPT_TEXT[payout.status]
    payment_receipts(
        event=f"payout:{payout.pk}:{payout.status}",
        target_type="payout",
        target_id=payout.pk,
        # The hold is posted only when the payout is paid: the payouts page shows them all.
        link=reverse("payments:payouts"),
        money=Money(payout.amount, payout.currency),
        data={
            "amount": payout.amount,
            "currency": payout.currency,
            "failure_message": payout.failure_message,
        },
        params={
            "reason": lambda: payout.failure_message or str(_("no reason given")),
            "id": payout.pk,
        },
        sides=[
            ReceiptSide(
                role="owner",
                user=payout.user,
                kind=f"payout_{payout.status}",
                subject=subject,
                body=[text, _("Payout #%(id)d.")],
                text=text,
            )
        ],
    )


# --- the ledger, derived from the status -----------------------------------------------------
def payout_ledger_sync(*, payout_id: int) -> Payout:
    """Book whatever the payout's status implies and is not booked yet. Idempotent.

    Locks: nothing of ours across ledger calls; the final update re-checks the status.
    """
    payout = Payout.objects.select_related("hold").get(pk=payout_id)
    status = payout.status
    if status == payout.ledger_status:
        return payout
    if status == PayoutStatus.FAILED:
        ledger_hold_void(hold=payout.hold_id)
    elif status in {PayoutStatus.PAID, PayoutStatus.REVERSED}:
        paid_entry, settle_entry = _book_paid(payout)
        if status == PayoutStatus.REVERSED:
            _reverse_once(settle_entry, f"payout:{payout.pk}:unsettle")
            _reverse_once(paid_entry, f"payout:{payout.pk}:unpay")
    Payout.objects.filter(pk=payout.pk, status=status).update(ledger_status=status)
    payout.ledger_status = status
    return payout


def _reverse_once(entry: Entry, key: str) -> Entry:
    try:
        return entry_reverse(entry=entry, idempotency_key=key)
    except EntryAlreadyReversed:
        # A concurrent sync won the race. Asked again, the ledger returns its reversal when
        # it used the same key, and raises again if something is very wrong.
        return entry_reverse(entry=entry, idempotency_key=key)


def _book_paid(payout: Payout) -> tuple[Entry, Entry]:
    paid_entry = hold_post(hold=payout.hold_id, idempotency_key=f"payout:{payout.pk}:paid")
    money = Money(payout.amount, payout.currency)
    settle_entry = entry_post(
        code=SETTLE_CODE,
        idempotency_key=f"payout:{payout.pk}:settle",
        reference=f"payout:{payout.pk}",
        postings=[
            debit(chart.payouts_in_transit_key(payout.currency), money),
            credit(chart.processor_clearing_key(payout.processor, payout.currency), money),
        ],
        metadata={"processor_payout_id": payout.processor_payout_id or ""},
    )
    return paid_entry, settle_entry


# --- submission ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    status: str
    retry_in: float | None = None


def _backoff(attempts: int) -> float:
    return float(min(settings.PAYOUT_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), 3600))


def payout_submit(*, payout_id: int, source: str = "task") -> SubmitOutcome:
    """Send the payout to the processor with the key ``payout:{id}``; safe to run any
    number of times, concurrently or after a crash at any line: the processor returns the
    payout it already has for that key, and the status moves forward only.

    Locks: the payout row (twice, in two short transactions, never across the call).
    """
    with transaction.atomic(durable=True):
        payout = (
            Payout.objects.select_for_update()
            .select_related("destination", "user")
            .get(pk=payout_id)
        )
        if payout.status not in {PayoutStatus.REQUESTED, PayoutStatus.SUBMITTING}:
            return SubmitOutcome(status=payout.status)
        _transition(payout, PayoutStatus.SUBMITTING, source=source)
        payout.attempts += 1
        payout.next_attempt_at = None
        payout.updated_at = timezone.now()  # the sweeper waits a full period from here
        payout.save()
        account = PayoutAccount.objects.get(user_id=payout.user_id)
    processor = get_processor(payout.processor)
    request = PayoutRequest(
        amount=payout.amount,
        currency=payout.currency,
        destination=account.account_id,
        idempotency_key=payout.processor_key,
        method=payout.method,
        description=f"SocialPay payout {payout.pk}",
        metadata={"payout_id": str(payout.pk)},
        # A card is named; a bank account is the processor's default for the currency.
        external_account=(
            payout.destination.bank_account_id
            if payout.destination.kind == PayoutDestination.Kind.CARD
            else None
        ),
    )
    try:
        remote = processor.create_payout(request)
    except TransientProcessorError as exc:
        return _submit_transient(payout_id, exc)
    except PermanentProcessorError as exc:
        payout = _apply_or_ignore(
            payout_id,
            PayoutStatus.FAILED,
            source=source,
            detail={"code": exc.code},
            failure_code=exc.code[:64],
            failure_message=exc.message[:500],
        )
        return SubmitOutcome(status=payout.status)
    if settings.PAYOUTS_CHAOS_PAUSE_SECONDS:
        time.sleep(settings.PAYOUTS_CHAOS_PAUSE_SECONDS)
    payout = payout_apply_remote(payout_id=payout_id, remote=remote, source=source)
    return SubmitOutcome(status=payout.status)


def _submit_transient(payout_id: int, exc: TransientProcessorError) -> SubmitOutcome:
    with transaction.atomic(durable=True):
        payout = (
            Payout.objects.select_for_update(of=("self",)).select_related("user").get(pk=payout_id)
        )
        payout.last_error = f"{exc.code}: {exc.message}"[:500]
        retry_in = _backoff(payout.attempts)
        payout.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        payout.updated_at = timezone.now()
        payout.save()
    log.warning("payout.submit_transient", payout_id=payout_id, code=exc.code)
    if payout.attempts >= settings.PAYOUT_SUBMIT_MAX_ATTEMPTS:
        # Never failed on our side: the processor may have it. The sweeper keeps asking.
        return SubmitOutcome(status=payout.status)
    return SubmitOutcome(status=payout.status, retry_in=retry_in)


_REMOTE_TO_OURS = {
    RemoteStatus.PENDING: PayoutStatus.PENDING,
    RemoteStatus.IN_TRANSIT: PayoutStatus.PENDING,
    RemoteStatus.PAID: PayoutStatus.PAID,
    RemoteStatus.FAILED: PayoutStatus.FAILED,
    RemoteStatus.CANCELED: PayoutStatus.FAILED,
}


def _apply_or_ignore(payout_id: int, to_status: str, *, source: str, **kwargs) -> Payout:
    try:
        return payout_transition(payout_id=payout_id, to_status=to_status, source=source, **kwargs)
    except IllegalPayoutTransition:
        # A late or reordered message (payout.paid after we saw it fail): logged, no effect.
        return Payout.objects.get(pk=payout_id)


def payout_apply_remote(*, payout_id: int, remote, source: str) -> Payout:
    """Bring our payout in line with the processor's view of it (``remote``: a
    ``payments.processors.Payout``). A failure after ``paid`` is a reversal. Idempotent."""
    target = _REMOTE_TO_OURS[RemoteStatus(remote.status)]
    current = Payout.objects.only("status").get(pk=payout_id).status
    if target == PayoutStatus.FAILED and current in {PayoutStatus.PAID, PayoutStatus.REVERSED}:
        target = PayoutStatus.REVERSED  # the bank returned a paid payout
    elif target == PayoutStatus.PENDING and current not in {
        PayoutStatus.REQUESTED,
        PayoutStatus.SUBMITTING,
    }:
        target = current  # "still pending" says nothing new to a payout past that point
    return _apply_or_ignore(
        payout_id,
        target,
        source=source,
        detail={"remote_status": str(remote.status), "remote_id": remote.id},
        processor_payout_id=remote.id,
        failure_code=(remote.failure_code or "")[:64] or None,
        failure_message=(remote.failure_message or "")[:500] or None,
    )


# --- scheduled payouts ------------------------------------------------------------------------
def payouts_scheduled_run(*, today: date | None = None) -> int:
    """Pay out the whole available balance of everyone on the weekly schedule (beat, on
    Mondays). The request key names the ISO week, so a second run in the same week pays
    nothing twice. Returns how many payouts were requested."""
    from core.exceptions import DomainError
    from ledger.errors import AccountNotFound
    from ledger.selectors import balance_of

    today = today or timezone.now().date()
    year, week, _ = today.isocalendar()
    requested = 0
    destinations = PayoutDestination.objects.filter(
        status=PayoutDestination.Status.ACTIVE, schedule=PayoutSchedule.WEEKLY
    ).select_related("user")
    for destination in destinations.iterator(chunk_size=500):
        user = destination.user
        try:
            balance = balance_of(account=chart.wallet_key(user.pk, destination.currency))
        except AccountNotFound:
            continue
        if balance.available.amount <= 0:
            continue
        try:
            payout_request(
                user=user,
                amount=balance.available,
                method=PayoutMethod.STANDARD,
                request_key=f"scheduled:{year}-W{week:02d}:{destination.currency}",
            )
        except DomainError as exc:
            log.info("payout.scheduled_skipped", user_id=user.pk, code=exc.code)
            continue
        requested += 1
    return requested


# --- the sweeper -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SweepReport:
    resubmitted: int = 0
    checked: int = 0
    ledger_synced: int = 0


def payouts_sweep(*, now=None) -> SweepReport:
    """Re-drive every payout stuck in a non-final state (no lost work):

    - ``requested``/``submitting`` untouched for ``PAYOUT_STUCK_AFTER_SECONDS`` (a lost or
      killed task): submitted again with the same key, here and now;
    - ``pending`` for ``PAYOUT_PENDING_CHECK_SECONDS`` (a lost webhook): the processor is
      asked (``retrieve_payout``) and its answer applied;
    - a status whose ledger effects are missing: booked (a status change books them in its
      own transaction, so only a failed sync can leave this).
    """
    now = now or timezone.now()
    batch = settings.PAYOUT_SWEEP_BATCH
    stuck_before = now - timedelta(seconds=settings.PAYOUT_STUCK_AFTER_SECONDS)
    resubmitted = checked = synced = 0
    stuck = list(
        Payout.objects.filter(
            status__in=[PayoutStatus.REQUESTED, PayoutStatus.SUBMITTING],
            updated_at__lt=stuck_before,
        )
        .exclude(next_attempt_at__gt=now)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:batch]
    )
    for payout_id in stuck:
        payout_submit(payout_id=payout_id, source="sweeper")
        resubmitted += 1
    pending_before = now - timedelta(seconds=settings.PAYOUT_PENDING_CHECK_SECONDS)
    pending = Payout.objects.filter(
        status=PayoutStatus.PENDING, updated_at__lt=pending_before
    ).order_by("updated_at")[:batch]
    for payout in pending:
        payout_refresh(payout_id=payout.pk, source="sweeper")
        checked += 1
    from django.db.models import F

    unsynced = Payout.objects.exclude(ledger_status=F("status")).values_list("pk", flat=True)[
        :batch
    ]
    for payout_id in unsynced:
        payout_ledger_sync(payout_id=payout_id)
        synced += 1
    report = SweepReport(resubmitted, checked, synced)
    if any((resubmitted, checked, synced)):
        log.info("payout.sweep", **asdict(report))
    return report


def payout_refresh(*, payout_id: int, source: str = "sweeper") -> Payout:
    """Ask the processor about a payout it has and apply the answer."""
    payout = Payout.objects.select_related("user").get(pk=payout_id)
    if not payout.processor_payout_id:
        return payout
    account = PayoutAccount.objects.get(user_id=payout.user_id)
    try:
        remote = get_processor(payout.processor).retrieve_payout(
            payout.processor_payout_id, destination=account.account_id
        )
    except TransientProcessorError:
        return payout
    with transaction.atomic(durable=True):
        # Touch it so the next sweep waits again instead of asking at once.
        Payout.objects.filter(pk=payout_id, status=payout.status).update(updated_at=timezone.now())
    return payout_apply_remote(payout_id=payout_id, remote=remote, source=source)


__all__ = [
    "PayoutConversion",
    "PayoutQuote",
    "SubmitOutcome",
    "SweepReport",
    "instant_fee_minimum",
    "payout_apply_remote",
    "payout_card_add",
    "payout_conversion_quote",
    "payout_destination_add",
    "payout_destination_currency",
    "payout_ledger_sync",
    "payout_onboarding_link",
    "payout_quote",
    "payout_refresh",
    "payout_request",
    "payout_request_converted",
    "payout_schedule_set",
    "payout_submit",
    "payout_submit_enqueue",
    "payout_transition",
    "payouts_scheduled_run",
    "payouts_sweep",
]
