"""What payment links contribute to a person's data export and to closing their account
(``accounts.exports``, ``accounts.closing``; registered in ``LinksConfig.ready``).

Export: the person's links and the payments made through links, either side. Closing
deactivates their links, so nobody pays into a closed account (a link payment is
instant: none is ever pending, so nothing here holds money).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exports import ExportFile, rows_of
from accounts.models import User
from payments.links.models import LinkPayment, PaymentLink


def export_files(*, user: User) -> list[ExportFile]:
    links = rows_of(
        PaymentLink.objects.filter(owner=user),
        fields=[
            "id", "kind", "amount", "min_amount", "currency", "note", "expires_at",
            "max_uses", "uses", "active", "created_at", "deactivated_at",
        ],
    )  # fmt: skip
    payments = rows_of(
        LinkPayment.objects.filter(Q(payer=user) | Q(payee=user)),
        fields=[
            "id", "link_id", "payer__handle", "payee__handle", "amount", "fee", "currency",
            "message", "status", "created_at",
        ],
    )  # fmt: skip
    for row in payments:
        row["payer"] = row.pop("payer__handle")
        row["payee"] = row.pop("payee__handle")
    return [
        ExportFile("payments/links", _("Your payment links."), links),
        ExportFile("payments/link_payments", _("Payments through payment links."), payments),
    ]


def closing_erase(*, user: User) -> None:
    PaymentLink.objects.filter(owner=user, active=True).update(
        active=False, deactivated_at=timezone.now()
    )
