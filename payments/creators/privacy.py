"""What creators contribute to a person's data export and to closing their account
(``accounts.exports``, ``accounts.closing``; registered in ``CreatorsConfig.ready``).

Export: tips, unlocks, orders (bought and sold), products, memberships (held and sold),
membership charges and card payments by visitors without an account (those paid to the
person, and those the person made as a guest and claimed by verifying the address).
Closing is refused while an order the person bought or sold has its money in escrow, or a
tip, unlock, membership charge or guest payment to them is still pending. On closing,
their products and tiers stop selling and every membership of theirs, either side, stops
renewing (access runs to the end of the paid period, as a cancellation does).
"""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.closing import ClosingBlocker
from accounts.exports import ExportFile, rows_of
from accounts.models import User
from payments.creators.models import (
    GuestPayment,
    Membership,
    MembershipCharge,
    MembershipTier,
    Order,
    PayStatus,
    Product,
    Tip,
    Unlock,
)

_ESCROW = [Order.Status.PENDING, Order.Status.PAID, Order.Status.SHIPPED, Order.Status.RELEASING]


def _with_parties(rows: list[dict], **renames: str) -> list[dict]:
    for row in rows:
        for new, old in renames.items():
            row[new] = row.pop(old)
    return rows


def export_files(*, user: User) -> list[ExportFile]:
    tips = _with_parties(
        rows_of(
            Tip.objects.filter(Q(tipper=user) | Q(creator=user)),
            fields=[
                "id",
                "tipper__handle",
                "creator__handle",
                "post_id",
                "amount",
                "fee",
                "currency",
                "message",
                "source",
                "status",
                "created_at",
                "completed_at",
            ],
        ),
        tipper="tipper__handle",
        creator="creator__handle",
    )
    unlocks = _with_parties(
        rows_of(
            Unlock.objects.filter(Q(buyer=user) | Q(creator=user)),
            fields=[
                "id",
                "buyer__handle",
                "creator__handle",
                "post_id",
                "amount",
                "fee",
                "currency",
                "status",
                "created_at",
                "completed_at",
            ],
        ),
        buyer="buyer__handle",
        creator="creator__handle",
    )
    orders = _with_parties(
        rows_of(
            Order.objects.filter(Q(buyer=user) | Q(seller=user)),
            fields=[
                "id",
                "buyer__handle",
                "seller__handle",
                "product__title",
                "quantity",
                "unit_price",
                "amount",
                "refunded_amount",
                "fee",
                "currency",
                "status",
                "shipping_address",
                "created_at",
                "paid_at",
                "shipped_at",
                "finished_at",
            ],
        ),
        buyer="buyer__handle",
        seller="seller__handle",
        product="product__title",
    )
    for order in orders:
        # The buyer's address is the buyer's data; a seller's copy keeps the order only.
        if order["buyer"] != user.handle:
            order["shipping_address"] = ""
    products = rows_of(
        Product.objects.filter(seller=user),
        fields=[
            "id",
            "post_id",
            "title",
            "description",
            "kind",
            "price_amount",
            "price_currency",
            "stock",
            "photo",
            "photo_alt",
            "is_active",
            "created_at",
        ],
    )
    memberships = _with_parties(
        rows_of(
            Membership.objects.filter(Q(member=user) | Q(creator=user)),
            fields=[
                "id",
                "member__handle",
                "creator__handle",
                "tier__name",
                "status",
                "current_period_start",
                "current_period_end",
                "cancel_at_period_end",
                "created_at",
            ],
        ),
        member="member__handle",
        creator="creator__handle",
        tier="tier__name",
    )
    tiers = rows_of(
        MembershipTier.objects.filter(creator=user),
        fields=["id", "name", "price_amount", "price_currency", "perks", "is_active", "created_at"],
    )
    charges = rows_of(
        MembershipCharge.objects.filter(Q(membership__member=user) | Q(membership__creator=user)),
        fields=[
            "id",
            "membership_id",
            "period_start",
            "period_end",
            "amount",
            "fee",
            "currency",
            "status",
            "created_at",
            "completed_at",
        ],
    )
    guest_payments = rows_of(
        GuestPayment.objects.filter(Q(creator=user) | Q(claimed_by=user)),
        fields=[
            "id",
            "kind",
            "creator__handle",
            "claimed_by_id",
            "post_id",
            "product__title",
            "link_id",
            "email",
            "amount",
            "fee",
            "currency",
            "message",
            "status",
            "shipping_name",
            "shipping_address",
            "created_at",
            "completed_at",
        ],
    )
    for row in guest_payments:
        row["creator"], row["product"] = row.pop("creator__handle"), row.pop("product__title")
        # The visitor's e-mail and address are the visitor's data: the person who paid
        # (and claimed it) gets them, the creator's copy keeps the payment only.
        if row.pop("claimed_by_id") != user.pk:
            row["email"] = row["shipping_name"] = row["shipping_address"] = ""
    return [
        ExportFile("payments/tips", _("Tips you gave and received."), tips),
        ExportFile(
            "payments/unlocks", _("Paid posts you unlocked, and unlocks of yours."), unlocks
        ),
        ExportFile("payments/orders", _("Orders you placed and orders for your products."), orders),
        ExportFile("payments/products", _("Products you sell."), products),
        ExportFile("payments/memberships", _("Memberships you hold and sell."), memberships),
        ExportFile("payments/membership_tiers", _("Your membership tiers."), tiers),
        ExportFile("payments/membership_charges", _("Membership payments."), charges),
        ExportFile(
            "payments/guest_payments",
            _("Card payments by visitors without an account: to you, and yours as a guest."),
            guest_payments,
        ),
    ]


def closing_blockers(*, user: User) -> list[ClosingBlocker]:
    blockers = []
    if Order.objects.filter(Q(buyer=user) | Q(seller=user), status__in=_ESCROW).exists():
        blockers.append(
            ClosingBlocker(
                "orders_open",
                _("An order you bought or sold is still open, with its money in escrow."),
                reverse("payments:orders"),
            )
        )
    pending = (
        Tip.objects.filter(Q(tipper=user) | Q(creator=user), status=PayStatus.PENDING).exists()
        or Unlock.objects.filter(Q(buyer=user) | Q(creator=user), status=PayStatus.PENDING).exists()
        or MembershipCharge.objects.filter(
            Q(membership__member=user) | Q(membership__creator=user), status=PayStatus.PENDING
        ).exists()
    )
    # A visitor's card payment still on its way into this person's wallet.
    pending = pending or (
        GuestPayment.objects.filter(
            creator=user,
            status__in=[
                GuestPayment.Status.CREATED,
                GuestPayment.Status.REQUIRES_ACTION,
                GuestPayment.Status.PENDING,
            ],
        ).exists()
    )
    if pending:
        blockers.append(
            ClosingBlocker(
                "creator_payment_pending",
                _("A tip, unlock, membership or card payment is still being processed."),
                reverse("payments:wallet"),
            )
        )
    return blockers


def closing_erase(*, user: User) -> None:
    Product.objects.filter(seller=user, is_active=True).update(is_active=False)
    MembershipTier.objects.filter(creator=user, is_active=True).update(is_active=False)
    Membership.objects.filter(
        Q(member=user) | Q(creator=user),
        status__in=[Membership.Status.ACTIVE, Membership.Status.PAST_DUE],
    ).update(cancel_at_period_end=True)
