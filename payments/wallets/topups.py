"""Top-ups: money added to a wallet by card, through the configured processor.

1. Record the intent: a ``TopUp`` row (``created``), committed. ``client_key`` is unique
   per user, so a retried request finds this row instead of charging twice.
2. Call the processor (no transaction open) with idempotency key ``topup:{id}`` and the
   row id in the payment's metadata (``topup_id``): the webhook may arrive before this
   call returns, and it finds the row by that id.
3. Record the result in a new transaction: ``pending`` (accepted; the wallet is credited
   by the webhook), ``requires_action`` (the cardholder must authenticate, then
   ``topup_confirm``), or ``failed`` (declined: ``CardDeclined``, 402, nothing credited).
4. ``topup_settle`` (the ``payment_intent.succeeded`` webhook): checks that the event's
   payment is this top-up's own (the recorded payment id, amount, currency, the platform's
   account; a failed top-up stays failed), reads the fee with ``retrieve_payment`` and, in
   one transaction, books two entries with keys derived from the row id —
   ``topup:{id}:credit`` (D processor clearing, C wallet) and ``topup:{id}:fee``
   (D processor_fees, C clearing) — and marks the row ``succeeded``. Duplicate and
   out-of-order webhooks credit once; a payment id is bound to at most one top-up
   (a unique index), so one payment never credits two.
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
from payments.wallets.selectors import payment_detail_url

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


class TopUpPaymentMismatch(Exception):
    """A processor event names a top-up that its payment does not belong to: another
    payment id than the one recorded, another amount, currency or processor account, a
    payment already bound to another top-up, or a top-up that failed. Nothing is credited;
    the webhook event ends ``failed`` with this message, for staff to look at (a real
    charge left uncredited also shows in reconciliation)."""


def _binding_check(topup: TopUp, *, payment_id: str, account: str | None) -> None:
    """Refuse an event that cannot be this top-up's own payment. Raises
    ``TopUpPaymentMismatch``."""
    if account:
        # Top-ups are charged on the platform's own processor account; an event of a
        # connected account is some other business's payment.
        raise TopUpPaymentMismatch(f"top-up {topup.pk}: event of connected account {account}")
    if topup.status == TopUp.Status.FAILED:
        raise TopUpPaymentMismatch(f"top-up {topup.pk} failed; it can never succeed later")
    if topup.payment_id and topup.payment_id != payment_id:
        raise TopUpPaymentMismatch(
            f"top-up {topup.pk} was charged as {topup.payment_id}, not {payment_id}"
        )


def topup_settle(*, topup_id: int, payment_id: str, account: str | None = None) -> TopUp | None:
    """Credit a top-up the processor reports as succeeded, exactly once, and only with its
    own payment.

    Called by the webhook handler (outside any transaction) with the event's payment id
    and processor account. The binding is checked before anything is read from the
    processor and again under the row lock: the payment must be the one recorded when
    the top-up was charged (or, when the event overtook that answer, one whose metadata
    names this top-up), of the same amount and currency, on the platform's own account;
    a failed top-up stays failed. The processor's own record of the payment (not the
    event body) supplies the status, amount and fee. One durable transaction then books
    the credit and the fee (ledger keys derived from the row id), binds the payment id
    (unique per processor: one payment never credits two top-ups) and marks the row
    ``succeeded``.

    Locks: the ``TopUp`` row (``FOR UPDATE``), then the ledger's accounts. Raises
    ``TopUpPaymentMismatch``; processor errors propagate (the handler retries transient
    ones). Returns None for an unknown id.
    """
    topup = TopUp.objects.filter(pk=topup_id).first()
    if topup is None:
        return None
    _binding_check(topup, payment_id=payment_id, account=account)
    if topup.status == TopUp.Status.SUCCEEDED:
        return topup
    payment = get_processor(topup.processor).retrieve_payment(payment_id)
    if payment.status != PaymentStatus.SUCCEEDED:
        return topup  # an out-of-order or stale event: the succeeded one will follow
    if payment.id != payment_id or payment.metadata.get("topup_id") != str(topup.pk):
        raise TopUpPaymentMismatch(f"payment {payment_id} was not made for top-up {topup.pk}")
    if (payment.amount, payment.currency) != (topup.amount, topup.currency):
        raise TopUpPaymentMismatch(f"top-up {topup.pk} does not match payment {payment.id}")
    money = Money(topup.amount, topup.currency)
    clearing = chart.processor_clearing_key(topup.processor, topup.currency)
    fee = payment.fee or 0
    try:
        with transaction.atomic(durable=True):
            locked = TopUp.objects.select_for_update().get(pk=topup.pk)
            _binding_check(locked, payment_id=payment.id, account=account)
            if locked.status == TopUp.Status.SUCCEEDED:
                return locked
            credit = ledger.entry_post(
                code="topup",
                idempotency_key=f"topup:{locked.pk}:credit",
                postings=[
                    ledger.debit(clearing, money),
                    ledger.credit(chart.wallet_key(locked.user_id, money.currency), money),
                ],
                reference=f"topup:{locked.pk}",
                metadata={"payment": payment.id},
            )
            if fee > 0:
                fee_money = Money(fee, locked.currency)
                ledger.entry_post(
                    code="processor_fee",
                    idempotency_key=f"topup:{locked.pk}:fee",
                    postings=[
                        ledger.debit(chart.processor_fees_key(locked.currency), fee_money),
                        ledger.credit(clearing, fee_money),
                    ],
                    reference=f"topup:{locked.pk}",
                    metadata={"payment": payment.id},
                )
            locked.status = TopUp.Status.SUCCEEDED
            locked.payment_id = payment.id
            locked.fee = fee
            locked.credit_entry_id = credit.pk
            locked.decline_code = ""
            locked.failure_message = ""
            locked.save()  # the unique (processor, payment_id) index refuses a second binding
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
                link=payment_detail_url("topup", locked.pk),
            )
    except IntegrityError as exc:
        if "topup_payment_once" not in str(exc):
            raise
        raise TopUpPaymentMismatch(
            f"payment {payment.id} already credited another top-up"
        ) from None
    return locked


def topup_fail_from_processor(
    *, topup_id: int, decline_code: str, message: str, payment_id: str = ""
) -> None:
    """A ``payment_intent.payment_failed`` webhook: mark the row failed unless it already
    succeeded (events arrive in any order; success is final). An event about another
    payment than the one recorded for the top-up changes nothing."""
    with transaction.atomic(durable=True):
        locked = TopUp.objects.select_for_update().filter(pk=topup_id).first()
        if locked is None or locked.status in {TopUp.Status.SUCCEEDED, TopUp.Status.FAILED}:
            return
        if locked.payment_id and payment_id and locked.payment_id != payment_id:
            return
        locked.status = TopUp.Status.FAILED
        locked.decline_code = (decline_code or "")[:64]
        locked.failure_message = (message or "")[:300]
        locked.save()
