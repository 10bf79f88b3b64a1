"""Money requests: "@bob, please pay me 12.00 · 🍕".

open → paying → paid (one ``Transfer`` with client key ``request:{id}``, so paying twice
pays once) | open → declined (by the payer) | open → cancelled (by the requester).
``paying`` is taken under the request's row lock before the transfer runs, so a request
cannot be cancelled while its money is moving; if the transfer is refused (insufficient
funds, limits) the request goes back to ``open``.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.language import in_language_of
from accounts.models import User
from core.money import Money, currency_require_supported
from payments.wallets.errors import AccountFrozen, InvalidState, RequestNotFound
from payments.wallets.models import MoneyRequest, Transfer
from payments.wallets.receipts import receipt_send
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
            with in_language_of(payer_user):
                params = {
                    "handle": requester.handle,
                    "amount": money.format(),
                    "note": f" · {note}" if note else "",
                }
                subject = _("@%(handle)s asks you for %(amount)s") % params
                body = _("@%(handle)s asks you for %(amount)s%(note)s.") % params
            receipt_send(
                key=f"request:{req.pk}:received",
                kind="request_received",
                recipient_id=payer_user.pk,
                actor_id=requester.pk,
                target_type="money_request",
                target_id=req.pk,
                data={"amount": money.as_dict(), "note": note},
                subject=subject,
                body=body,
            )
    except IntegrityError:
        return MoneyRequest.objects.get(requester=requester, client_key=client_key)
    return req


def _locked(request_id: int) -> MoneyRequest:
    return MoneyRequest.objects.select_for_update().get(pk=request_id)


def request_pay(*, user: User, request_id: int) -> MoneyRequest:
    """The payer pays an open request (a transfer); paying a paid request returns it.
    Raises ``RequestNotFound`` (not the payer), ``InvalidState``, and everything
    ``transfer_create`` raises."""
    req = MoneyRequest.objects.filter(pk=request_id, payer=user).first()
    if req is None:
        raise RequestNotFound()
    if user.is_frozen:
        raise AccountFrozen()
    with transaction.atomic(durable=True):
        locked = _locked(req.pk)
        if locked.status == MoneyRequest.Status.PAID:
            return MoneyRequest.objects.select_related("requester", "payer").get(pk=req.pk)
        if locked.status not in {MoneyRequest.Status.OPEN, MoneyRequest.Status.PAYING}:
            raise InvalidState(details={"status": locked.status})
        locked.status = MoneyRequest.Status.PAYING
        locked.save(update_fields=["status"])
    try:
        transfer = transfer_create(
            sender=user,
            to=req.requester,
            money=Money(req.amount, req.currency),
            note=req.note,
            visibility=user.payment_visibility_default,
            client_key=f"request:{req.pk}",
        )
    except Exception:
        with transaction.atomic(durable=True):
            MoneyRequest.objects.filter(
                pk=req.pk, status=MoneyRequest.Status.PAYING, transfer__isnull=True
            ).update(status=MoneyRequest.Status.OPEN)
        raise
    _request_mark_paid(request_id=req.pk, transfer=transfer)
    return MoneyRequest.objects.select_related("requester", "payer").get(pk=req.pk)


def _request_mark_paid(*, request_id: int, transfer: Transfer) -> None:
    with transaction.atomic(durable=True):
        locked = _locked(request_id)
        if locked.status == MoneyRequest.Status.PAID:
            return
        locked.status = MoneyRequest.Status.PAID
        locked.transfer = transfer
        locked.resolved_at = timezone.now()
        locked.save(update_fields=["status", "transfer", "resolved_at"])


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
            other = locked.requester_id if as_payer else locked.payer_id
            kind = "request_declined" if as_payer else "request_cancelled"
            verb = "declined" if as_payer else "cancelled"
            with in_language_of(other):
                params = {"handle": user.handle, "id": locked.pk}
                if as_payer:
                    subject = _("@%(handle)s declined a money request") % params
                    body = _("@%(handle)s declined the request #%(id)d.") % params
                else:
                    subject = _("@%(handle)s cancelled a money request") % params
                    body = _("@%(handle)s cancelled the request #%(id)d.") % params
            receipt_send(
                key=f"request:{locked.pk}:{verb}",
                kind=kind,
                recipient_id=other,
                actor_id=user.pk,
                target_type="money_request",
                target_id=locked.pk,
                subject=subject,
                body=body,
            )
    return MoneyRequest.objects.select_related("requester", "payer").get(pk=request_id)
