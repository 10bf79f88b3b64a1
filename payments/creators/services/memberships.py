"""Memberships: a creator's tiers, fans joining them (the first period paid at once), monthly
renewals by Celery beat, grace periods and cancellation.

Joining and each renewal are one transaction of the package's shape. A renewal decides on
the membership's locked row: due and live, it charges the period (one ``MembershipCharge``
per period start, retried while the membership is past due) or, when the wallet cannot
pay or the member is frozen, puts the membership ``past_due`` until the grace period ends
and then ``expired``. Renewals skip the step-up and the send limits (nobody is present;
the member authorised them when joining), never the freeze.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.money import Money
from core.text import text_clean
from ledger import chart
from ledger.errors import InsufficientFunds
from ledger.models import Entry
from payments.creators import errors
from payments.creators.fees import fee_quote
from payments.creators.models import (
    TIER_NAME_MAX_LENGTH,
    TIER_PERKS_MAX_LENGTH,
    Membership,
    MembershipCharge,
    MembershipTier,
    PayStatus,
)
from payments.creators.services.common import SWEEP_BATCH, amount_check, payee_check, split_entry
from payments.wallets.errors import AccountFrozen
from payments.wallets.events import event_emit
from payments.wallets.payer import payer_check
from payments.wallets.receipts import ReceiptSide, payment_receipts
from payments.wallets.selectors import payment_detail_url

LIVE = (Membership.Status.PENDING, Membership.Status.ACTIVE, Membership.Status.PAST_DUE)


def _period() -> timedelta:
    return timedelta(days=settings.CREATOR_MEMBERSHIP_PERIOD_DAYS)


def tier_create(*, creator: User, name: str, price: Money, perks: str = "") -> MembershipTier:
    name = text_clean(
        value=name, max_length=TIER_NAME_MAX_LENGTH, field="name", allow_newlines=False
    )
    if not name:
        raise errors.InvalidChoice("The tier needs a name.", details={"field": "name"})
    perks = text_clean(value=perks or "", max_length=TIER_PERKS_MAX_LENGTH, field="perks")
    amount_check(money=price)
    try:
        with transaction.atomic():
            return MembershipTier.objects.create(
                creator=creator,
                name=name,
                price_amount=price.amount,
                price_currency=price.currency,
                perks=perks,
            )
    except IntegrityError:
        raise errors.InvalidChoice(
            "You already have a tier with this name.", details={"field": "name"}
        ) from None


def membership_subscribe(
    *, member: User, tier_id: int, reauthenticated: bool | None = None
) -> Membership:
    """Join a tier, paying the first period from the wallet now.

    One transaction: the payer check and limit reservation, the membership and its first
    charge, the entry (D wallet:member · C wallet:creator · C fees), both marked paid, the
    receipts. Locks: the member's user row (share) and ``SendLimit`` row, the member's
    wallet.
    Raises ``TierNotFound`` (blocked too), ``CannotPaySelf``, ``AlreadyMember``,
    ``AccountFrozen``, ``LimitExceeded``/``VelocityExceeded``, ``ReauthenticationRequired``,
    ``InsufficientFunds`` (nothing is kept).
    """
    if type(tier_id) is not int or tier_id <= 0:
        raise errors.TierNotFound()
    tier = (
        MembershipTier.objects.select_related("creator").filter(pk=tier_id, is_active=True).first()
    )
    if tier is None:
        raise errors.TierNotFound()
    if tier.creator_id == member.pk:
        raise errors.CannotPaySelf()
    payee_check(payer=member, payee=tier.creator, not_found=errors.TierNotFound)
    if _live(member=member, creator_id=tier.creator_id):
        raise errors.AlreadyMember()
    quote = fee_quote(kind="membership", gross=Money(tier.price_amount, tier.price_currency))
    try:
        with transaction.atomic():
            payer_check(
                payer_id=member.pk,
                money=quote.gross,
                reauthenticated=reauthenticated,
                reserve=True,
            )
            now = timezone.now()
            membership = Membership.objects.create(
                tier=tier,
                member=member,
                creator_id=tier.creator_id,
                current_period_start=now,
                current_period_end=now,
            )
            charge = MembershipCharge.objects.create(
                membership=membership,
                period_start=now,
                period_end=now + _period(),
                amount=quote.gross.amount,
                fee=quote.fee.amount,
                currency=quote.gross.currency,
                attempts=1,
            )
            entry = _charge_entry(membership=membership, charge=charge)
            _charge_paid(membership=membership, charge=charge, entry=entry)
    except IntegrityError:
        # A concurrent join to the same creator committed first (one live membership).
        if _live(member=member, creator_id=tier.creator_id):
            raise errors.AlreadyMember() from None
        raise
    return membership


def _live(*, member: User, creator_id: int) -> bool:
    return Membership.objects.filter(member=member, creator_id=creator_id, status__in=LIVE).exists()


def _charge_entry(*, membership: Membership, charge: MembershipCharge) -> Entry:
    quote = fee_quote(kind="membership", gross=Money(charge.amount, charge.currency))
    return split_entry(
        code="creator.membership",
        idempotency_key=f"creators:membership-charge:{charge.pk}",
        payer_key=chart.wallet_key(membership.member_id, charge.currency),
        payee_key=chart.wallet_key(membership.creator_id, charge.currency),
        quote=quote,
        reference=f"membership:{membership.pk}",
        metadata={"charge": charge.pk},
    )


def _charge_paid(*, membership: Membership, charge: MembershipCharge, entry: Entry) -> None:
    """Inside the charge's transaction, the membership locked or just created: the charge
    completed, the membership active for the charge's period, the receipts."""
    MembershipCharge.objects.filter(pk=charge.pk).update(
        status=PayStatus.COMPLETED, entry=entry, completed_at=timezone.now()
    )
    charge.status, charge.entry = PayStatus.COMPLETED, entry
    joined = membership.status == Membership.Status.PENDING
    membership.status = Membership.Status.ACTIVE
    membership.current_period_start = charge.period_start
    membership.current_period_end = charge.period_end
    membership.grace_until = None
    membership.save(
        update_fields=["status", "current_period_start", "current_period_end", "grace_until"]
    )
    tier = membership.tier
    member, creator = membership.member, tier.creator
    data = {
        "membership": membership.pk,
        "tier": {"id": tier.pk, "name": tier.name},
        "charge": charge.pk,
        "amount": Money(charge.amount, charge.currency).as_dict(),
        "member": member.handle,
        "creator": creator.handle,
        "current_period_end": membership.current_period_end.isoformat(),
    }
    kind = "membership.started" if joined else "membership.renewed"
    event_emit(kind, creator.pk, data)
    event_emit(kind, member.pk, data)
    if joined:
        sides = [
            ReceiptSide(
                role="creator",
                user=creator,
                other=member,
                kind="membership_joined",
                subject=_("@%(handle)s joined %(tier)s"),
                body=[_("@%(handle)s joined %(tier)s and paid %(amount)s.")],
                text=_("joined %(tier)s"),
            ),
            ReceiptSide(
                role="member",
                user=member,
                other=creator,
                kind="membership_paid",
                subject=_("You joined %(tier)s of @%(handle)s"),
                body=[_("You joined %(tier)s of @%(handle)s and paid %(amount)s.")],
                text=_("— you joined %(tier)s for %(amount)s."),
            ),
        ]
    else:
        sides = [
            ReceiptSide(
                role="member",
                user=member,
                other=creator,
                kind="membership_renewed",
                subject=_("Your membership %(tier)s of @%(handle)s renewed"),
                body=[_("Your membership %(tier)s of @%(handle)s renewed for %(amount)s.")],
                text=_("— your membership %(tier)s renewed for %(amount)s."),
            )
        ]
    payment_receipts(
        event=f"membership-charge:{charge.pk}",
        target_type="membership",
        target_id=membership.pk,
        link=payment_detail_url("membership", membership.pk, entry_id=charge.entry_id),
        money=Money(charge.amount, charge.currency),
        data={"tier": tier.name, "membership": membership.pk, "charge": charge.pk},
        params={"tier": tier.name},
        sides=sides,
    )


