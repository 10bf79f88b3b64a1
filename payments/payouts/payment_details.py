"""The detail page of a payout, for the wallet's payment page. A payout's wallet line is
the posting of its hold, whose reference names the person (``payout-request:<user id>``),
so the line's entry picks the payout."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from core.money import Money
from payments.payouts.models import Payout
from payments.wallets.selectors import PaymentAction, PaymentDetail


def payout_detail(*, viewer: User, ident: str, entry_id: int | None) -> PaymentDetail | None:
    if not ident.isdigit() or entry_id is None:
        return None
    payout = (
        Payout.objects.select_related("user", "destination")
        .filter(user_id=int(ident), hold__posted_entry_id=entry_id)
        .first()
    )
    if payout is None:
        return None
    # The wallet pays the amount and the fee; the bank receives the amount.
    total = Money(payout.amount + payout.fee, payout.currency)
    fees = ((_("Payout fee"), Money(payout.fee, payout.currency)),) if payout.fee else ()
    bank = _("Your bank account ••%(last4)s") % {"last4": payout.destination.last4 or "····"}
    extra = ((_("Speed"), str(payout.get_method_display()).capitalize()),)
    if payout.arrival_date:
        extra += ((_("Expected on"), payout.arrival_date.isoformat()),)
    return PaymentDetail(
        kind="payout-request",
        ident=ident,
        kind_label=_("Payout"),
        title=_("Payout to your bank"),
        payer=payout.user,
        payee=None,
        payee_label=bank,
        amount=total,
        fees=fees,
        net=Money(payout.amount, payout.currency),
        status=payout.status,
        status_kind="payout",
        created_at=payout.created_at,
        parties=frozenset({payout.user_id}),
        entry_id=entry_id,
        actions=(PaymentAction(_("Payouts"), reverse("payments:payouts"), primary=True),),
        extra=extra,
    )
