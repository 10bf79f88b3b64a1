"""Payment links: create, deactivate, pay.

Paying a link has the shape of every money flow (``payments.creators.services``; the P2P
transfer is the template):

    ONE transaction (the caller's when there is one — the API's idempotency record joins
    it — or its own) that
    1. checks the payer fresh and share-locked, with the per-payment limit and the step-up
       rule (``payer_check``), and reserves the weekly and velocity limits;
    2. claims a use of a use-limited link: one conditional UPDATE of the link row
       (``uses < max_uses`` and still active and unexpired), which takes the row's lock,
       so two payers racing for the last use cannot both have it (and a CHECK constraint
       stands behind it); links without a limit are not written at all, so a popular link
       is no hot row;
    3. writes the ``LinkPayment`` row;
    4. books the ledger entry with the key ``links:payment:{id}`` (the ledger joins the
       transaction): D wallet:payer gross · C wallet:owner net · C fees fee, at the tip
       rate of ``settings.CREATOR_FEE_SCHEDULE`` (a link is a tip with its amount set);
    5. marks the row completed, pointing at its entry;
    6. writes both receipts to the outbox (``payment_receipts``).

Any refusal raises and the transaction rolls back: no row, no use counted, no entry, no
receipt, no limit reserved. A retry with the same request key (the form's key, the API's
Idempotency-Key) finds the committed payment (a UNIQUE constraint decides a race).

Lock order: the payer's user row (share), its ``SendLimit`` row, the link row (only
use-limited links), the paying wallet (the ledger) — the order of every money flow.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import is_blocked
from core.money import Money, currency_require_supported
from core.text import text_clean
from ledger import chart
from payments.creators.fees import FeeQuote, fee_quote
from payments.creators.models import GuestPayment
from payments.creators.services import MAX_PAYMENT_MINOR, amount_check
from payments.creators.services.common import split_entry
from payments.creators.services.guests import guest_checkout_start
from payments.links import errors
from payments.links.models import (
    MAX_USES_LIMIT,
    MESSAGE_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    SLUG_MAX_LENGTH,
    LinkPayment,
    PaymentLink,
)
from payments.wallets.events import event_spec
from payments.wallets.payer import payer_check
from payments.wallets.receipts import ReceiptSide, payment_receipts

#: A limit on everything: active links per owner, how far ahead a link may expire.
MAX_ACTIVE_LINKS = 200
MAX_EXPIRY = timedelta(days=730)
#: 24 random bytes: 192 bits, 32 URL-safe characters — not guessable, not enumerable.
SLUG_BYTES = 24
LEDGER_CODE = "link.payment"


def link_create(
    *,
    owner: User,
    kind: str,
    currency: str,
    amount: Money | None = None,
    min_amount: Money | None = None,
    note: str = "",
    expires_at: datetime | None = None,
    max_uses: int | None = None,
) -> PaymentLink:
    """A new payment link for ``owner``. A ``fixed`` link needs ``amount``; an ``open``
    one (pay what you want) needs ``min_amount``; both in ``currency``.

    Raises ``InvalidChoice`` (kind), money errors and ``AmountOutOfRange``,
    ``CurrencyMismatch``, text errors (note), ``InvalidExpiry``, ``InvalidUseLimit``,
    ``TooManyLinks``. Locks nothing (the owner's active-link count is advisory)."""
    if kind not in PaymentLink.Kind.values:
        raise errors.InvalidChoice(details={"field": "kind", "choices": PaymentLink.Kind.values})
    currency = currency_require_supported(currency)
    money = amount if kind == PaymentLink.Kind.FIXED else min_amount
    if money is None:
        raise errors.InvalidChoice(
            _("A fixed link needs an amount; a pay-what-you-want link needs a minimum."),
            details={"field": "amount" if kind == PaymentLink.Kind.FIXED else "min_amount"},
        )
    if money.currency != currency:
        from core.money import CurrencyMismatch

        raise CurrencyMismatch(details={"currency": currency})
    amount_check(money=money)
    note = text_clean(value=note or "", max_length=NOTE_MAX_LENGTH, field="note")
    if expires_at is not None and not (timezone.now() < expires_at <= timezone.now() + MAX_EXPIRY):
        raise errors.InvalidExpiry()
    if max_uses is not None and (type(max_uses) is not int or not 1 <= max_uses <= MAX_USES_LIMIT):
        raise errors.InvalidUseLimit()
    if PaymentLink.objects.filter(owner=owner, active=True).count() >= MAX_ACTIVE_LINKS:
        raise errors.TooManyLinks(details={"max": MAX_ACTIVE_LINKS})
    return PaymentLink.objects.create(
        owner=owner,
        slug=secrets.token_urlsafe(SLUG_BYTES)[:SLUG_MAX_LENGTH],
        kind=kind,
        amount=money.amount if kind == PaymentLink.Kind.FIXED else None,
        min_amount=money.amount if kind == PaymentLink.Kind.OPEN else None,
        currency=currency,
        note=note,
        expires_at=expires_at,
        max_uses=max_uses,
    )


def link_deactivate(*, owner: User, slug: str) -> PaymentLink:
    """Turn a link off (for good). Only its owner can; to anyone else it does not exist.
    Idempotent. Raises ``LinkNotFound``."""
    updated = PaymentLink.objects.filter(owner=owner, slug=slug, active=True).update(
        active=False, deactivated_at=timezone.now()
    )
    link = PaymentLink.objects.filter(owner=owner, slug=slug).first() if slug else None
    if link is None:
        raise errors.LinkNotFound()
    assert updated or not link.active
    return link


def link_get(*, slug: object) -> PaymentLink:
    """The link by slug (active or not), with its owner; ``LinkNotFound`` for anything
    else, including a deactivated owner and malformed slugs."""
    if not isinstance(slug, str) or not 1 <= len(slug) <= SLUG_MAX_LENGTH:
        raise errors.LinkNotFound()
    link = PaymentLink.objects.select_related("owner").filter(slug=slug).first()
    if link is None or not link.owner.is_active:
        raise errors.LinkNotFound()
    return link


def link_usable_check(*, link: PaymentLink, now: datetime | None = None) -> None:
    """Raise ``LinkInactive``, ``LinkExpired`` or ``LinkUsedUp`` for a link nobody can pay
    now (a read without lock: the payment re-checks use limits under its lock)."""
    now = now or timezone.now()
    if not link.active:
        raise errors.LinkInactive()
    if link.expires_at is not None and link.expires_at <= now:
        raise errors.LinkExpired()
    if link.max_uses is not None and link.uses >= link.max_uses:
        raise errors.LinkUsedUp()


def link_amount(*, link: PaymentLink, amount: Money | None) -> Money:
    """What a payment of ``link`` is for: the link's own amount for a fixed link (an amount
    sent with it must be the same), the payer's amount for an open one, at least the
    minimum. Raises money errors, ``AmountOutOfRange``, ``AmountBelowMinimum``,
    ``CurrencyMismatch``."""
    from core.money import CurrencyMismatch

    if link.kind == PaymentLink.Kind.FIXED:
        fixed = Money(link.amount, link.currency)
        if amount is not None and amount != fixed:
            raise errors.InvalidChoice(
                _("This link asks for a fixed amount."),
                details={"field": "amount", "amount": fixed.as_dict()},
            )
        return fixed
    if amount is None:
        amount = Money.parse_typed("", link.currency)  # raises invalid_amount
    if amount.currency != link.currency:
        raise CurrencyMismatch(details={"currency": link.currency})
    amount_check(money=amount)
    if amount.amount < link.min_amount:
        raise errors.AmountBelowMinimum(details={"min": link.min_amount, "currency": link.currency})
    return amount


def link_quote(*, link: PaymentLink, amount: Money | None = None) -> FeeQuote:
    """The fee lines of a payment (the link's page shows them before anyone pays)."""
    return fee_quote(kind="tip", gross=link_amount(link=link, amount=amount))


# The use claim of step 2: one statement that checks and counts under the row lock.
_CLAIM_USE_SQL = """
UPDATE links_paymentlink SET uses = uses + 1
WHERE id = %(id)s AND active AND uses < max_uses
  AND (expires_at IS NULL OR expires_at > now())
RETURNING uses
"""


def link_pay(
    *,
    payer: User,
    slug: str,
    request_key: str,
    amount: Money | None = None,
    message: str = "",
    reauthenticated: bool | None = None,
) -> LinkPayment:
    """Pay the link ``slug`` from ``payer``'s wallet (see the module docstring).

    ``request_key`` makes it idempotent per payer (a form's key, an Idempotency-Key).
    Locks: the payer's user row (share) and ``SendLimit`` row, the link row when it has a
    use limit, the payer's wallet.
    Raises ``LinkNotFound`` (also when either side blocked the other), ``LinkInactive``,
    ``LinkExpired``, ``LinkUsedUp``, ``CannotPaySelf``, amount errors, text errors for the
    message, ``AccountFrozen``, ``LimitExceeded``/``VelocityExceeded``,
    ``ReauthenticationRequired``, ``InsufficientFunds``.
    """
    link = link_get(slug=slug)
    existing = LinkPayment.objects.filter(payer=payer, request_key=request_key).first()
    if existing is not None:
        return existing
    if link.owner_id == payer.pk:
        raise errors.CannotPaySelf()
    if is_blocked(payer.pk, link.owner_id):
        raise errors.LinkNotFound()
    link_usable_check(link=link)
    quote = link_quote(link=link, amount=amount)
    message = text_clean(value=message or "", max_length=MESSAGE_MAX_LENGTH, field="message")
    try:
        with transaction.atomic():
            payer_check(
                payer_id=payer.pk, money=quote.gross, reauthenticated=reauthenticated, reserve=True
            )
            if link.max_uses is not None:
                with connection.cursor() as cur:
                    cur.execute(_CLAIM_USE_SQL, {"id": link.pk})
                    if cur.fetchone() is None:
                        link.refresh_from_db()
                        link_usable_check(link=link)
                        raise errors.LinkUsedUp()
            payment = LinkPayment.objects.create(
                link=link,
                payer=payer,
                payee=link.owner,
                amount=quote.gross.amount,
                fee=quote.fee.amount,
                currency=quote.gross.currency,
                message=message,
                request_key=request_key,
            )
            entry = split_entry(
                code=LEDGER_CODE,
                idempotency_key=f"links:payment:{payment.pk}",
                payer_key=chart.wallet_key(payer.pk, payment.currency),
                payee_key=chart.wallet_key(link.owner_id, payment.currency),
                quote=quote,
                reference=f"link_payment:{payment.pk}",
                metadata={"link": link.pk},
            )
            LinkPayment.objects.filter(pk=payment.pk).update(
                status=LinkPayment.Status.COMPLETED, entry=entry
            )
            payment.status, payment.entry = LinkPayment.Status.COMPLETED, entry
            _receipts(payment=payment, link=link, payer=payer)
    except IntegrityError:
        # The same request key committed meanwhile (a concurrent retry): that payment.
        existing = LinkPayment.objects.filter(payer=payer, request_key=request_key).first()
        if existing is None:
            raise
        return existing
    return payment


def link_pay_guest(
    *,
    slug: str,
    email: str,
    payment_method: str,
    client_key: str,
    ip: str,
    amount: Money | None = None,
    message: str = "",
    site_url: str = "",
) -> GuestPayment:
    """Pay the link ``slug`` by card as a guest (no account): the link's checks, then the
    guest checkout of ``payments.creators`` (its limits, its once-only settlement on the
    processor's webhook, D processor_clearing · C wallet:owner net · C fees fee at the
    link's rate). Use-limited links are wallet-only (``LinkGuestUnavailable``).

    Raises ``LinkNotFound``, ``LinkInactive``, ``LinkExpired``, ``LinkUsedUp``,
    ``LinkGuestUnavailable``, amount errors, and what ``guest_checkout_start`` raises."""
    link = link_get(slug=slug)
    link_usable_check(link=link)
    if link.max_uses is not None:
        raise errors.LinkGuestUnavailable()
    quote = link_quote(link=link, amount=amount)
    message = text_clean(value=message or "", max_length=MESSAGE_MAX_LENGTH, field="message")
    return guest_checkout_start(
        kind=GuestPayment.Kind.LINK,
        creator=link.owner,
        link_id=link.pk,
        amount=quote.gross,
        email=email,
        payment_method=payment_method,
        client_key=client_key,
        ip=ip,
        message=message,
        site_url=site_url,
    )


def _receipts(*, payment: LinkPayment, link: PaymentLink, payer: User) -> None:
    note = payment.message or link.note
    payment_receipts(
        event=f"link_payment:{payment.pk}",
        target_type="payment_link",
        target_id=link.pk,
        money=Money(payment.amount, payment.currency),
        data={
            "link_payment": payment.pk,
            "amount": payment.amount,
            "currency": payment.currency,
            "message": payment.message,
        },
        params={"note": f" · {note}" if note else ""},
        # The payee's webhook event, in the receipts' own statement (a transfer's shape).
        events=[
            event_spec(
                "payment.received",
                link.owner_id,
                {
                    "link_payment": payment.pk,
                    "link": link.slug,
                    "amount": Money(payment.amount, payment.currency).as_dict(),
                    "fee": Money(payment.fee, payment.currency).as_dict(),
                    "from": payer.handle,
                    "note": payment.message,
                },
            )
        ],
        sides=[
            ReceiptSide(
                role="payee",
                user=link.owner,
                other=payer,
                kind="link_paid",
                subject=_("@%(handle)s paid your link %(amount)s"),
                body=[_("@%(handle)s paid your payment link %(amount)s%(note)s.")],
                text=_("paid your payment link %(amount)s"),
            ),
            ReceiptSide(
                role="payer",
                user=payer,
                other=link.owner,
                kind="money_sent",
                subject=_("You paid @%(handle)s %(amount)s"),
                body=[_("You paid @%(handle)s %(amount)s%(note)s.")],
            ),
        ],
    )


__all__ = [
    "MAX_ACTIVE_LINKS",
    "MAX_PAYMENT_MINOR",
    "link_amount",
    "link_create",
    "link_deactivate",
    "link_get",
    "link_pay",
    "link_pay_guest",
    "link_quote",
    "link_usable_check",
]
