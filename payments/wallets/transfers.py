"""P2P transfers: instant payments between two people's wallets (D wallet:sender C
wallet:recipient, no fee).

``transfer_create`` is the service other areas reuse. How one transfer runs:

1. Checks that need no lock: the recipient exists, is active, is not the sender, and
   neither blocked the other; the amount is positive; the note and the visibility are
   valid (``text``).
2. ONE transaction (the caller's, when there is one — the API's idempotency record joins
   it — or its own): one statement reads the sender's row fresh and share-locked
   (``payer.PAYER_ROW_SQL``), inserts the ``Transfer`` row unless the sender is frozen and
   reserves the amount on the sender's ``SendLimit`` row (row lock, see ``limits``); the
   payer's rules (``payer.payer_rules``: frozen, the per-payment limit of the fresh tier,
   the step-up rule) and the limits are checked on what it returned; book the ledger
   entry (idempotency key ``transfer:{id}``; it locks the sender's wallet account); record
   the entry on the row; write both receipts to the outbox. One commit, and no extra
   round trip for the payer check, is what lets transfers keep up with plain reads
   (``bench/transfers.py``).
3. When the ledger refuses (insufficient funds) the exception rolls the transaction back:
   no row, no reservation, so the same client key can be used again once corrected.

A crash at any point before the commit leaves nothing behind, so a committed ``Transfer``
row is always a completed payment (its only status).

Lock order inside the transaction: the sender's user row (share), the sender's
``SendLimit`` row, then the sender's wallet account (the ledger). Credits to the recipient
take no lock (balance deltas), so two people paying each other cannot deadlock.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils.translation import gettext_lazy as _

from accounts.handles import handle_key
from accounts.models import User
from accounts.selectors import is_blocked
from core.money import CurrencyMismatch, Money, currency_require_supported
from ledger import chart
from ledger import selectors as ledger_selectors
from ledger import services as ledger
from ledger.errors import InsufficientFunds
from payments.wallets.errors import (
    AccountsMustBeDifferent,
    AmountNotPositive,
    RecipientNotFound,
    TransferNotFound,
)
from payments.wallets.events import event_spec
from payments.wallets.limits import (
    RESERVE_UPDATE_SQL,
    limit_amount,
    limits_check_reserved,
    limits_reserve,
    limits_row_create,
    reserve_params,
)
from payments.wallets.models import Transfer, Visibility
from payments.wallets.payer import PAYER_ROW_SQL, payer_rules
from payments.wallets.receipts import ReceiptSide, payment_receipts
from payments.wallets.text import note_clean, visibility_parse

LEDGER_CODE = "transfer"


def recipient_resolve(*, sender: User, to: str | User) -> User:
    """The person ``sender`` may pay. Raises ``AccountsMustBeDifferent`` or
    ``RecipientNotFound`` (unknown, deactivated, or blocked in either direction: one
    answer for all three). One query: the person and the block check together."""
    if isinstance(to, User):
        if to.pk == sender.pk:
            raise AccountsMustBeDifferent()
        if not to.is_active or is_blocked(sender.pk, to.pk):
            raise RecipientNotFound()
        return to
    if not isinstance(to, str) or "\x00" in to or not 1 <= len(to) <= 64:
        raise RecipientNotFound()
    key = handle_key(to.strip().removeprefix("@"))
    if key == sender.handle_key:
        raise AccountsMustBeDifferent()
    with connection.cursor() as cur:
        cur.execute(_RECIPIENT_SQL, {"key": key, "sender": sender.pk})
        row = cur.fetchone()
    if row is None or row[-1]:
        raise RecipientNotFound()
    # Only the columns a payment needs; any other field loads on first access.
    return User.from_db(connection.alias, _RECIPIENT_FIELDS, row[:-1])


# On every payment by handle: hand-written so that no ORM query is compiled on the hot path.
# ``language``: the receipt is written in it (without it, a deferred load per payment).
_RECIPIENT_FIELDS = ["id", "handle", "handle_key", "display_name", "is_active", "language"]
_RECIPIENT_SQL = """
SELECT u.id, u.handle, u.handle_key, u.display_name, u.is_active, u.language,
       EXISTS (SELECT 1 FROM accounts_block b
               WHERE (b.blocker_id = %(sender)s AND b.blocked_id = u.id)
                  OR (b.blocker_id = u.id AND b.blocked_id = %(sender)s))
