"""FX writes: storing rates, pricing quotes, executing them as conversions or cross-border
transfers, and choosing one's home currency.

Executing a quote books ONE ledger entry through the per-currency FX position accounts
(rounding rule and worked example in ``payments.fx.quotes``)::

    D wallet:user:{payer}:SRC      source_amount
    C platform:fx:SRC              source_amount
    D platform:fx:TGT              target_amount + fee_amount
    C wallet:user:{recipient}:TGT  target_amount     (the payer's own wallet for a conversion)
    C platform:fees:TGT            fee_amount        (omitted when the fee is zero)

The transfer's shape (``payments.wallets.transfers``): checks that need no lock first, then
ONE transaction — the caller's when there is one (the API's idempotency record joins it),
or its own:

1. lock the quote row and refuse it if it is used (``quote_used``) or expired;
2. the payer check of every outgoing payment (``payments.wallets.payer.payer_check``): the
   payer's row read fresh and share-locked, so a staff freeze applies at once
   (``account_frozen``); for sends also the per-payment limit and the step-up rule;
3. cross-border sends only: reserve the amount on the payer's ``SendLimit`` row;
4. book the entry (the ledger joins the transaction as a savepoint; its idempotency key
   ``fx:quote:<id>`` is unique, so a quote can never be booked twice);
5. mark the quote executed (entry, time, kind, recipient);
6. write the receipts to the outbox (``payments.wallets.receipts``) and, in the same
   statement, the outgoing webhook events (``fx.converted``; ``fx.sent`` and
   ``fx.received``), so a committed FX payment always has its events and a rolled-back
   one never does.

A refusal or a crash anywhere before the commit leaves nothing behind: no entry, an unused
quote, no limit reservation and no receipt, so the same quote can be executed again while
it is valid. Concurrent executions of one quote queue on the quote's row lock; the first
commits, the others then see it used.

Lock order: the quote row, the payer's user row, the payer's ``SendLimit`` row, then the
payer's wallet account (inside the ledger). Credits take no lock (balance deltas).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from accounts.home_currency import home_currency_match
from accounts.language import in_language_of
from accounts.models import User
from core.api.timestamps import rfc3339
from core.exceptions import Conflict, DomainError, ValidationFailed
from core.money import InvalidAmount, Money, currency_require_supported
from ledger import chart
from ledger.errors import IdempotencyKeyReused
from ledger.models import Entry
from ledger.services import credit, debit, entry_post
from payments.fx import selectors
from payments.fx.models import FxQuote, FxRateSnapshot
from payments.fx.quotes import Pricing, price_for_target, price_from_source, ratio
from payments.fx.sources import RateUnavailable, get_rate_source
from payments.wallets.events import EventSpec, event_spec
from payments.wallets.limits import (
    limit_amount,
)
from payments.wallets.payer import payer_check
from payments.wallets.receipts import ReceiptSpec, receipts_send
from payments.wallets.selectors import payment_detail_url
from payments.wallets.text import note_clean
from payments.wallets.transfers import recipient_resolve


class QuoteExpired(Conflict):
    code = "quote_expired"
    default_message = _("This quote has expired. Ask for a new one.")


class QuoteUsed(Conflict):
    code = "quote_used"
    default_message = _("This quote was already used.")


class SameCurrency(ValidationFailed):
    code = "same_currency"
    status = 422
    default_message = _("Source and target currency must differ (same currency: a transfer).")


class AmountSideInvalid(ValidationFailed):
    code = "amount_side_invalid"
    default_message = _("Give exactly one of source_amount and target_amount.")


class RecipientCurrencyMismatch(DomainError):
    code = "recipient_currency_mismatch"
    status = 422
    default_message = _("The recipient receives in another currency: ask for a quote in it.")


# --- rates ----------------------------------------------------------------------------------
def fx_rates_refresh(*, now: datetime | None = None) -> FxRateSnapshot:
    """Fetch the configured source's table and store it (one row per source and ``as_of``).

    The fetch (network for the ECB) happens outside any transaction. Raises the source's
    ``RateUnavailable`` / ``RateFeedInvalid``.
    """
    now = now or timezone.now()
    table = get_rate_source().fetch(now=now)
    snapshot, _ = FxRateSnapshot.objects.get_or_create(
        source=table.source,
        as_of=table.as_of,
        defaults={
            "base": table.base,
            "rates": {code: str(rate) for code, rate in sorted(table.rates.items())},
            "fetched_at": now,
        },
    )
    return snapshot


def fx_rates_current(*, now: datetime | None = None) -> FxRateSnapshot:
    """The current snapshot; on a fresh install of the local sandbox source, fetched now.

    The sandbox is computed locally, so a new install answers quotes before beat's first
    refresh. A stale table is still refused (``rate_stale``): it means the refresh stopped,
    which someone must notice. A networked source (the ECB) is never fetched inside a
    request.
    """
    try:
        return selectors.rate_snapshot_current(now=now)
    except RateUnavailable:
        if get_rate_source().name != "sandbox" or FxRateSnapshot.objects.exists():
            raise
    fx_rates_refresh(now=now)
    return selectors.rate_snapshot_current(now=now)


# --- quotes ---------------------------------------------------------------------------------
def fx_fee_bps() -> int:
    return int(settings.FX_FEE_BPS)


def fx_quote_price(
    *,
    source_currency: str,
    target_currency: str | None,
    source_amount: int | None,
    target_amount: int | None,
    now: datetime,
) -> tuple[Pricing, FxRateSnapshot]:
    """Validate a pricing request, then price it from the current snapshot (no writes).
    Bad input is reported before a stale rate: a 4xx never hides behind a 503."""
    source_currency = currency_require_supported(source_currency)
    target_currency = currency_require_supported(target_currency)
    if source_currency == target_currency:
        raise SameCurrency(details={"currency": source_currency})
    if (source_amount is None) == (target_amount is None):
        raise AmountSideInvalid()
    if source_amount is not None:
        source = Money.from_minor(source_amount, source_currency)
        if source.amount <= 0:
            raise InvalidAmount(details={"reason": "not_positive"})
    else:
        target = Money.from_minor(target_amount, target_currency)
        if target.amount <= 0:
            raise InvalidAmount(details={"reason": "not_positive"})
    snapshot = fx_rates_current(now=now)
    mid = selectors.snapshot_table(snapshot).mid(source_currency, target_currency)
    if source_amount is not None:
        pricing = price_from_source(
            source=source, target_currency=target_currency, mid_rate=mid, fee_bps=fx_fee_bps()
        )
    else:
        pricing = price_for_target(
            target=target, source_currency=source_currency, mid_rate=mid, fee_bps=fx_fee_bps()
        )
    return pricing, snapshot


def fx_quote_create(
    *,
    user: User,
    source_currency: str,
    target_currency: str | None,
    source_amount: int | None = None,
    target_amount: int | None = None,
    to: str | None = None,
    now: datetime | None = None,
) -> FxQuote:
    """Price and store a quote for ``user``, valid ``FX_QUOTE_TTL_SECONDS``.

    With ``to`` (a recipient's handle) the target currency is the recipient's home currency
    (``target_currency`` may then be omitted, or must equal it).

    Raises ``invalid_currency``/``unsupported_currency``, ``same_currency``,
    ``amount_side_invalid``, ``invalid_amount``, ``amount_too_small``, ``amount_too_large``,
    ``rate_stale``/``rate_unavailable`` (503). Moves no money.
    """
    now = now or timezone.now()
    if to is not None:
        recipient = fx_recipient_resolve(sender=user, handle=to)
        if target_currency is None:
            target_currency = recipient.home_currency
        elif target_currency != recipient.home_currency:
            raise RecipientCurrencyMismatch(details={"currency": recipient.home_currency})
    pricing, snapshot = fx_quote_price(
        source_currency=source_currency,
        target_currency=target_currency,
        source_amount=source_amount,
        target_amount=target_amount,
        now=now,
    )
    return FxQuote.objects.create(
        user=user,
        source_currency=pricing.source.currency,
        target_currency=pricing.target.currency,
        source_amount=pricing.source.amount,
        target_amount=pricing.target.amount,
        fee_amount=pricing.fee.amount,
        fee_bps=pricing.fee_bps,
        fixed_side=FxQuote.FixedSide.SOURCE
        if source_amount is not None
        else FxQuote.FixedSide.TARGET,
        mid_rate=pricing.mid_rate,
        snapshot=snapshot,
        created_at=now,
        expires_at=now + timedelta(seconds=int(settings.FX_QUOTE_TTL_SECONDS)),
    )


def quote_pricing(quote: FxQuote) -> Pricing:
    return Pricing(
        source=Money(quote.source_amount, quote.source_currency),
        target=Money(quote.target_amount, quote.target_currency),
        fee=Money(quote.fee_amount, quote.target_currency),
        mid_rate=Decimal(quote.mid_rate),
        fee_bps=quote.fee_bps,
    )


# --- execution ------------------------------------------------------------------------------
def fx_recipient_resolve(*, sender: User, handle: str) -> User:
    """The person ``handle`` names, if ``sender`` may pay them - the wallet's rule: unknown,
    deactivated and blocked (either way) all raise the same ``RecipientNotFound`` (404);
    oneself raises ``AccountsMustBeDifferent`` (422)."""
    return recipient_resolve(sender=sender, to=handle)


def fx_limit_amount(quote: FxQuote) -> int:
    """The quote's source amount in the limits currency, converted at the quote's own rates
    (the snapshot it was priced from) and rounded up, so that sending abroad counts against
    the same weekly and per-payment limits as any other payment."""
    limits_currency = settings.WALLET_LIMITS_CURRENCY
    source = Money(quote.source_amount, quote.source_currency)
    if source.currency == limits_currency:
        return source.amount
    try:
        mid = selectors.snapshot_table(quote.snapshot).mid(source.currency, limits_currency)
    except RateUnavailable:  # a source without that currency: the wallet's fixed rates
        return limit_amount(source)
    num, den = ratio(source.currency, limits_currency, mid)
    return -((-source.amount * num) // den)


def _postings(quote: FxQuote, payer_id: int, receiver_id: int) -> list:
    pricing = quote_pricing(quote)
    legs = [
        debit(chart.wallet_key(payer_id, quote.source_currency), pricing.source),
        credit(chart.fx_key(quote.source_currency), pricing.source),
        debit(chart.fx_key(quote.target_currency), pricing.value),
        credit(chart.wallet_key(receiver_id, quote.target_currency), pricing.target),
    ]
    if pricing.fee.amount:
        legs.append(credit(chart.fees_key(quote.target_currency), pricing.fee))
    return legs


def _ensure_unused_and_valid(*, used: bool, quote: FxQuote, now: datetime) -> None:
    """Refuse a used quote (``quote_used``), then an expired one (``quote_expired``)."""
    if used:
        raise QuoteUsed()
    if now >= quote.expires_at:
        raise QuoteExpired(details={"expired_at": rfc3339(quote.expires_at)})


def _quote_lock(quote: FxQuote) -> bool:
    """Lock the quote row until the transaction ends; True when it is already executed.
    The caller is inside ``transaction.atomic``."""
    entry_id = (
        FxQuote.objects.select_for_update().filter(pk=quote.pk).values_list("entry_id", flat=True)
    )
    return entry_id.get() is not None


def _quote_mark(*, quote: FxQuote, entry, kind: str, receiver: User, note: str, now) -> None:
    """Record what the locked quote became. The row lock makes the conditional UPDATE
    certain to match; a miss would mean the lock contract was broken."""
    recipient = receiver if kind == FxQuote.Kind.TRANSFER else None
    marked = FxQuote.objects.filter(pk=quote.pk, entry__isnull=True).update(
        entry=entry, executed_at=now, kind=kind, recipient=recipient, note=note
    )
    if not marked:
        raise QuoteUsed()
    quote.entry, quote.executed_at, quote.kind = entry, now, kind
    quote.recipient, quote.note = recipient, note


def _metadata(quote: FxQuote, kind: str, receiver: User) -> dict:
    pricing = quote_pricing(quote)
    return {
        "quote": str(quote.pk),
        "kind": kind,
        "payer": quote.user_id,
        "receiver": receiver.pk,
        "mid_rate": str(quote.mid_rate),
        "our_rate": str(pricing.our_rate),
        "fee_bps": quote.fee_bps,
        "rate_source": quote.snapshot.source,
        "rate_as_of": rfc3339(quote.snapshot.as_of),
        "source": pricing.source.as_dict(),
        "target": pricing.target.as_dict(),
        "fee": pricing.fee.as_dict(),
    }


def _execute(
    *,
    quote: FxQuote,
    kind: str,
    payer: User,
    receiver: User,
    note: str,
    now: datetime,
    reauthenticated: bool | None = None,
) -> FxQuote:
    """Steps 1-6 of the module docstring, in one transaction (a savepoint inside the
    caller's). Locks: the quote row, the payer's user row, the payer's ``SendLimit`` row
    (transfers), the payer's wallet (inside the ledger service)."""
    code = "fx_conversion" if kind == FxQuote.Kind.CONVERSION else "fx_transfer"
    counted = fx_limit_amount(quote) if kind == FxQuote.Kind.TRANSFER else None
    with transaction.atomic():
        _ensure_unused_and_valid(used=_quote_lock(quote), quote=quote, now=now)
        # The one rule of every outgoing payment (fresh, locked, not frozen); a send to
        # someone else also checks and reserves the limits and asks for the step-up.
        payer_check(
            payer_id=payer.pk,
            money=None,
            counted=counted,
            reauthenticated=reauthenticated,
            reserve=counted is not None,
        )
        try:
            entry = entry_post(
                code=code,
                idempotency_key=quote.ledger_key,
                postings=_postings(quote, quote.user_id, receiver.pk),
                reference=f"fx_quote:{quote.pk}",
                metadata=_metadata(quote, kind, receiver),
            )
        except IdempotencyKeyReused as exc:
            # Booked as something else (another recipient, a conversion): used.
            raise QuoteUsed() from exc
        _quote_mark(quote=quote, entry=entry, kind=kind, receiver=receiver, note=note, now=now)
        receipts_send(_receipts(quote=quote, entry=entry), events=_events(quote))
    return quote


def _events(quote: FxQuote) -> list[EventSpec]:
    """The webhook events of an executed quote: the converter's ``fx.converted``, or the
    sender's ``fx.sent`` and the recipient's ``fx.received``. Public handles, money and the
    rate only (the note is the public note the payer wrote)."""
    p = quote_pricing(quote)
    deal = {
        "quote": str(quote.pk),
        "source_amount": p.source.as_dict(),
        "amount": p.target.as_dict(),
        "fee": p.fee.as_dict(),
        "mid_rate": str(quote.mid_rate),
    }
    if quote.kind == FxQuote.Kind.CONVERSION:
        specs = [event_spec("fx.converted", quote.user_id, deal)]
    else:
        recipient, payer = quote.recipient, quote.user
        specs = [
            event_spec("fx.sent", payer.pk, deal | {"to": recipient.handle, "note": quote.note}),
            event_spec(
                "fx.received", recipient.pk, deal | {"from": payer.handle, "note": quote.note}
            ),
        ]
    return [s for s in specs if s is not None]


def _receipts(*, quote: FxQuote, entry: Entry) -> list[ReceiptSpec]:
    """Both sides of a transfer, and the payer of a conversion, get a receipt (notification
    and e-mail, delivered once per key from the outbox) with what was paid, what arrived
    and the rate used."""
    p = quote_pricing(quote)
    data = {
        "amount": p.target.as_dict(),
        "source_amount": p.source.as_dict(),
        "mid_rate": str(quote.mid_rate),
        "fee": p.fee.as_dict(),
        "quote": str(quote.pk),
    }

    def deal_params() -> dict:
        # Money and the rate are formatted in the language active around the call.
        return {
            "source": p.source.format(),
            "target": p.target.format(),
            "rate": number_format(quote.mid_rate.normalize()),
            "fee": p.fee.format(),
        }

    payer = quote.user
    if quote.kind == FxQuote.Kind.CONVERSION:
        with in_language_of(payer):
            params = deal_params()
            text = (
                _("You converted %(source)s to %(target)s at a mid rate of %(rate)s, fee %(fee)s.")
                % params
            )
            subject = _("You converted %(source)s to %(target)s") % params
        specs = [
            ReceiptSpec(
                key=f"fx:{quote.pk}:payer",
                kind="fx_converted",
                recipient_id=payer.pk,
                target_type="ledger_entry",
                target_id=entry.pk,
                link=payment_detail_url("fx_quote", quote.pk),
                data=data | {"text": text},
                subject=subject,
                body=text,
            )
        ]
    else:
        recipient = quote.recipient
        with in_language_of(payer):
            params = deal_params() | {"handle": recipient.handle}
            sent = (
                _(
                    "received %(target)s from you (%(source)s to %(target)s at a mid rate of "
                    "%(rate)s, fee %(fee)s)"
                )
                % params
            )
            sent_subject = _("You sent @%(handle)s %(target)s") % params
        with in_language_of(recipient):
            params = deal_params() | {"handle": payer.handle}
            received = (
                _("sent you %(target)s (%(source)s at a mid rate of %(rate)s, fee %(fee)s)")
                % params
            )
            received_subject = _("@%(handle)s sent you %(target)s") % params
        specs = [
            ReceiptSpec(
                key=f"fx:{quote.pk}:payer",
                kind="fx_sent",
                recipient_id=payer.pk,
                actor_id=recipient.pk,
                target_type="ledger_entry",
                target_id=entry.pk,
                link=payment_detail_url("fx_quote", quote.pk),
                data=data | {"text": sent},
                subject=sent_subject,
                body=f"@{recipient.handle} {sent}.",
            ),
            ReceiptSpec(
                key=f"fx:{quote.pk}:recipient",
                kind="fx_received",
                recipient_id=recipient.pk,
                actor_id=payer.pk,
                target_type="ledger_entry",
                target_id=entry.pk,
                link=payment_detail_url("fx_quote", quote.pk),
                data=data | {"text": received},
                subject=received_subject,
                body=f"@{payer.handle} {received}.",
            ),
        ]
    return specs


def fx_conversion_execute(*, user: User, quote_id, now: datetime | None = None) -> FxQuote:
    """Convert between ``user``'s own wallets at the quote.

    Raises ``not_found`` (404: missing or another person's quote), ``quote_used`` /
    ``quote_expired`` (409), ``account_frozen`` (403), ``insufficient_funds`` (422).
    Locks: the quote row, the payer's user row, the payer's wallet (see the module
    docstring); one transaction, or a savepoint in the caller's.
    """
    now = now or timezone.now()
    quote = selectors.quote_get(user=user, quote_id=quote_id)
    _ensure_unused_and_valid(used=quote.entry_id is not None, quote=quote, now=now)
    return _execute(
        quote=quote, kind=FxQuote.Kind.CONVERSION, payer=user, receiver=user, note="", now=now
    )


def fx_transfer_execute(
    *,
    user: User,
    quote_id,
    to: str,
    note: str = "",
    now: datetime | None = None,
    reauthenticated: bool | None = None,
) -> FxQuote:
    """Send money abroad: ``user`` pays the quote's source amount, ``to`` receives the target
    amount in their home currency.

    Raises as ``fx_conversion_execute``, plus ``not_found`` for an unknown, deactivated or
    blocked recipient (``recipient_not_found``, indistinguishable),
    ``accounts_must_be_different`` (paying oneself), ``recipient_currency_mismatch`` (the
    quote's target is not the recipient's home currency), ``invalid_note``, and the wallet's
    ``limit_exceeded`` (422) / velocity (429) - limits counted at the quote's rates.
    ``reauthenticated``: what the request proved (``payer_reauthenticated``); a large send
    raises ``reauthentication_required`` (403) without it, like every payment.
    Locks: as ``fx_conversion_execute``, plus the payer's ``SendLimit`` row.
    """
    now = now or timezone.now()
    quote = selectors.quote_get(user=user, quote_id=quote_id)
    note = note_clean(note)
    recipient = fx_recipient_resolve(sender=user, handle=to)
    _ensure_unused_and_valid(used=quote.entry_id is not None, quote=quote, now=now)
    if recipient.home_currency != quote.target_currency:
        raise RecipientCurrencyMismatch(details={"currency": recipient.home_currency})
    return _execute(
        quote=quote,
        kind=FxQuote.Kind.TRANSFER,
        payer=user,
        receiver=recipient,
        note=note,
        now=now,
        reauthenticated=reauthenticated,
    )


# --- home currency --------------------------------------------------------------------------
def fx_home_currency_set(*, user: User, currency: str) -> User:
    """Change the currency ``user`` receives cross-border payments in and sees totals in."""
    currency = currency_require_supported(currency)
    try:
        User.objects.filter(pk=user.pk).update(home_currency=currency)
    except IntegrityError as exc:  # the ISO-code CHECK; unreachable after the validation
        raise ValidationFailed() from exc
    user.home_currency = currency
    return user


def home_currency_suggest(*, accept_language: str) -> str | None:
    """A supported currency for the browser's preferred locale (``en-GB`` → GBP), or None.
    The same rule as the one applied at sign-up (``accounts.home_currency``)."""
    return home_currency_match(accept_language)
