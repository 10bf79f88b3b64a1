"""Output serializers of the creators API: the declared shapes of what ``api.py`` returns
(``tip_dict``, ``unlock_dict``, ``product_dict``, ``order_dict``, ``membership_dict``,
``tier_dict``, the dashboard), so the schema has no untyped object and schemathesis checks
the answers against it (``tests/test_api_fuzz.py``). Amounts here are money objects
``{"amount": int, "currency": "EUR"}``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, inline_serializer
from rest_framework import serializers

from core.api.money import MoneyOutput
from core.api.objects import object_field
from core.api.pagination import list_of
from payments.creators.models import Membership, Order, Product


def _money(**kwargs):
    return MoneyOutput(**kwargs)


TIP = inline_serializer(
    "Tip",
    {
        "object": object_field("tip"),
        "id": serializers.IntegerField(),
        "post": serializers.IntegerField(allow_null=True),
        "creator": serializers.CharField(help_text="The creator's handle."),
        "amount": _money(),
        "fee": _money(),
        "net": _money(help_text="What the creator receives."),
        "note": serializers.CharField(allow_blank=True),
        "visibility": serializers.CharField(),
        "show_amount": serializers.BooleanField(),
        "status": serializers.CharField(help_text="`completed`, or `pending` by card (202)."),
        "entry": serializers.IntegerField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
)
PUBLIC_TIP = inline_serializer(
    "PublicTip",
    {
        "object": object_field("tip"),
        "id": serializers.IntegerField(),
        "from": serializers.CharField(help_text="The tipper's handle."),
        "note": serializers.CharField(allow_blank=True),
        "amount": _money(allow_null=True, help_text="Null unless the tipper chose to show it."),
        "created_at": serializers.DateTimeField(),
    },
)
PUBLIC_TIPS = list_of(PUBLIC_TIP, "PublicTipList")

UNLOCK = inline_serializer(
    "Unlock",
    {
        "object": object_field("unlock"),
        "id": serializers.IntegerField(),
        "post": serializers.IntegerField(),
        "amount": _money(),
        "fee": _money(),
        "status": serializers.CharField(),
        "entry": serializers.IntegerField(allow_null=True),
        "locked_text": serializers.CharField(allow_null=True, allow_blank=True),
        "created_at": serializers.DateTimeField(),
    },
)

PRODUCT = inline_serializer(
    "Product",
    {
        "object": object_field("product"),
        "id": serializers.IntegerField(),
        "post": serializers.IntegerField(),
        "title": serializers.CharField(),
        "description": serializers.CharField(allow_blank=True),
        "price": _money(),
        "stock": serializers.IntegerField(),
        "kind": serializers.ChoiceField(choices=Product.Kind.values),
    },
)

ORDER = inline_serializer(
    "Order",
    {
        "object": object_field("order"),
        "id": serializers.IntegerField(),
        "product": serializers.IntegerField(),
        "title": serializers.CharField(allow_blank=True),
        "kind": serializers.ChoiceField(choices=Product.Kind.values),
        "quantity": serializers.IntegerField(),
        "amount": _money(),
        "refunded": _money(),
        "in_escrow": _money(),
        "status": serializers.ChoiceField(choices=Order.Status.values),
        "buyer": serializers.CharField(),
        "seller": serializers.CharField(),
        "release_after": serializers.DateTimeField(allow_null=True),
        "created_at": serializers.DateTimeField(),
        "shipping_address": serializers.CharField(
            required=False, allow_blank=True, help_text="For the seller only."
        ),
        "fee": _money(required=False, help_text="For the seller only."),
        "delivery_url": serializers.CharField(
            required=False, allow_null=True, help_text="For the buyer of a paid digital order."
        ),
    },
)
ORDERS = list_of(ORDER, "OrderList")

TIER = inline_serializer(
    "MembershipTier",
    {
        "object": object_field("membership_tier"),
        "id": serializers.IntegerField(),
        "creator": serializers.CharField(),
        "name": serializers.CharField(),
        "price": _money(),
        "perks": serializers.CharField(allow_blank=True),
    },
)

MEMBERSHIP = inline_serializer(
    "Membership",
    {
        "object": object_field("membership"),
        "id": serializers.IntegerField(),
        "tier": serializers.IntegerField(),
        "tier_name": serializers.CharField(),
        "creator": serializers.CharField(),
        "price": _money(),
        "status": serializers.ChoiceField(choices=Membership.Status.values),
        "current_period_end": serializers.DateTimeField(),
        "grace_until": serializers.DateTimeField(allow_null=True),
        "cancel_at_period_end": serializers.BooleanField(),
    },
)
MEMBERSHIPS = list_of(MEMBERSHIP, "MembershipList")

DASHBOARD = inline_serializer(
    "CreatorDashboard",
    {
        "days": serializers.ListField(child=serializers.DateField()),
        "exponents": serializers.DictField(
            child=serializers.IntegerField(), help_text="Minor-unit digits per currency."
        ),
        "earnings": serializers.DictField(
            child=serializers.DictField(
                child=serializers.ListField(child=serializers.IntegerField())
            ),
            help_text="Per currency, per kind (tip, unlock, sale, membership): net per day.",
        ),
        "totals": serializers.DictField(
            child=serializers.DictField(child=serializers.IntegerField()),
            help_text="Per currency, per kind: net over the period.",
        ),
        "top_supporters": inline_serializer(
            "TopSupporter",
            {
                "handle": serializers.CharField(),
                "amount": _money(help_text="What they paid the creator over the period."),
            },
            many=True,
        ),
        "recent_sales": type(ORDER)(many=True),
        "recent_guest_sales": inline_serializer(
            "GuestSale",
            {
                "object": object_field("guest_sale"),
                "id": serializers.IntegerField(),
                "product": serializers.IntegerField(),
                "title": serializers.CharField(),
                "amount": _money(),
                "shipping_name": serializers.CharField(allow_blank=True),
                "shipping_address": serializers.CharField(
                    allow_blank=True, help_text="Where to ship a physical item; empty if digital."
                ),
                "completed_at": serializers.DateTimeField(),
            },
            many=True,
            help_text="Card sales to visitors without an account, paid to you at once.",
        ),
        "pending_escrow": inline_serializer(
            "PendingEscrow",
            {
                "amount": _money(help_text="Held for orders not released yet."),
                "orders": serializers.IntegerField(),
            },
            many=True,
        ),
        "members": serializers.IntegerField(),
        "mrr": _money(many=True, help_text="Monthly recurring revenue, one per currency."),
    },
)

# --- examples (shown in /api/docs/ and generated clients) -----------------------------------
TIP_EXAMPLES = [
    OpenApiExample(
        "Tip from the wallet",
        value={"amount": 500, "currency": "EUR", "note": "Thanks for the thread!"},
        request_only=True,
    ),
    OpenApiExample(
        "Tip completed",
        value={
            "object": "tip",
            "id": 77,
            "post": 1234,
            "creator": "carol",
            "amount": {"amount": 500, "currency": "EUR"},
            "fee": {"amount": 25, "currency": "EUR"},
            "net": {"amount": 475, "currency": "EUR"},
            "note": "Thanks for the thread!",
            "visibility": "private",
            "show_amount": False,
            "status": "completed",
            "entry": 90250,
            "created_at": "2026-12-01T09:30:00Z",
        },
        response_only=True,
        status_codes=["201"],
    ),
]
