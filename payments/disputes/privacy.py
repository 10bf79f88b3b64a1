"""What disputes contribute to a person's data export and to closing their account
(``accounts.exports``, ``accounts.closing``; registered in ``DisputesConfig.ready``).

Closing is refused while a dispute about one of the person's card payments is open: its
outcome may still take money from the wallet or give it back.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.closing import ClosingBlocker
from accounts.exports import ExportFile, rows_of
from accounts.models import User
from payments.disputes.models import Dispute
from payments.disputes.services import CLOSED_STATUSES


def export_files(*, user: User) -> list[ExportFile]:
    disputes = rows_of(
        Dispute.objects.filter(user=user),
        fields=[
            "id",
            "amount",
            "currency",
            "status",
            "reason",
            "funds",
            "wallet_debited",
            "created_at",
            "updated_at",
        ],
    )
    return [ExportFile("payments/disputes", _("Card payment disputes (chargebacks)."), disputes)]


def closing_blockers(*, user: User) -> list[ClosingBlocker]:
    if Dispute.objects.filter(user=user).exclude(status__in=CLOSED_STATUSES).exists():
        return [
            ClosingBlocker(
                "dispute_open",
                _("A dispute about one of your card payments is still open."),
            )
        ]
    return []
