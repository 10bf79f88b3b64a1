"""Reads of the wallet area: balances, statements, the payment feed, request inboxes.

Visibility rules of the payment feed (PRODUCT.md: private by default, amounts never
public): a completed transfer is shown to its two parties always; to everyone when it is
``public``; to the sender's followers when it is ``followers``. Nobody sees a payment of
someone they blocked or who blocked them. The amount is only ever included for the two
parties (``FeedItem.amount`` is None for everybody else).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Block, Follow, User
from core.money import Money, currency_require_supported
from ledger import chart
from ledger import selectors as ledger_selectors
from ledger.errors import AccountNotFound
from payments.wallets.errors import PaymentNotFound, RequestNotFound, TopUpNotFound
from payments.wallets.limits import limits_summary
from payments.wallets.models import (
    MoneyRequest,
    TopUp,
    Transfer,
    VerificationRequest,
    Visibility,
)

FEED_PAGE = 30


# --- balances -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WalletBalance:
    currency: str
    available: int
    pending: int  # top-ups accepted by the processor, waiting for its confirmation

    def as_dict(self) -> dict:
        return {"currency": self.currency, "available": self.available, "pending": self.pending}

    @property
    def available_money(self) -> Money:
        return Money(self.available, self.currency)

    @property
    def pending_money(self) -> Money:
        return Money(self.pending, self.currency)


def wallet_balances(*, user: User) -> list[WalletBalance]:
    available = {
        b.currency: b.available.amount for b in ledger_selectors.balances_of_owner(owner_id=user.pk)
    }
    pending = dict(
        TopUp.objects.filter(user=user, status=TopUp.Status.PENDING)
        .values_list("currency")
        .annotate(total=Sum("amount"))
        .values_list("currency", "total")
    )
    currencies = sorted(set(available) | set(pending))
    return [
        WalletBalance(currency=c, available=available.get(c, 0), pending=int(pending.get(c, 0)))
        for c in currencies
    ]


def wallet_available(*, user: User, currency: str) -> Money:
    """What the wallet can spend in ``currency`` now (one query; zero without a wallet)."""
    for b in ledger_selectors.balances_of_owner(owner_id=user.pk):
        if b.currency == currency:
            return Money(b.available.amount, currency)
    return Money.zero(currency)


# --- statements -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    posting_id: int
    created_at: datetime
    description: str
    counterparty: str | None  # a handle
    change: Money
    balance_after: Money
    reference: str = ""  # "<kind>:<ident>" of the payment the line belongs to

    @property
    def detail_url(self) -> str | None:
        """The payment's detail page, when its kind has one."""
        kind, _sep, ident = self.reference.partition(":")
        if kind not in _DETAILERS or not ident:
            return None
        return payment_detail_url(kind, ident, entry_id=self.entry_id)

    def as_dict(self) -> dict:
        return {
            "entry_id": self.entry_id,
            "posting_id": self.posting_id,
            "created_at": self.created_at,
            "description": self.description,
            "counterparty": self.counterparty,
            "amount": self.change.amount,
            "currency": self.change.currency,
            "balance_after": self.balance_after.amount,
        }


@dataclass(frozen=True, slots=True)
class Statement:
    currency: str
    lines: list[StatementLine]
    next_cursor: int | None


class StatementDescriber(Protocol):
    """Describes the wallet statement lines whose ledger reference is ``<kind>:<ident>``:
    returns ``{ident: (description, counterparty handle or None)}`` for the idents it
    knows, with a fixed number of queries."""

    def __call__(self, *, user: User, idents: list[str]) -> dict[str, tuple[str, str | None]]: ...


_DESCRIBERS: dict[str, StatementDescriber] = {}


def statement_describer(
    kind: str, *, detail: PaymentDetailer | None = None
) -> Callable[[StatementDescriber], StatementDescriber]:
    """Register the describer of one reference kind, and with ``detail`` the builder of
    its payment's detail page. Areas above the wallet (FX, creators, payouts) register
    from their ``AppConfig.ready``, so the wallet never imports them."""

    def register(fn: StatementDescriber) -> StatementDescriber:
        _DESCRIBERS[kind] = fn
        if detail is not None:
            _DETAILERS[kind] = detail
        return fn

    return register


# --- one payment's detail page --------------------------------------------------------------
RECEIPT_PREFIX = "SP-"


def receipt_number(entry_id: int | None) -> str:
    """The number a receipt and its detail page show: the payment's ledger entry, padded
    so that it reads as a number to quote to support, not as a count."""
    return f"{RECEIPT_PREFIX}{entry_id:08d}" if entry_id else ""


@dataclass(frozen=True, slots=True)
class PaymentAction:
    """A link on a payment's detail page (pay again, refund, the app's own page …)."""

    label: str
    url: str
    primary: bool = False


