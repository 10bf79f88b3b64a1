"""FX reads: the rate table to quote from, a person's quotes, wallet totals in one currency."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from core.exceptions import NotFound
from core.money import Money
from ledger.selectors import balances_of_owner
from payments.fx.models import FxQuote, FxRateSnapshot
from payments.fx.quotes import ratio
from payments.fx.sources import RateStale, RateTable, RateUnavailable, get_rate_source
from payments.wallets.selectors import (
    PaymentAction,
    PaymentDetail,
    payment_detail_register,
    statement_describer,
)


class QuoteNotFound(NotFound):
    code = "not_found"
    default_message = _("No such quote.")


def rate_max_age(source: str) -> timedelta:
    """How old a snapshot of ``source`` may be and still be quoted from."""
    ages = settings.FX_RATE_MAX_AGE_SECONDS
    if source in ages:
        return timedelta(seconds=int(ages[source]))
    return get_rate_source(source).max_age


def snapshot_table(snapshot: FxRateSnapshot) -> RateTable:
    return RateTable(
        source=snapshot.source,
        base=snapshot.base,
        as_of=snapshot.as_of,
        rates={code: Decimal(text) for code, text in snapshot.rates.items()},
    )


def rate_snapshot_current(*, now: datetime | None = None) -> FxRateSnapshot:
    """The newest stored snapshot of the configured source, if fresh enough.

    Raises ``RateUnavailable`` (503) when none was ever stored and ``RateStale`` (503) when
    the newest is older than the source's maximum age: an old rate is refused, never used.
    """
    now = now or timezone.now()
    source = settings.FX_RATE_SOURCE
    snapshot = (
        FxRateSnapshot.objects.filter(source=source, as_of__lte=now).order_by("-as_of").first()
    )
    if snapshot is None:
        raise RateUnavailable(details={"source": source})
    snapshot_table(snapshot).ensure_fresh(now=now, max_age=rate_max_age(source))
    return snapshot


def quote_get(*, user, quote_id) -> FxQuote:
    """One of ``user``'s quotes; anybody else's answers exactly like a missing one (404)."""
    try:
        key = uuid.UUID(str(quote_id))
    except (ValueError, AttributeError, TypeError):
        raise QuoteNotFound() from None
    quote = FxQuote.objects.filter(pk=key, user_id=user.pk).select_related("recipient").first()
    if quote is None:
        raise QuoteNotFound()
    return quote


@dataclass(frozen=True)
class WalletTotal:
    currency: str
    total: Money | None  # None when rates are unavailable or stale
    balances: list  # ledger Balance rows, one per currency held
    approximate: bool  # True: converted at mid rates, for information only
    as_of: datetime | None


def wallet_total_in_home_currency(user) -> WalletTotal:
    """Every balance of ``user`` added up in their home currency at the current mid rates
    (rounded down; information only — nothing is converted)."""
    home = user.home_currency
    balances = balances_of_owner(owner_id=user.pk)
    try:
        snapshot = rate_snapshot_current()
    except (RateStale, RateUnavailable):
        only_home = all(b.currency == home for b in balances)
        total = sum((b.available.amount for b in balances), 0) if only_home else None
        return WalletTotal(
            currency=home,
            total=Money(total, home) if total is not None else None,
            balances=balances,
            approximate=False,
            as_of=None,
        )
    table = snapshot_table(snapshot)
    total = 0
    approximate = False
    for balance in balances:
        amount = balance.available.amount
        if balance.currency == home:
            total += amount
            continue
        approximate = True
        try:
            num, den = ratio(balance.currency, home, table.mid(balance.currency, home))
        except RateUnavailable:  # a currency this source does not publish (ECB: no KWD)
            return WalletTotal(home, None, balances, True, snapshot.as_of)
        total += amount * num // den
    return WalletTotal(
        currency=home,
        total=Money(total, home),
        balances=balances,
        approximate=approximate,
        as_of=snapshot.as_of,
    )


def _rate_shown(rate: Decimal) -> Decimal:
    """A rate as people read it: five significant digits (0.92667, 150.12), not the ten
    decimals the quote keeps for its arithmetic."""
    return Decimal(format(Decimal(f"{rate:.5g}").normalize(), "f"))


@statement_describer("fx_quote")
def fx_statement_descriptions(*, user, idents) -> dict[str, tuple[str, str | None]]:
    """For wallet statement lines booked by FX (reference ``fx_quote:<id>``): a description
    saying what was paid, what arrived and the rate, and the other party's handle."""
    keys = []
    for quote_id in idents:
        try:
            keys.append(uuid.UUID(str(quote_id)))
        except ValueError:
            continue
    quotes = FxQuote.objects.filter(pk__in=keys, entry__isnull=False).select_related(
        "user", "recipient"
    )
    described = {}
    for q in quotes:
        paid = Money(q.source_amount, q.source_currency)
        got = Money(q.target_amount, q.target_currency)
        deal = _("%(paid)s → %(got)s at %(rate)s") % {
            "paid": paid.format(),
            "got": got.format(),
            "rate": number_format(_rate_shown(q.mid_rate)),
        }
        if q.kind == FxQuote.Kind.CONVERSION:
            described[str(q.pk)] = (_("Conversion %(deal)s") % {"deal": deal}, None)
        elif q.recipient_id == user.pk:
            text = _("From @%(handle)s · %(deal)s") % {"handle": q.user.handle, "deal": deal}
            described[str(q.pk)] = (text, q.user.handle)
        else:
            text = _("To @%(handle)s · %(deal)s") % {"handle": q.recipient.handle, "deal": deal}
            described[str(q.pk)] = (text, q.recipient.handle)
    return described