def membership_cancel(*, member: User, membership_id: int) -> Membership:
    """Stop renewals; access continues until the end of the paid period. The first
    cancellation emits ``membership.cancelled`` in the same transaction."""
    with transaction.atomic():
        updated = Membership.objects.filter(
            pk=membership_id,
            member=member,
            status__in=[Membership.Status.ACTIVE, Membership.Status.PAST_DUE],
            cancel_at_period_end=False,
        ).update(cancel_at_period_end=True)
        if not Membership.objects.filter(pk=membership_id, member=member).exists():
            raise errors.MembershipNotFound()
        membership = Membership.objects.select_related("tier__creator").get(pk=membership_id)
        if updated:
            data = {
                "membership": membership.pk,
                "tier": {"id": membership.tier_id, "name": membership.tier.name},
                "member": member.handle,
                "creator": membership.tier.creator.handle,
                "current_period_end": membership.current_period_end.isoformat(),
            }
            event_emit("membership.cancelled", membership.tier.creator_id, data)
            event_emit("membership.cancelled", member.pk, data)
    return membership


def membership_renew(*, membership_id: int, now: datetime | None = None) -> Membership:
    """Renew one due membership (Celery beat), in one transaction on its locked row.

    A run before the period ends, a second run, or a run for an ended membership changes
    nothing. A cancelled membership ends. Otherwise the period's charge is paid (or, when
    the wallet cannot pay or the member is frozen, the membership goes past due, then
    expires after the grace period). Locks: the membership row, then the member's user row
    (share) and wallet.
    """
    now = now or timezone.now()
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("tier__creator", "member")
            .get(pk=membership_id)
        )
        live = (Membership.Status.ACTIVE, Membership.Status.PAST_DUE)
        if membership.status not in live or membership.current_period_end > now:
            return membership
        if membership.cancel_at_period_end:
            membership.status = Membership.Status.CANCELED
            membership.save(update_fields=["status"])
            return membership
        tier = membership.tier
        quote = fee_quote(kind="membership", gross=Money(tier.price_amount, tier.price_currency))
        charge, _created = MembershipCharge.objects.get_or_create(
            membership=membership,
            period_start=membership.current_period_end,
            defaults={
                "period_end": membership.current_period_end + _period(),
                "amount": quote.gross.amount,
                "fee": quote.fee.amount,
                "currency": quote.gross.currency,
            },
        )
        if charge.status != PayStatus.PENDING:
            return membership
        MembershipCharge.objects.filter(pk=charge.pk).update(attempts=F("attempts") + 1)
        try:
            # Nobody is present: no step-up, no limits; a freeze still stops the payment.
            payer_check(payer_id=membership.member_id, money=None, reauthenticated=None)
            entry = _charge_entry(membership=membership, charge=charge)
        except (AccountFrozen, InsufficientFunds):
            _charge_unpaid(membership=membership, charge=charge, now=now)
            return membership
        _charge_paid(membership=membership, charge=charge, entry=entry)
    return membership