@dataclass(frozen=True, slots=True)
class PaymentDetail:
    """One payment as its detail page shows it, from the viewer's side.

    ``payer``/``payee`` are people, or None with ``payer_label``/``payee_label`` saying
    who else it was (a card, a bank, the viewer's own wallet in another currency).
    ``amount`` is what the payer paid, ``fees`` each fee on its own line, ``net`` what
    arrived. ``parties`` are the user ids allowed to see it (staff see every payment).
    """

    kind: str
    ident: str
    kind_label: str
    title: str
    payer: User | None
    payee: User | None
    amount: Money
    net: Money
    status: str
    created_at: datetime
    parties: frozenset[int]
    payer_label: str = ""
    payee_label: str = ""
    fees: tuple[tuple[str, Money], ...] = ()
    fee_note: str = ""  # said instead of fee lines when there are none
    status_kind: str = ""  # which wording of the status (core.templatetags.ui.status_label)
    note: str = ""
    entry_id: int | None = None
    actions: tuple[PaymentAction, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()  # more rows for the table: (label, text)

    @property
    def receipt_number(self) -> str:
        return receipt_number(self.entry_id)

    @property
    def outgoing_for(self) -> int | None:
        return self.payer.pk if self.payer is not None else None


class PaymentDetailer(Protocol):
    """Builds the detail of the payment ``<kind>:<ident>`` as ``viewer`` sees it, or None
    when there is no such payment. ``entry_id`` picks one of several entries sharing the
    reference (a membership's monthly charges, an order's payment and refund). The caller
    checks ``parties``: a detailer need not."""

    def __call__(
        self, *, viewer: User, ident: str, entry_id: int | None
    ) -> PaymentDetail | None: ...


_DETAILERS: dict[str, PaymentDetailer] = {}


def payment_detail_register(kind: str, detail: PaymentDetailer) -> None:
    """Register only a detail page, for a kind whose statement lines need no describer."""
    _DETAILERS[kind] = detail


def payment_detail_kinds() -> frozenset[str]:
    return frozenset(_DETAILERS)


def payment_detail_url(kind: str, ident: str | int, *, entry_id: int | None = None) -> str:
    """The path of a payment's detail page (``entry_id`` picks one of several entries
    sharing its reference)."""
    path = reverse("payments:wallet-payment", args=[kind, str(ident)])
    return f"{path}?entry={entry_id}" if entry_id else path


def payment_detail(
    *, viewer: User, kind: str, ident: str, entry_id: int | None = None
) -> PaymentDetail:
    """The detail of one payment for one of its two parties, or for staff. Raises
    ``PaymentNotFound`` for an unknown kind or payment and for everyone else alike, so a
    stranger cannot tell a payment that exists from one that does not."""
    detailer = _DETAILERS.get(kind)
    if detailer is None or len(ident) > 64:
        raise PaymentNotFound()
    found = detailer(viewer=viewer, ident=ident, entry_id=entry_id)
    if found is None or not (viewer.pk in found.parties or viewer.is_staff):
        raise PaymentNotFound()
    return found


def wallet_statement(
    *, user: User, currency: str, before: int | None = None, limit: int = 50
) -> Statement:
    """One page (newest first) of the user's wallet in ``currency``, from the ledger."""
    currency = currency_require_supported(currency)
    try:
        page = ledger_selectors.statement(
            account=chart.wallet_key(user.pk, currency), before=before, limit=limit
        )
    except AccountNotFound:
        return Statement(currency=currency, lines=[], next_cursor=None)
    refs: dict[str, set[int]] = {"transfer": set(), "topup": set()}
    for line in page.lines:
        kind, _sep, ident = line.reference.partition(":")
        if kind in refs and ident.isdigit():
            refs[kind].add(int(ident))
    transfers = Transfer.objects.select_related("sender", "recipient").in_bulk(refs["transfer"])
    # Lines booked by areas above the wallet (FX, creators …) are described by them: one
    # call per kind of reference, so a page costs a fixed number of queries.
    foreign: dict[str, set[str]] = {}
    for ln in page.lines:
        kind, _sep, ident = ln.reference.partition(":")
        if kind in _DESCRIBERS:
            foreign.setdefault(kind, set()).add(ident)
    described = {
        kind: _DESCRIBERS[kind](user=user, idents=sorted(idents))
        for kind, idents in foreign.items()
    }
    lines = []
    for line in page.lines:
        kind, _sep, ident = line.reference.partition(":")
        description, counterparty = _code_description(line.code), None
        if kind == "transfer" and ident.isdigit() and int(ident) in transfers:
            t = transfers[int(ident)]
            incoming = t.recipient_id == user.pk
            other = t.sender if incoming else t.recipient
            counterparty = other.handle
            if other.closed_at is not None:
                # The person left (accounts.closing): the payment stays, their name does not.
                description = str(
                    _("From a closed account") if incoming else _("To a closed account")
                )
            else:
                description = (_("From @%(handle)s") if incoming else _("To @%(handle)s")) % {
                    "handle": other.handle
                }
            if t.note:
                description += f" · {t.note}"
        elif kind == "topup":
            description = str(_("Top-up by card"))
        elif ident in described.get(kind, {}):
            description, counterparty = described[kind][ident]
            if line.code in _REVERSAL_CODES:  # shares its reference with the payment it undoes
                description = f"{_code_description(line.code)} · {description}"
        lines.append(
            StatementLine(
                entry_id=line.entry_id,
                posting_id=line.posting_id,
                created_at=line.created_at,
                description=description,
                counterparty=counterparty,
                change=line.change,
                balance_after=line.balance_after,
                reference=line.reference,
            )
        )
    return Statement(currency=currency, lines=lines, next_cursor=page.next_cursor)


def _transfer_detail(*, viewer: User, ident: str, entry_id: int | None) -> PaymentDetail | None:
    if not ident.isdigit():
        return None
    t = Transfer.objects.select_related("sender", "recipient").filter(pk=int(ident)).first()
    if t is None:
        return None
    money = Money(t.amount, t.currency)
    incoming = t.recipient_id == viewer.pk
    other = t.sender if incoming else t.recipient
    send = reverse("payments:wallet-send")
    query = urlencode({"to": other.handle, "amount": money.to_decimal(), "currency": t.currency})
    actions = (
        # Paying back is a new payment the person reviews, never an automatic reversal.
        PaymentAction(_("Send it back"), f"{send}?{query}")
        if incoming
        else PaymentAction(_("Pay again"), f"{send}?{query}", primary=True),
    )
    title = _("From @%(handle)s") if incoming else _("To @%(handle)s")
    return PaymentDetail(
        kind="transfer",
        ident=ident,
        kind_label=str(_("Payment")),
        title=str(title % {"handle": other.handle}),
        payer=t.sender,
        payee=t.recipient,
        amount=money,
        net=money,
        status=t.status,
        created_at=t.created_at,
        parties=frozenset({t.sender_id, t.recipient_id}),
        note=t.note,
        entry_id=t.entry_id,
        fee_note=str(_("No fee: payments between wallets are free.")),
        actions=actions,
        extra=((str(_("Visible to")), str(Visibility(t.visibility).label)),),
    )


def _topup_detail(*, viewer: User, ident: str, entry_id: int | None) -> PaymentDetail | None:
    if not ident.isdigit():
        return None
    topup = TopUp.objects.select_related("user").filter(pk=int(ident)).first()
    if topup is None:
        return None
    money = Money(topup.amount, topup.currency)
    return PaymentDetail(
        kind="topup",
        ident=ident,
        kind_label=str(_("Top-up")),
        title=str(_("Top-up by card")),
        payer=None,
        payer_label=str(_("Your card")),
        payee=topup.user,
        amount=money,
        net=money,
        status=topup.status,
        created_at=topup.created_at,
        parties=frozenset({topup.user_id}),
        entry_id=topup.credit_entry_id,
        actions=(
            PaymentAction(_("Top up again"), reverse("payments:wallet-topup-new"), primary=True),
            PaymentAction(_("Top-up status"), reverse("payments:wallet-topup", args=[topup.pk])),
        ),
    )


_DETAILERS.update(transfer=_transfer_detail, topup=_topup_detail)


# Statement words for ledger codes that carry no row to describe them further.
_CODE_DESCRIPTIONS = {
    "creator.tip": _("Tip"),
    "creator.tip.card": _("Tip by card"),
    "creator.unlock": _("Paid post unlock"),
    "creator.order.pay": _("Order paid into escrow"),
    "creator.order.release": _("Sale released from escrow"),
    "creator.order.refund": _("Order refund"),
    "creator.membership": _("Membership"),
    "payout": _("Payout to your bank"),
}


# Lines that undo a payment under the same reference: the description says so first.
_REVERSAL_CODES = {"creator.order.refund"}


def statement_people(*, statement: Statement) -> dict[str, User]:
    """The other people on a statement page, by handle (one query), for their avatars."""
    handles = {line.counterparty for line in statement.lines if line.counterparty}
    if not handles:
        return {}
    return {u.handle: u for u in User.objects.filter(handle__in=handles)}


def _code_description(code: str) -> str:
    known = _CODE_DESCRIPTIONS.get(code)
    if known is not None:
        return str(known)
    return code.replace("_", " ").replace(".", " ").capitalize()


def send_review_warnings(*, user: User, money: Money) -> list[str]:
    """What would stop this payment, said on the review step before the person confirms:
    more than the balance, more than one payment may be, more than is left this week.
    Limits are counted in their own currency; other currencies are checked when paid."""
    warnings = []
    available = wallet_available(user=user, currency=money.currency)
    if money.amount > available.amount:
        warnings.append(
            _("This is more than your balance of %(balance)s. Top up first, or send less.")
            % {"balance": available.format()}
        )
    limits = limits_summary(user=user)
    if money.currency == limits.currency:
        if money.amount > limits.per_transfer:
            warnings.append(
                _(
                    "One payment can be at most %(limit)s for your account. "
                    "Get verified to send more."
                )
                % {"limit": Money(limits.per_transfer, limits.currency).format()}
            )
        elif money.amount > limits.weekly_remaining:
            warnings.append(
                _("You can send %(left)s more this week; this payment is over that.")
                % {"left": Money(limits.weekly_remaining, limits.currency).format()}
            )
    return warnings


def verification_latest(*, user: User) -> VerificationRequest | None:
    """The person's newest verification request (pending, approved or rejected), if any."""
    return VerificationRequest.objects.filter(user=user).order_by("-id").first()


# --- top-ups and requests -------------------------------------------------------------------
def topup_get(*, user: User, topup_id: int) -> TopUp:
    topup = TopUp.objects.filter(pk=topup_id, user=user).first()
    if topup is None:
        raise TopUpNotFound()
    return topup


def request_get(*, viewer: User, request_id: int) -> MoneyRequest:
    """A request the viewer made or was asked to pay; anything else is not found."""
    found = (
        MoneyRequest.objects.select_related("requester", "payer")
        .filter(pk=request_id)
        .filter(Q(requester=viewer) | Q(payer=viewer))
        .first()
    )
    if found is None:
        raise RequestNotFound()
    return found


def requests_inbox(*, user: User) -> QuerySet[MoneyRequest]:
    """Open requests the user was asked to pay, newest first (callers page it)."""
    return (
        MoneyRequest.objects.select_related("requester", "payer")
        .filter(payer=user, status=MoneyRequest.Status.OPEN)
        .order_by("-id")
    )


def requests_sent(*, user: User) -> QuerySet[MoneyRequest]:
    """Requests the user sent, in every status, newest first (callers page it)."""
    return (
        MoneyRequest.objects.select_related("requester", "payer")
        .filter(requester=user)
        .order_by("-id")
    )


# --- the payment feed -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeedItem:
    id: int
    sender: str
    recipient: str
    note: str
    visibility: str
    created_at: datetime
    amount: Money | None  # only for the two parties

    @property
    def text(self) -> str:
        return f"@{self.sender} paid @{self.recipient}" + (f" · {self.note}" if self.note else "")

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "from": self.sender,
            "to": self.recipient,
            "text": self.text,
            "note": self.note,
            "visibility": self.visibility,
            "created_at": self.created_at,
            "amount": self.amount.as_dict() if self.amount else None,
        }


