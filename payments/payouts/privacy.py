"""What payouts contribute to a person's data export and to closing their account
(``accounts.exports``, ``accounts.closing``; registered in ``PayoutsConfig.ready``).

Export: payouts and bank destinations (the last four digits, never a full number).
Closing is refused while a payout is on its way (its money is held in the ledger); on
closing, the bank destinations' holder names are cleared (the processor keeps its own).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.closing import ClosingBlocker
from accounts.exports import ExportFile, rows_of
from accounts.models import User
from payments.payouts.models import Payout, PayoutDestination, PayoutStatus

_ON_ITS_WAY = [PayoutStatus.REQUESTED, PayoutStatus.SUBMITTING, PayoutStatus.PENDING]


def export_files(*, user: User) -> list[ExportFile]:
    payouts = rows_of(
        Payout.objects.filter(user=user),
        fields=[
            "id",
            "amount",
            "fee",
            "currency",
            "method",
            "status",
            "arrival_date",
            "failure_code",
            "destination__last4",
            "created_at",
            "updated_at",
        ],
    )
    for row in payouts:
        row["destination_last4"] = row.pop("destination__last4")
    destinations = rows_of(
        PayoutDestination.objects.filter(user=user),
        fields=[
            "id",
            "status",
            "last4",
            "currency",
            "country",
            "account_holder_name",
            "schedule",
            "created_at",
        ],
    )
    return [
        ExportFile("payments/payouts", _("Payouts to your bank."), payouts),
        ExportFile(
            "payments/payout_destinations", _("Your bank accounts for payouts."), destinations
        ),
    ]


def closing_blockers(*, user: User) -> list[ClosingBlocker]:
    if Payout.objects.filter(user=user, status__in=_ON_ITS_WAY).exists():
        return [
            ClosingBlocker(
                "payout_pending",
                _("A payout to your bank is still on its way. Wait until it arrives."),
                reverse("payments:payouts"),
            )
        ]
    return []


def closing_erase(*, user: User) -> None:
    PayoutDestination.objects.filter(user=user).update(account_holder_name="")
