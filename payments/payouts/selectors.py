"""Reads for payouts: a person's own payouts and destination. Someone else's payout is
not found, exactly like a missing one."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from payments.payouts.errors import PayoutNotFound
from payments.payouts.models import Payout, PayoutDestination

MAX_PAGE = 100


def payout_get_for_owner(*, user: User, payout_id) -> Payout:
    """Raises ``PayoutNotFound`` for a missing id, a malformed one or someone else's."""
    if type(payout_id) is not int:
        try:
            payout_id = int(str(payout_id))
        except ValueError:
            raise PayoutNotFound() from None
    payout = (
        Payout.objects.filter(pk=payout_id, user=user).select_related("destination").first()
        if 0 < payout_id < 2**63
        else None
    )
    if payout is None:
        raise PayoutNotFound()
    return payout


def payouts_of(*, user: User) -> QuerySet[Payout]:
    return Payout.objects.filter(user=user).select_related("destination").order_by("-id")


def payout_destination_active(*, user: User) -> PayoutDestination | None:
    return PayoutDestination.objects.filter(
        user=user, status=PayoutDestination.Status.ACTIVE
    ).first()