def fx_payment_detail(*, viewer, ident: str, entry_id: int | None) -> PaymentDetail | None:
    """The detail page of an executed quote (a conversion, or a payment across currencies):
    what was paid, the FX fee on its own line, what arrived, and the rate."""
    try:
        key = uuid.UUID(ident)
    except ValueError:
        return None
    q = (
        FxQuote.objects.select_related("user", "recipient")
        .filter(pk=key, entry__isnull=False)
        .first()
    )
    if q is None:
        return None
    paid = Money(q.source_amount, q.source_currency)
    got = Money(q.target_amount, q.target_currency)
    rate = _("1 %(source)s = %(rate)s %(target)s") % {
        "source": q.source_currency,
        "rate": number_format(_rate_shown(q.mid_rate)),
        "target": q.target_currency,
    }
    receipt = PaymentAction(_("Exchange receipt"), reverse("payments:fx-receipt", args=[q.pk]))
    if q.kind == FxQuote.Kind.CONVERSION:
        title = _("Conversion %(source)s → %(target)s") % {
            "source": q.source_currency,
            "target": q.target_currency,
        }
        again = PaymentAction(_("Convert again"), reverse("payments:fx-convert"), primary=True)
        payee, payee_label = None, _("Your %(currency)s wallet") % {"currency": q.target_currency}
    else:
        incoming = q.recipient_id == viewer.pk
        other = q.user if incoming else q.recipient
        title = (_("From @%(handle)s") if incoming else _("To @%(handle)s")) % {
            "handle": other.handle
        }
        again = PaymentAction(_("Send again"), reverse("payments:fx-send"), primary=True)
        payee, payee_label = q.recipient, ""
    fees = ((_("Exchange fee"), Money(q.fee_amount, q.target_currency)),) if q.fee_amount else ()
    return PaymentDetail(
        kind="fx_quote",
        ident=ident,
        kind_label=_("Currency exchange"),
        title=title,
        payer=q.user,
        payee=payee,
        payee_label=payee_label,
        amount=paid,
        fees=fees,
        net=got,
        status="completed",
        created_at=q.executed_at or q.created_at,
        parties=frozenset({q.user_id} | ({q.recipient_id} if q.recipient_id else set())),
        note=q.note,
        entry_id=q.entry_id,
        actions=(again, receipt) if q.user_id == viewer.pk else (receipt,),
        extra=((_("Rate"), rate),),
    )


payment_detail_register("fx_quote", fx_payment_detail)
