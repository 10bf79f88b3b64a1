"""The detail pages of creator payments (tips, unlocks, orders, membership charges), built
for the wallet's payment page (``payments.wallets.selectors.payment_detail``), which asks
through the registry filled in ``CreatorsConfig.ready``.

The platform fee is its own line (it is its own ledger posting); ``net`` is the creator's
share. Each builder reads one row with its people in one query.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from core.money import Money
from payments.creators.models import Membership, MembershipCharge, Order, Tip, Unlock
from payments.creators.selectors import _title
from payments.wallets.selectors import PaymentAction, PaymentDetail


def _fee_lines(fee: int, currency: str) -> tuple[tuple[str, Money], ...]:
    return ((_("Platform fee (from the creator's share)"), Money(fee, currency)),) if fee else ()


def tip_detail(*, viewer: User, ident: str, entry_id: int | None) -> PaymentDetail | None:
    if not ident.isdigit():
        return None
    tip = Tip.objects.select_related("tipper", "creator", "post").filter(pk=int(ident)).first()
    if tip is None:
        return None
    sent = tip.tipper_id == viewer.pk
    other = tip.creator if sent else tip.tipper
    args = {"handle": other.handle}
    if tip.post_id:
        args["title"] = _title(tip.post.text)
        title = (
            _("Tip to @%(handle)s for %(title)s")
            if sent
            else _("Tip from @%(handle)s for %(title)s")
        )
        again = reverse("payments:tip-post", args=[tip.post_id])
    else:
        title = _("Tip to @%(handle)s") if sent else _("Tip from @%(handle)s")
        again = reverse("payments:tip-jar", args=[tip.creator.handle])
    actions = (PaymentAction(_("Tip again"), again, primary=True),) if sent else ()
    if tip.post_id:
        actions += (PaymentAction(_("Open the post"), reverse("posts:detail", args=[tip.post_id])),)
    return PaymentDetail(
        kind="tip",
        ident=ident,
        kind_label=_("Tip"),
        title=title % args,
        payer=tip.tipper,
        payee=tip.creator,
        amount=Money(tip.amount, tip.currency),
        fees=_fee_lines(tip.fee, tip.currency),
        net=Money(tip.amount - tip.fee, tip.currency),
        status=tip.status,
        created_at=tip.created_at,
        parties=frozenset({tip.tipper_id, tip.creator_id}),
        note=tip.message,
        entry_id=tip.entry_id,
        actions=actions,
    )


def unlock_detail(*, viewer: User, ident: str, entry_id: int | None) -> PaymentDetail | None:
    if not ident.isdigit():
        return None
    unlock = Unlock.objects.select_related("buyer", "creator", "post").filter(pk=int(ident)).first()
    if unlock is None:
        return None
    bought = unlock.buyer_id == viewer.pk
    other = unlock.creator if bought else unlock.buyer
    args = {"handle": other.handle, "title": _title(unlock.post.text)}
    title = (
        _("Unlocked %(title)s by @%(handle)s") if bought else _("@%(handle)s unlocked %(title)s")
    )
    return PaymentDetail(
        kind="unlock",
        ident=ident,
        kind_label=_("Paid post"),
        title=title % args,
        payer=unlock.buyer,
        payee=unlock.creator,
        amount=Money(unlock.amount, unlock.currency),
        fees=_fee_lines(unlock.fee, unlock.currency),
        net=Money(unlock.amount - unlock.fee, unlock.currency),
        status=unlock.status,
        created_at=unlock.created_at,
        parties=frozenset({unlock.buyer_id, unlock.creator_id}),
        entry_id=unlock.entry_id,
        actions=(
            PaymentAction(_("Read the post"), reverse("posts:detail", args=[unlock.post_id])),
        ),
    )


def order_detail(*, viewer: User, ident: str, entry_id: int | None) -> PaymentDetail | None:
    if not ident.isdigit():
        return None
    order = Order.objects.select_related("buyer", "seller", "product").filter(pk=int(ident)).first()
    if order is None:
        return None
    bought = order.buyer_id == viewer.pk
    other = order.seller if bought else order.buyer
    args = {"handle": other.handle, "title": _title(order.product.title)}
    title = _("%(title)s from @%(handle)s") if bought else _("%(title)s sold to @%(handle)s")
    page = reverse("payments:order", args=[order.pk])
    fees = _fee_lines(order.fee, order.currency)
    if order.refunded_amount:
        fees += ((_("Refunded"), Money(order.refunded_amount, order.currency)),)
    if bought:
        actions = (
            PaymentAction(_("Order details"), page, primary=True),
            PaymentAction(_("Buy again"), reverse("payments:buy", args=[order.product_id])),
        )
    else:
        actions = (PaymentAction(_("Order details"), page, primary=True),)
        if order.status in Order.IN_ESCROW:
            # The order's page holds the refund form (whole or part, with a reason).
            actions += (PaymentAction(_("Refund"), f"{page}#refund"),)
    return PaymentDetail(
        kind="order",
        ident=ident,
        kind_label=_("Order"),
        title=title % args,
        payer=order.buyer,
        payee=order.seller,
        amount=Money(order.amount, order.currency),
        fees=fees,
        net=Money(order.amount - order.fee - order.refunded_amount, order.currency),
        status=order.status,
        status_kind="order",
        created_at=order.created_at,
        parties=frozenset({order.buyer_id, order.seller_id}),
        entry_id=entry_id or order.payment_entry_id,
        actions=actions,
        extra=((_("Quantity"), str(order.quantity)),),
    )


def membership_detail(*, viewer: User, ident: str, entry_id: int | None) -> PaymentDetail | None:
    """One monthly charge of a membership: the one booked as ``entry_id``, else the newest."""
    if not ident.isdigit():
        return None
    m = Membership.objects.select_related("member", "creator", "tier").filter(pk=int(ident)).first()
    if m is None:
        return None
    charges = MembershipCharge.objects.filter(membership=m)
    charge = (charges.filter(entry_id=entry_id).first() if entry_id else None) or charges.order_by(
        "-id"
    ).first()
    if charge is None:
        return None
    joined = m.member_id == viewer.pk
    other = m.creator if joined else m.member
    args = {"handle": other.handle, "tier": _title(m.tier.name)}
    title = (
        _("Membership %(tier)s with @%(handle)s")
        if joined
        else _("Membership %(tier)s of @%(handle)s")
    )
    period = _("%(start)s to %(end)s") % {
        "start": charge.period_start.date().isoformat(),
        "end": charge.period_end.date().isoformat(),
    }
    return PaymentDetail(
        kind="membership",
        ident=ident,
        kind_label=_("Membership"),
        title=title % args,
        payer=m.member,
        payee=m.creator,
        amount=Money(charge.amount, charge.currency),
        fees=_fee_lines(charge.fee, charge.currency),
        net=Money(charge.amount - charge.fee, charge.currency),
        status=charge.status,
        created_at=charge.created_at,
        parties=frozenset({m.member_id, m.creator_id}),
        entry_id=charge.entry_id,
        actions=(PaymentAction(_("Your memberships"), reverse("payments:memberships")),),
        extra=((_("Period"), period),),
    )
