"""What the wallet contributes to a person's data export and to closing their account
(``accounts.exports``, ``accounts.closing``; registered in ``WalletsConfig.ready``).

Export: top-ups, transfers, money requests, and the full statement of every wallet
currency, read from the ledger. Closing is refused while a wallet holds money (paid out
first, on the payout page), while holds are pending on it, or while a top-up is in flight;
open money requests are cancelled (sent) or declined (received).
"""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.closing import ClosingBlocker
from accounts.exports import ROWS_MAX, ExportFile, rows_of
from accounts.models import User
from ledger import selectors as ledger_selectors
from payments.wallets.models import MoneyRequest, TopUp, Transfer
from payments.wallets.selectors import wallet_statement

_TOPUP_IN_FLIGHT = [TopUp.Status.CREATED, TopUp.Status.REQUIRES_ACTION, TopUp.Status.PENDING]


def export_files(*, user: User) -> list[ExportFile]:
    topups = rows_of(
        TopUp.objects.filter(user=user),
        fields=["id", "amount", "currency", "fee", "status", "created_at", "updated_at"],
    )
    transfers = [
        {
            "id": t.pk,
            "direction": "sent" if t.sender_id == user.pk else "received",
            "counterparty": (t.recipient if t.sender_id == user.pk else t.sender).handle,
            "amount": t.amount,
            "currency": t.currency,
            "note": t.note,
            "visibility": t.visibility,
            "created_at": t.created_at,
        }
        for t in Transfer.objects.filter(Q(sender=user) | Q(recipient=user))
        .select_related("sender", "recipient")
        .order_by("pk")[:ROWS_MAX]
    ]
    requests = [
        {
            "id": r.pk,
            "direction": "sent" if r.requester_id == user.pk else "received",
            "counterparty": (r.payer if r.requester_id == user.pk else r.requester).handle,
            "amount": r.amount,
            "currency": r.currency,
            "note": r.note,
            "status": r.status,
            "transfer_id": r.transfer_id,
            "created_at": r.created_at,
            "resolved_at": r.resolved_at,
        }
        for r in MoneyRequest.objects.filter(Q(requester=user) | Q(payer=user))
        .select_related("requester", "payer")
        .order_by("pk")[:ROWS_MAX]
    ]
    files = [
        ExportFile("payments/topups", _("Money you added to your wallet by card."), topups),
        ExportFile("payments/transfers", _("Payments you sent and received."), transfers),
        ExportFile("payments/requests", _("Money requests you sent and received."), requests),
    ]
    for balance in ledger_selectors.balances_of_owner(owner_id=user.pk):
        files.append(
            ExportFile(
                f"statements/{balance.currency}",
                _("Your %(currency)s wallet statement, newest first, from the ledger.")
                % {"currency": balance.currency},
                _statement_rows(user=user, currency=balance.currency),
            )
        )
    return files


def _statement_rows(*, user: User, currency: str) -> list[dict]:
    rows: list[dict] = []
    before = None
    while len(rows) < ROWS_MAX:
        page = wallet_statement(user=user, currency=currency, before=before, limit=200)
        rows.extend(line.as_dict() for line in page.lines)
        if page.next_cursor is None:
            break
        before = page.next_cursor
    return rows


def closing_blockers(*, user: User) -> list[ClosingBlocker]:
    blockers = []
    for balance in ledger_selectors.balances_of_owner(owner_id=user.pk):
        if balance.pending_out.amount or balance.pending_in.amount:
            blockers.append(
                ClosingBlocker(
                    "pending_holds",
                    _("Money in your %(currency)s wallet is reserved for a payment under way.")
                    % {"currency": balance.currency},
                    reverse("payments:wallet"),
                )
            )
        if balance.posted.amount:
            blockers.append(
                ClosingBlocker(
                    "balance_remaining",
                    _("Your wallet still holds %(amount)s. Pay it out to your bank first.")
                    % {"amount": balance.posted.format()},
                    reverse("payments:payouts"),
                )
            )
    if TopUp.objects.filter(user=user, status__in=_TOPUP_IN_FLIGHT).exists():
        blockers.append(
            ClosingBlocker(
                "topup_in_flight",
                _("A top-up is still being processed. Wait until it completes or fails."),
                reverse("payments:wallet"),
            )
        )
    return blockers


def closing_erase(*, user: User) -> None:
    now = timezone.now()
    MoneyRequest.objects.filter(requester=user, status=MoneyRequest.Status.OPEN).update(
        status=MoneyRequest.Status.CANCELLED, resolved_at=now
    )
    MoneyRequest.objects.filter(payer=user, status=MoneyRequest.Status.OPEN).update(
        status=MoneyRequest.Status.DECLINED, resolved_at=now
    )