FROM accounts_user u
WHERE u.handle_key = %(key)s AND u.is_active
"""


def transfer_create(
    *,
    sender: User,
    to: str | User,
    money: Money,
    client_key: str,
    note: str = "",
    visibility: str | None = None,
    reauthenticated: bool | None = None,
    savepoint: bool = True,
) -> Transfer:
    """Pay ``money`` from ``sender``'s wallet to ``to`` (a handle or a User), instantly.

    ``client_key`` makes it idempotent: the same sender and key always mean this one
    transfer (an API Idempotency-Key, a form's key, ``request:{id}`` …).
    ``reauthenticated``: what the request proved (``payer.payer_reauthenticated``); large
    transfers need it (the step-up rule of ``payer``).
    Locks: the sender's user row (share), ``SendLimit`` row, wallet account (ledger).
    Raises ``AccountFrozen``, ``RecipientNotFound``, ``AccountsMustBeDifferent``,
    ``LimitExceeded``/``VelocityExceeded``, ``ReauthenticationRequired``,
    ``InsufficientFunds``, ``CurrencyMismatch`` (no wallet in that currency),
    ``InvalidNote``, ``InvalidChoice`` (visibility), money errors.
    ``savepoint=False``: for a caller whose whole transaction rolls back on any refusal
    (the API's one-transaction idempotency), which needs no savepoint of its own here: two
    statements fewer on the hot path.
    """
    recipient = recipient_resolve(sender=sender, to=to)
    currency_require_supported(money.currency)
    if not money.is_positive:
        raise AmountNotPositive()
    note = note_clean(note)
    visibility = visibility_parse(
        visibility, choices=Visibility.values, default=sender.payment_visibility_default
    )

    # Nested in a caller's transaction this is a savepoint (unless the caller says it
    # needs none), so a caller that catches a refusal can still use its transaction.
    with transaction.atomic(savepoint=savepoint):
        transfer, inserted = _transfer_insert(
            sender=sender,
            recipient=recipient,
            money=money,
            counted=limit_amount(money),
            note=note,
            visibility=visibility,
            client_key=client_key,
            reauthenticated=reauthenticated,
        )
        if inserted:
            _transfer_complete(transfer)
    return transfer


# Built once from constants; only placeholders carry values. The payer's row is read and
# share-locked first (``payer.PAYER_ROW_SQL``), and nothing is inserted for a frozen payer.
_INSERT_AND_RESERVE_SQL = f"""
WITH p AS ({PAYER_ROW_SQL}
), t AS (
    INSERT INTO payments_transfer (sender_id, recipient_id, amount, currency, limit_amount,
                                   note, visibility, status, client_key, created_at)
    SELECT %(user)s, %(recipient)s, %(money)s, %(currency)s, %(amount)s, %(note)s,
           %(visibility)s, 'completed', %(client_key)s, %(now)s
    FROM p WHERE NOT p.is_frozen
    ON CONFLICT (sender_id, client_key) DO NOTHING
    RETURNING id, created_at
), l AS (
    {RESERVE_UPDATE_SQL} AND EXISTS (SELECT 1 FROM t)
    RETURNING week_used, minute_count
)
SELECT p.is_frozen, p.verification_tier, t.id, t.created_at, l.week_used, l.minute_count
FROM p LEFT JOIN t ON true LEFT JOIN l ON true
"""  # noqa: S608


def _transfer_insert(
    *,
    sender: User,
    recipient: User,
    money: Money,
    counted: int,
    note: str,
    visibility: str,
    client_key: str,
    reauthenticated: bool | None = None,
) -> tuple[Transfer, bool]:
    """The payer check, the row and the limit reservation, in one statement
    inside the caller's transaction: the sender's row is read fresh and share-locked, the
    UPDATE of the ``SendLimit`` row takes its lock (see ``limits``), then the payer's rules
    (``payer.payer_rules``) and the limits are checked on what it returned; a refusal
    raises and the caller's transaction rolls the row back.
    Returns ``(row, True)``, or ``(existing row, False)`` when ``client_key`` was used
    before by this sender: a concurrent insert of the same key waits for the first one's
    transaction, then finds its committed row (or inserts, if it rolled back)."""
    params = reserve_params(user_id=sender.pk, amount=counted)
    params.update(
        payer=sender.pk,
        recipient=recipient.pk,
        money=money.amount,
        currency=money.currency,
        note=note,
        visibility=visibility,
        client_key=client_key,
    )
    while True:
        with transaction.atomic(savepoint=False), connection.cursor() as cur:
            cur.execute(_INSERT_AND_RESERVE_SQL, params)
            row = cur.fetchone()
            if row is not None and row[2] is not None:
                payer = payer_rules(
                    payer_id=sender.pk,
                    row=row[:2],
                    counted=counted,
                    reauthenticated=reauthenticated,
                    check_limits=True,
                )
                if row[4] is None:  # the first payment ever: no limits row
                    limits_row_create(user_id=sender.pk)
                    limits_reserve(user_id=sender.pk, tier=payer.verification_tier, amount=counted)
                else:
                    limits_check_reserved(
                        tier=payer.verification_tier,
                        amount=counted,
                        week_used=row[4],
                        minute_count=row[5],
                    )
        if row is not None and row[2] is not None:
            break
        existing = (
            Transfer.objects.select_related("sender", "recipient")
            .filter(sender=sender, client_key=client_key)
            .first()
        )
        if existing is not None:
            return existing, False
        if row is None or row[0]:
            payer_rules(payer_id=sender.pk, row=row and row[:2], counted=None, reauthenticated=None)
        # The conflicting insert of the same key rolled back after we read: insert again.
    transfer = Transfer(
        pk=row[2],
        sender=sender,
        recipient=recipient,
        amount=money.amount,
        currency=money.currency,
        limit_amount=counted,
        note=note,
        visibility=visibility,
        status=Transfer.Status.COMPLETED,
        client_key=client_key,
        created_at=row[3],
    )
    return transfer, True


_ENTRY_SQL = "UPDATE payments_transfer SET entry_id = %s WHERE id = %s AND entry_id IS NULL"


def _transfer_complete(transfer: Transfer) -> None:
    """Inside the caller's transaction: book the entry, record it on the row and write the
    receipts to the outbox. Ledger refusals propagate (the caller rolls back);
    a wallet that does not hold the currency at all is reported as a currency mismatch."""
    money = Money(transfer.amount, transfer.currency)
    try:
        entry = ledger.entry_post(
            code=LEDGER_CODE,
            idempotency_key=f"transfer:{transfer.pk}",
            postings=[
                ledger.debit(chart.wallet_key(transfer.sender_id, money.currency), money),
                ledger.credit(chart.wallet_key(transfer.recipient_id, money.currency), money),
            ],
            reference=f"transfer:{transfer.pk}",
        )
    except InsufficientFunds as exc:
        _raise_if_no_wallet(transfer.sender_id, money.currency, exc)
        raise
    with connection.cursor() as cur:
        cur.execute(_ENTRY_SQL, [entry.pk, transfer.pk])
        assert cur.rowcount == 1, "the row was inserted by this transaction"
    _receipts(transfer)
    transfer.entry_id = entry.pk


def _raise_if_no_wallet(user_id: int, currency: str, exc: Exception) -> None:
    """Paying from a currency one holds no money in is a currency mismatch, not a
    shortfall: say which wallets exist."""
    used = ledger_selectors.wallet_currencies_used(owner_id=user_id)
    if currency not in used and used:
        raise CurrencyMismatch(
            _("You have no %(currency)s in your wallet.") % {"currency": currency},
            details={"currency": currency, "wallets": sorted(used)},
        ) from exc


def _receipts(transfer: Transfer) -> None:
    sender, recipient = transfer.sender, transfer.recipient
    footer = _("Transfer #%(id)d.")
    payment_receipts(
        event=f"transfer:{transfer.pk}",
        target_type="transfer",
        target_id=transfer.pk,
        money=Money(transfer.amount, transfer.currency),
        data={
            "amount": {"amount": transfer.amount, "currency": transfer.currency},
            "note": transfer.note,
        },
        params={"note": f" · {transfer.note}" if transfer.note else "", "id": transfer.pk},
        # The hot path: the webhook event goes in the receipts' own statement.
        events=[
            event_spec(
                "payment.received",
                recipient.pk,
                {
                    "transfer": transfer.pk,
                    "amount": Money(transfer.amount, transfer.currency).as_dict(),
                    "from": sender.handle,
                    "note": transfer.note,
                },
            )
        ],
        sides=[
            ReceiptSide(
                role="sender",
                user=sender,
                other=recipient,
                kind="money_sent",
                subject=_("You paid @%(handle)s %(amount)s"),
                body=[_("You paid @%(handle)s %(amount)s%(note)s."), footer],
            ),
            ReceiptSide(
                role="recipient",
                user=recipient,
                other=sender,
                kind="money_received",
                subject=_("@%(handle)s paid you %(amount)s"),
                body=[_("@%(handle)s paid you %(amount)s%(note)s."), footer],
            ),
        ],
    )


def transfer_get(*, viewer: User, transfer_id: int) -> Transfer:
    """A transfer the viewer sent or received; anything else is ``TransferNotFound``."""
    transfer = (
        Transfer.objects.select_related("sender", "recipient")
        .filter(pk=transfer_id, status=Transfer.Status.COMPLETED)
        .first()
    )
    if transfer is None or viewer.pk not in (transfer.sender_id, transfer.recipient_id):
        raise TransferNotFound()
    return transfer