def _charge_unpaid(*, membership: Membership, charge: MembershipCharge, now: datetime) -> None:
    """A renewal that could not be paid, inside its transaction: past due until the grace
    period ends (the member told once), then expired (the charge failed, the member told)."""
    grace_until = membership.grace_until or (
        membership.current_period_end + timedelta(days=settings.CREATOR_MEMBERSHIP_GRACE_DAYS)
    )
    if now >= grace_until:
        MembershipCharge.objects.filter(pk=charge.pk, status=PayStatus.PENDING).update(
            status=PayStatus.FAILED
        )
        membership.status = Membership.Status.EXPIRED
        membership.save(update_fields=["status"])
        side = ReceiptSide(
            role="member",
            user=membership.member,
            kind="membership_expired",
            subject=_("Your membership ended"),
            body=[_("Your membership ended: the renewal could not be paid")],
            text=_("Your membership ended: the renewal could not be paid"),
        )
        event = f"membership:{membership.pk}:expired"
    else:
        first_failure = membership.status != Membership.Status.PAST_DUE
        membership.status = Membership.Status.PAST_DUE
        membership.grace_until = grace_until
        membership.save(update_fields=["status", "grace_until"])
        if not first_failure:
            return
        late = _("Your membership renewal could not be paid; add money before %(date)s to keep it")
        side = ReceiptSide(
            role="member",
            user=membership.member,
            kind="membership_past_due",
            subject=_("Your membership renewal could not be paid"),
            body=[late],
            text=late,
        )
        event = f"membership-charge:{charge.pk}:past-due"
    payment_receipts(
        event=event,
        target_type="membership",
        target_id=membership.pk,
        money=None,
        data={"membership": membership.pk, "grace_until": grace_until.isoformat()},
        params={"date": lambda: date_format(grace_until, "DATE_FORMAT")},
        sides=[side],
    )


def memberships_renew_due(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """Renew (or retry, or end) every membership whose period is over. Returns how many
    were looked at."""
    now = now or timezone.now()
    ids = list(
        Membership.objects.filter(
            status__in=[Membership.Status.ACTIVE, Membership.Status.PAST_DUE],
            current_period_end__lte=now,
        )
        .order_by("current_period_end")
        .values_list("pk", flat=True)[:limit]
    )
    for membership_id in ids:
        membership_renew(membership_id=membership_id, now=now)
    return len(ids)
