"""Output serializers of the payment-links API: the declared shapes of ``link_public_dict``,
``link_owner_dict`` and ``payment_dict``, so the schema has no untyped object."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from core.api.money import MoneyOutput
from core.api.objects import object_field
from core.api.pagination import list_of
from payments.links.models import LinkPayment, PaymentLink


def _money(**kwargs):
    return MoneyOutput(**kwargs)


_OWNER = inline_serializer(
    "LinkOwner", {"handle": serializers.CharField(), "display_name": serializers.CharField()}
)
_FEES = inline_serializer("LinkFees", {"gross": _money(), "fee": _money(), "net": _money()})


def _public_fields() -> dict:
    # Fresh field instances per component: both serializers would otherwise share them.
    return {
        "object": object_field("payment_link"),
        "slug": serializers.CharField(),
        "owner": type(_OWNER)(),
        "kind": serializers.ChoiceField(choices=PaymentLink.Kind.values),
        "amount": _money(allow_null=True, help_text="Fixed links only."),
        "min_amount": _money(allow_null=True, help_text="Pay-what-you-want links only."),
        "currency": serializers.CharField(help_text="The currency the link is paid in."),
        "note": serializers.CharField(allow_blank=True),
        "expires_at": serializers.DateTimeField(allow_null=True),
        "active": serializers.BooleanField(),
        "fees": type(_FEES)(required=False, help_text="The fee lines of a fixed link's payment."),
    }


LINK_PUBLIC = inline_serializer("PaymentLinkPublic", _public_fields())
LINK_OWNER = inline_serializer(
    "PaymentLink",
    {
        **_public_fields(),
        "max_uses": serializers.IntegerField(allow_null=True),
        "uses": serializers.IntegerField(),
        "paid_count": serializers.IntegerField(
            help_text="Completed payments: from wallets and by card from visitors."
        ),
        "paid_total": _money(help_text="The sum of those payments, before fees."),
        "created_at": serializers.DateTimeField(),
        "deactivated_at": serializers.DateTimeField(allow_null=True),
    },
)
LINKS = list_of(LINK_OWNER, "PaymentLinkList")

_PAYMENT_FIELDS = {
    "object": object_field("link_payment"),
    "id": serializers.IntegerField(),
    "link": serializers.CharField(help_text="The link's slug."),
    "amount": _money(),
    "fee": _money(),
    "net": _money(),
    "message": serializers.CharField(allow_blank=True),
    "status": serializers.ChoiceField(choices=LinkPayment.Status.values),
    "entry": serializers.IntegerField(allow_null=True),
    "created_at": serializers.DateTimeField(),
}
PAYMENT = inline_serializer("LinkPayment", _PAYMENT_FIELDS)
OWNER_PAYMENT = inline_serializer(
    "LinkPaymentWithPayer",
    {**_PAYMENT_FIELDS, "payer": serializers.CharField(help_text="The payer's handle.")},
)
PAYMENTS = list_of(OWNER_PAYMENT, "LinkPaymentList")
