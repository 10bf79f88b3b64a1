"""Money requests: "@bob, please pay me 12.00 · 🍕".

open → paid (one ``Transfer`` with client key ``request:{id}``, so paying twice pays once)
| open → declined (by the payer) | open → cancelled (by the requester).

Paying is one transaction, the transfer's shape: the request's row lock, then the transfer
(its payer check, limits, entry and receipts) and the request marked paid, committed
together. A refused transfer (insufficient funds, limits, step-up) rolls it all back: the
request is still open. ``paying`` is a state only older rows can be in; paying finishes
them the same way.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.money import Money, currency_require_supported
from payments.wallets.errors import InvalidState, RequestNotFound
from payments.wallets.events import event_emit
from payments.wallets.models import MoneyRequest
from payments.wallets.receipts import ReceiptSide, payment_receipts
from payments.wallets.text import note_clean
from payments.wallets.transfers import recipient_resolve, transfer_create

OPEN_PER_PAIR_MAX = 20  # a limit on everything: no flooding a person with requests


def request_create(
    *, requester: User, payer: str | User, money: Money, client_key: str, note: str = ""
) -> MoneyRequest:
    """Ask ``payer`` (handle or User) for ``money``. Idempotent per ``client_key``.
    Raises ``RecipientNotFound`` (unknown, inactive or blocked: one answer),
    ``AccountsMustBeDifferent``, ``InvalidNote``, ``InvalidState`` (too many open), money
    errors."""
    payer_user = recipient_resolve(sender=requester, to=payer)
    currency_require_supported(money.currency)
    note = note_clean(note)
    existing = MoneyRequest.objects.filter(requester=requester, client_key=client_key).first()
    if existing is not None:
        return existing
    open_count = MoneyRequest.objects.filter(
        requester=requester, payer=payer_user, status=MoneyRequest.Status.OPEN
    ).count()
    if open_count >= OPEN_PER_PAIR_MAX:
        raise InvalidState(
            _("Too many open requests to this person."), details={"open": open_count}
        )
    try:
        with transaction.atomic(durable=True):
            req = MoneyRequest.objects.create(
                requester=requester,
                payer=payer_user,
                amount=money.amount,
                currency=money.currency,
                note=note,
                client_key=client_key,
            )
            payment_receipts(
                event=f"request:{req.pk}",
                target_type="money_request",
                target_id=req.pk,
                money=money,
                data={"amount": money.as_dict(), "note": note},
                params={"note": f" · {note}" if note else ""},
                sides=[
                    ReceiptSide(
                        role="received",
                        user=payer_user,
                        other=requester,
                        kind="request_received",
                        subject=_("@%(handle)s asks you for %(amount)s"),
                        body=[_("@%(handle)s asks you for %(amount)s%(note)s.")],
                    )
                ],
            )
    except IntegrityError:
        return MoneyRequest.objects.get(requester=requester, client_key=client_key)
    return req


def _locked(request_id: int) -> MoneyRequest:
    return (
        MoneyRequest.objects.select_for_update(of=("self",))
        .select_related("requester", "payer")
        .get(pk=request_id)
    )


def request_pay(
    *, user: User, request_id: int, reauthenticated: bool | None = None
) -> MoneyRequest:
    """The payer pays an open request (a transfer); paying a paid request returns it.

    One transaction (the caller's, or its own). Locks: the request row, then what
    ``transfer_create`` locks. ``reauthenticated``: what the request proved (step-up).
    Raises ``RequestNotFound`` (not the payer), ``InvalidState``, and everything
    ``transfer_create`` raises.
    """
    if not MoneyRequest.objects.filter(pk=request_id, payer=user).exists():
        raise RequestNotFound()
    with transaction.atomic():
        locked = _locked(request_id)
        if locked.status == MoneyRequest.Status.PAID:
            return MoneyRequest.objects.select_related("requester", "payer").get(pk=request_id)
        if locked.status not in {MoneyRequest.Status.OPEN, MoneyRequest.Status.PAYING}:
            raise InvalidState(details={"status": locked.status})
        transfer = transfer_create(
            sender=user,
            to=locked.requester,
            money=Money(locked.amount, locked.currency),
            note=locked.note,
            visibility=user.payment_visibility_default,
            client_key=f"request:{locked.pk}",
            reauthenticated=reauthenticated,
        )
        locked.status = MoneyRequest.Status.PAID
        locked.transfer_id = transfer.pk
        locked.resolved_at = timezone.now()
        locked.save(update_fields=["status", "transfer", "resolved_at"])
        event_emit(
            "request.paid",
            locked.requester_id,
            {
                "request": locked.pk,
                "transfer": transfer.pk,
                "amount": Money(locked.amount, locked.currency).as_dict(),
                "payer": user.handle,
            },
        )
    return MoneyRequest.objects.select_related("requester", "payer").get(pk=request_id)


def request_decline(*, user: User, request_id: int) -> MoneyRequest:
    """The payer declines an open request (declining twice is a no-op)."""
    return _close(
        user=user, request_id=request_id, as_payer=True, status=MoneyRequest.Status.DECLINED
    )


def request_cancel(*, user: User, request_id: int) -> MoneyRequest:
    """The requester withdraws an open request (cancelling twice is a no-op)."""
    return _close(
        user=user, request_id=request_id, as_payer=False, status=MoneyRequest.Status.CANCELLED
    )


def _close(*, user: User, request_id: int, as_payer: bool, status: str) -> MoneyRequest:
    owner = {"payer": user} if as_payer else {"requester": user}
    if not MoneyRequest.objects.filter(pk=request_id, **owner).exists():
        # The other party of the request gets the same answer as a stranger.
        raise RequestNotFound()
    with transaction.atomic(durable=True):
        locked = _locked(request_id)
        if locked.status == status:
            pass
        elif locked.status != MoneyRequest.Status.OPEN:
            raise InvalidState(details={"status": locked.status})
        else:
            locked.status = status
            locked.resolved_at = timezone.now()
            locked.save(update_fields=["status", "resolved_at"])
            other = locked.requester if as_payer else locked.payer
            payment_receipts(
                event=f"request:{locked.pk}",
                target_type="money_request",
                target_id=locked.pk,
                money=None,
                params={"id": locked.pk},
                sides=[
                    ReceiptSide(
                        role="declined",
                        user=other,
                        other=user,
                        kind="request_declined",
                        subject=_("@%(handle)s declined a money request"),
                        body=[_("@%(handle)s declined the request #%(id)d.")],
                    )
                    if as_payer
                    else ReceiptSide(
                        role="cancelled",
                        user=other,
                        other=user,
                        kind="request_cancelled",
                        subject=_("@%(handle)s cancelled a money request"),
                        body=[_("@%(handle)s cancelled the request #%(id)d.")],
                    )
                ],
            )
    return MoneyRequest.objects.select_related("requester", "payer").get(pk=request_id)
