"""Top-ups: money added to a wallet by card, through the configured processor.

1. Record the intent: a ``TopUp`` row (``created``), committed. ``client_key`` is unique
   per user, so a retried request finds this row instead of charging twice.
2. Call the processor (no transaction open) with idempotency key ``topup:{id}`` and the
   row id in the payment's metadata (``topup_id``): the webhook may arrive before this
   call returns, and it finds the row by that id.
3. Record the result in a new transaction: ``pending`` (accepted; the wallet is credited
   by the webhook), ``requires_action`` (the cardholder must authenticate, then
   ``topup_confirm``), or ``failed`` (declined: ``CardDeclined``, 402, nothing credited).
4. ``topup_settle`` (the ``payment_intent.succeeded`` webhook): reads the fee with
   ``retrieve_payment`` and books two entries with keys derived from the row id —
   ``topup:{id}:credit`` (D processor clearing, C wallet) and ``topup:{id}:fee``
   (D processor_fees, C clearing) — then marks the row ``succeeded``. Each step is
   idempotent, so duplicate and out-of-order webhooks credit once.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from accounts.language import in_language_of
from accounts.models import User
from core.money import Money, currency_require_supported
from ledger import chart
from ledger import services as ledger
from payments.processors.base import (
    CardDeclined as ProcessorCardDeclined,
)
from payments.processors.base import (
    Payment,
    PaymentRequest,
    PaymentStatus,
    PermanentProcessorError,
    TransientProcessorError,
    get_processor,
)
from payments.wallets.errors import (
    AccountFrozen,
    CardDeclined,
    InvalidPaymentMethod,
    InvalidState,
    LimitExceeded,
    ProcessorUnavailable,
    TopUpNotFound,
)
from payments.wallets.limits import limit_amount
from payments.wallets.models import TopUp
from payments.wallets.receipts import receipt_send

# A processor token (pm_…); anything looking like a card number is refused before it is
# stored or logged anywhere.
_PAYMENT_METHOD = re.compile(r"pm_[A-Za-z0-9_]{1,96}")


def topup_create(*, user: User, money: Money, payment_method: str, client_key: str) -> TopUp:
    """Charge ``payment_method`` and (once the processor confirms) credit the wallet.

    Raises ``InvalidPaymentMethod``, ``AccountFrozen``, ``LimitExceeded`` (over
    ``WALLET_TOPUP_MAX``), ``CardDeclined`` (402, with ``decline_code``),
    ``ProcessorUnavailable`` (503: retry with the same key), money errors.
    """
    if not isinstance(payment_method, str) or not _PAYMENT_METHOD.fullmatch(payment_method):
        raise InvalidPaymentMethod()
    if user.is_frozen:
        raise AccountFrozen(_("Your account is frozen: it cannot add money. Contact support."))
    currency_require_supported(money.currency)
    if limit_amount(money) > settings.WALLET_TOPUP_MAX:
        raise LimitExceeded(
            _("This top-up is over the largest amount allowed at once."),
            details={
                "limit": "topup_max",
                "max": {"amount": settings.WALLET_TOPUP_MAX, "currency": "USD"},
            },
        )
    processor = get_processor()
    try:
        with transaction.atomic(durable=True):
            topup = TopUp.objects.create(
                user=user,
                amount=money.amount,
                currency=money.currency,
                payment_method=payment_method,
                processor=processor.name,
                client_key=client_key,
            )
    except IntegrityError:
        topup = TopUp.objects.get(user=user, client_key=client_key)
        if topup.status != TopUp.Status.CREATED:
            return _raise_if_failed(topup)
    try:
        payment = processor.create_payment(
            PaymentRequest(
                amount=topup.amount,
                currency=topup.currency,
                payment_method=topup.payment_method,
                idempotency_key=f"topup:{topup.pk}",
                description=f"SocialPay top-up #{topup.pk}",
                metadata={"topup_id": str(topup.pk)},
            )
        )
    except ProcessorCardDeclined as exc:
        _record_decline(topup, exc)
        return _raise_if_failed(topup)
    except TransientProcessorError as exc:
        raise ProcessorUnavailable() from exc
    except PermanentProcessorError as exc:
        if exc.code in {"resource_missing", "parameter_invalid"}:
            TopUp.objects.filter(pk=topup.pk, status=TopUp.Status.CREATED).delete()
            raise InvalidPaymentMethod() from exc
        _record_decline(topup, exc)
        return _raise_if_failed(topup)
    return _record_payment(topup, payment)


def _record_payment(topup: TopUp, payment: Payment) -> TopUp:
    status = {
        PaymentStatus.REQUIRES_ACTION: TopUp.Status.REQUIRES_ACTION,
        PaymentStatus.SUCCEEDED: TopUp.Status.PENDING,
        PaymentStatus.PROCESSING: TopUp.Status.PENDING,
    }.get(payment.status)
    with transaction.atomic(durable=True):
        locked = TopUp.objects.select_for_update().get(pk=topup.pk)
        locked.payment_id = payment.id
        # The webhook may already have settled it: never move a final state backwards.
        if status and locked.status in {TopUp.Status.CREATED, TopUp.Status.REQUIRES_ACTION}:
            locked.status = status
        locked.save(update_fields=["payment_id", "status", "updated_at"])
    return locked


def _record_decline(topup: TopUp, exc: PermanentProcessorError) -> None:
    with transaction.atomic(durable=True):
        locked = TopUp.objects.select_for_update().get(pk=topup.pk)
        if locked.status == TopUp.Status.SUCCEEDED:
            return
        locked.status = TopUp.Status.FAILED
        locked.decline_code = (exc.decline_code or exc.code or "")[:64]
        locked.failure_message = (exc.message or "")[:300]
        if exc.payment_id:
            locked.payment_id = exc.payment_id
        locked.save()
    topup.refresh_from_db()


def _raise_if_failed(topup: TopUp) -> TopUp:
    if topup.status == TopUp.Status.FAILED:
        raise CardDeclined(
            topup.failure_message or None,
            details={"decline_code": topup.decline_code, "topup": topup.pk},
        )
    return topup


def topup_confirm(*, user: User, topup_id: int) -> TopUp:
    """Confirm a ``requires_action`` top-up after the cardholder authenticated.
    Raises ``TopUpNotFound``, ``InvalidState``, ``CardDeclined``, ``ProcessorUnavailable``."""
    topup = TopUp.objects.filter(pk=topup_id, user=user).first()
    if topup is None:
        raise TopUpNotFound()
    if topup.status in {TopUp.Status.PENDING, TopUp.Status.SUCCEEDED}:
        return topup
    if topup.status != TopUp.Status.REQUIRES_ACTION or not topup.payment_id:
        raise InvalidState(details={"status": topup.status})
    try:
        payment = get_processor(topup.processor).confirm_payment(
            topup.payment_id, idempotency_key=f"topup:{topup.pk}:confirm"
        )
    except ProcessorCardDeclined as exc:
        _record_decline(topup, exc)
        return _raise_if_failed(topup)
    except TransientProcessorError as exc:
        raise ProcessorUnavailable() from exc
    return _record_payment(topup, payment)


def topup_settle(*, topup_id: int, payment_id: str) -> TopUp | None:
    """Credit a top-up the processor reports as succeeded, exactly once.

    Called by the webhook handler (outside any transaction). Reads the payment (and its
    fee) from the processor, books the credit and the fee entries (ledger keys derived
    from the row id) and marks the row ``succeeded``. Returns None for an unknown id.
    """
    topup = TopUp.objects.filter(pk=topup_id).first()
    if topup is None:
        return None
    if topup.status == TopUp.Status.SUCCEEDED:
        return topup
    payment = get_processor(topup.processor).retrieve_payment(payment_id)
    if payment.status != PaymentStatus.SUCCEEDED:
        return topup  # an out-of-order or stale event: the succeeded one will follow
    if (payment.amount, payment.currency) != (topup.amount, topup.currency):
        raise ValueError(f"top-up {topup.pk} does not match payment {payment.id}")
    money = Money(topup.amount, topup.currency)
    clearing = chart.processor_clearing_key(topup.processor, topup.currency)
    credit = ledger.entry_post(
        code="topup",
        idempotency_key=f"topup:{topup.pk}:credit",
        postings=[
            ledger.debit(clearing, money),
            ledger.credit(chart.wallet_key(topup.user_id, money.currency), money),
        ],
        reference=f"topup:{topup.pk}",
        metadata={"payment": payment.id},
    )
    fee = payment.fee or 0
    if fee > 0:
        fee_money = Money(fee, topup.currency)
        ledger.entry_post(
            code="processor_fee",
            idempotency_key=f"topup:{topup.pk}:fee",
            postings=[
                ledger.debit(chart.processor_fees_key(topup.currency), fee_money),
                ledger.credit(clearing, fee_money),
            ],
            reference=f"topup:{topup.pk}",
            metadata={"payment": payment.id},
        )
    with transaction.atomic(durable=True):
        locked = TopUp.objects.select_for_update().get(pk=topup.pk)
        if locked.status != TopUp.Status.SUCCEEDED:
            locked.status = TopUp.Status.SUCCEEDED
            locked.payment_id = payment.id
            locked.fee = fee
            locked.credit_entry_id = credit.pk
            locked.decline_code = ""
            locked.failure_message = ""
            locked.save()
            with in_language_of(locked.user_id):
                params = {"amount": money.format(), "id": locked.pk}
                subject = _("You added %(amount)s to your wallet") % params
                body = _("Your top-up #%(id)d of %(amount)s is in your wallet.") % params
            receipt_send(
                key=f"topup:{locked.pk}:succeeded",
                kind="topup_succeeded",
                recipient_id=locked.user_id,
                target_type="topup",
                target_id=locked.pk,
                data={"amount": money.as_dict()},
                subject=subject,
                body=body,
            )
    return locked


def topup_fail_from_processor(*, topup_id: int, decline_code: str, message: str) -> None:
    """A ``payment_intent.payment_failed`` webhook: mark the row failed unless it already
    succeeded (events arrive in any order; success is final)."""
    with transaction.atomic(durable=True):
        locked = TopUp.objects.select_for_update().filter(pk=topup_id).first()
        if locked is None or locked.status in {TopUp.Status.SUCCEEDED, TopUp.Status.FAILED}:
            return
        locked.status = TopUp.Status.FAILED
        locked.decline_code = (decline_code or "")[:64]
        locked.failure_message = (message or "")[:300]
        locked.save()
