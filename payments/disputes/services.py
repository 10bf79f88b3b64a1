"""Dispute services: chargebacks on card payments, driven by the processor's webhooks.

Money moves only on ``funds_withdrawn`` and ``funds_reinstated`` (``A`` = disputed amount,
``W`` = what the owner's wallet holds then, ``P`` = the processor):

=================  =========================================================================
funds withdrawn    D wallet:owner min(A, W) · D losses A - min(A, W) · C processor_clearing:P A
                   (a leg of 0 is left out); a shortfall freezes the owner for review
funds reinstated   the withdrawal entry reversed, once: the wallet and the loss account get
                   back exactly what they gave
=================  =========================================================================

The processor's own dispute fee is not booked here (it reaches us only on the balance
transaction); reconciliation reports it.

Who owns a disputed payment: the functions named in ``PAYMENTS_DISPUTE_OWNER_RESOLVERS``
are asked in order with ``(processor, payment_id)``; the default reads the ``user_id`` the
payment was created with (its metadata, echoed by the processor), after
``owner_from_topup`` (the wallet's ``TopUp`` rows, by processor payment id). A payment
feature that stores its payments (card purchases) adds a resolver that looks its table up.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import User
from core.money import Money
from ledger import chart
from ledger.errors import (
    AccountNotFound,
    EntryAlreadyReversed,
    IdempotencyKeyReused,
    InsufficientFunds,
)
from ledger.models import Direction
from ledger.selectors import balance_of, entry_by_key, entry_postings
from ledger.services import credit, debit, entry_post, entry_reverse
from payments.disputes.models import Dispute
from payments.processors.base import Dispute as RemoteDispute
from payments.processors.base import ProcessorError, get_processor
from payments.wallets.events import event_emit

log = structlog.get_logger(__name__)

WITHDRAW_CODE = "dispute_withdrawal"
CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed", "charge_refunded"})
_WITHDRAW_TRIES = 3


def owner_from_topup(processor: str, payment_id: str) -> int | None:
    """The person whose card top-up this payment is (the wallet's ``TopUp`` rows)."""
    from django.apps import apps

    try:
        topup_model = apps.get_model("payments", "TopUp")
    except LookupError:  # the wallet feature is not installed
        return None
    return (
        topup_model.objects.filter(processor=processor, payment_id=payment_id)
        .values_list("user_id", flat=True)
        .first()
    )


def owner_from_payment_metadata(processor: str, payment_id: str) -> int | None:
    """The ``user_id`` a payment was created with (``PaymentRequest.metadata``)."""
    try:
        payment = get_processor(processor).retrieve_payment(payment_id)
    except ProcessorError:
        return None
    raw = payment.metadata.get("user_id", "")
    return int(raw) if raw.isascii() and raw.isdigit() else None


def dispute_owner_resolve(*, processor: str, payment_id: str) -> int | None:
    for path in settings.PAYMENTS_DISPUTE_OWNER_RESOLVERS:
        user_id = import_string(path)(processor, payment_id)
        if user_id is not None and User.objects.filter(pk=user_id).exists():
            return user_id
    return None


def dispute_record(*, processor: str, remote: RemoteDispute) -> Dispute:
    """Create or update our row for a processor dispute (no money moves). Idempotent."""
    existing = Dispute.objects.filter(processor=processor, processor_dispute_id=remote.id).first()
    user_id = existing.user_id if existing else None
    if existing is None and remote.payment_id:
        # Outside any transaction: the resolver may ask the processor.
        user_id = dispute_owner_resolve(processor=processor, payment_id=remote.payment_id)
    with transaction.atomic(durable=True):
        dispute, created = Dispute.objects.select_for_update().get_or_create(
            processor=processor,
            processor_dispute_id=remote.id,
            defaults={
                "payment_id": remote.payment_id or remote.charge_id or "",
                "user_id": user_id,
                "amount": remote.amount,
                "currency": remote.currency,
                "status": remote.status,
                "reason": (remote.reason or "")[:64],
                "needs_review": user_id is None,
            },
        )
        if created:
            event_emit(
                "dispute.opened",
                user_id,
                {
                    "dispute": dispute.pk,
                    "amount": Money(dispute.amount, dispute.currency).as_dict(),
                    "reason": dispute.reason,
                    "status": dispute.status,
                },
            )
        # A closed dispute stays closed whatever late event arrives.
        if not created and dispute.status not in CLOSED_STATUSES:
            dispute.status = remote.status
            dispute.updated_at = timezone.now()
            dispute.save(update_fields=["status", "updated_at"])
    if created:
        log.info("dispute.created", dispute_id=dispute.pk, user_id=user_id)
    return dispute


def dispute_funds_withdraw(*, dispute_id: int) -> Dispute:
    """Book the withdrawal once (see the module docstring). Raises nothing for a repeat."""
    dispute = Dispute.objects.get(pk=dispute_id)
    if dispute.withdrawn_entry_id is not None:
        return dispute
    key = f"dispute:{dispute.pk}:withdrawn"
    entry = None
    for _ in range(_WITHDRAW_TRIES):
        try:
            entry = entry_post(
                code=WITHDRAW_CODE,
                idempotency_key=key,
                postings=_withdrawal_legs(dispute),
                reference=f"dispute:{dispute.pk}",
                metadata={"processor_object": dispute.processor_dispute_id},
            )
            break
        except InsufficientFunds:
            continue  # the wallet was spent meanwhile: read it again
        except IdempotencyKeyReused:
            entry = entry_by_key(idempotency_key=key)  # another run booked it first
            break
    if entry is None:
        raise InsufficientFunds(details={"dispute": dispute.pk})
    # Read back from the entry (another run may have booked it with other amounts).
    wallet = chart.wallet_key(dispute.user_id, dispute.currency) if dispute.user_id else None
    losses = chart.losses_key(dispute.currency)
    wallet_debited = shortfall = 0
    for posting in entry_postings(entry_id=entry.pk):
        if posting.direction == Direction.DEBIT and posting.account == wallet:
            wallet_debited = posting.money.amount
        if posting.account == losses:
            shortfall = posting.money.amount
    with transaction.atomic(durable=True):
        dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
        if dispute.withdrawn_entry_id is None:
            dispute.withdrawn_entry = entry
            dispute.wallet_debited = wallet_debited
            dispute.shortfall = shortfall
            dispute.funds = Dispute.Funds.WITHDRAWN
            dispute.needs_review = dispute.needs_review or shortfall > 0
            dispute.updated_at = timezone.now()
            dispute.save()
            if shortfall and dispute.user_id:
                # The owner owes the platform: no more spending or payouts until staff look.
                User.objects.filter(pk=dispute.user_id).update(
                    is_frozen=True,
                    frozen_reason=f"Chargeback shortfall on dispute {dispute.pk}"[:200],
                )
    log.info("dispute.funds_withdrawn", dispute_id=dispute.pk, shortfall=shortfall)
    return dispute


def _withdrawal_legs(dispute: Dispute):
    currency = dispute.currency
    total = Money(dispute.amount, currency)
    available = 0
    if dispute.user_id:
        try:
            available = balance_of(account=chart.wallet_key(dispute.user_id, currency)).available
            available = available.amount
        except AccountNotFound:
            available = 0
    take = max(0, min(dispute.amount, available))
    legs = [credit(chart.processor_clearing_key(dispute.processor, currency), total)]
    if take:
        legs.append(debit(chart.wallet_key(dispute.user_id, currency), Money(take, currency)))
    if dispute.amount - take:
        legs.append(debit(chart.losses_key(currency), Money(dispute.amount - take, currency)))
    return legs


def dispute_funds_reinstate(*, dispute_id: int) -> Dispute:
    """Reverse the withdrawal once. If the reinstatement arrives first (reordered events),
    the withdrawal is booked before it is reversed, so the end state is the same."""
    dispute = dispute_funds_withdraw(dispute_id=dispute_id)
    if dispute.reinstated_entry_id is not None:
        return dispute
    key = f"dispute:{dispute.pk}:reinstated"
    try:
        entry = entry_reverse(entry=dispute.withdrawn_entry, idempotency_key=key)
    except EntryAlreadyReversed:
        entry = entry_by_key(idempotency_key=key)
    with transaction.atomic(durable=True):
        dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
        if dispute.reinstated_entry_id is None:
            dispute.reinstated_entry = entry
            dispute.funds = Dispute.Funds.REINSTATED
            dispute.updated_at = timezone.now()
            dispute.save()
    log.info("dispute.funds_reinstated", dispute_id=dispute.pk)
    return dispute


def dispute_review_done(*, dispute_id: int, actor: User, at: datetime | None = None) -> Dispute:
    """Staff took the dispute off the queue (the account's freeze is a separate decision)."""
    with transaction.atomic(durable=True):
        dispute = Dispute.objects.select_for_update().get(pk=dispute_id)
        dispute.needs_review = False
        dispute.updated_at = at or timezone.now()
        dispute.save(update_fields=["needs_review", "updated_at"])
    log.info("dispute.reviewed", dispute_id=dispute_id, actor_id=actor.pk)
    return dispute