def payment_feed(*, viewer: User, before: int | None = None, limit: int = FEED_PAGE) -> list:
    """Payments the viewer may see, newest first (cursor: ``before`` = last item's id)."""
    # 101: the API asks for one more than its largest page, to know whether another follows.
    limit = max(1, min(int(limit), 101))
    blocked = Block.objects.filter(
        Q(blocker=viewer, blocked=OuterRef("sender_id"))
        | Q(blocker=OuterRef("sender_id"), blocked=viewer)
        | Q(blocker=viewer, blocked=OuterRef("recipient_id"))
        | Q(blocker=OuterRef("recipient_id"), blocked=viewer)
    )
    follows_sender = Follow.objects.filter(follower=viewer, followee=OuterRef("sender_id"))
    rows = (
        Transfer.objects.select_related("sender", "recipient")
        .filter(status=Transfer.Status.COMPLETED)
        .filter(
            Q(sender=viewer)
            | Q(recipient=viewer)
            | Q(visibility="public")
            | (Q(visibility="followers") & Exists(follows_sender))
        )
        .exclude(Exists(blocked))
    )
    if before is not None:
        rows = rows.filter(pk__lt=before)
    items = []
    for t in rows.order_by("-id")[:limit]:
        party = viewer.pk in (t.sender_id, t.recipient_id)
        items.append(
            FeedItem(
                id=t.pk,
                sender=t.sender.handle,
                recipient=t.recipient.handle,
                note=t.note,
                visibility=t.visibility,
                created_at=t.created_at,
                amount=Money(t.amount, t.currency) if party else None,
            )
        )
    return items
