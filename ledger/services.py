"""Ledger services: the only code that writes journal entries, postings, holds and balances.

API for other apps
------------------
Postings are small frozen dataclasses: ``debit(key, money)`` / ``credit(key, money)``
(``Leg(account=key, direction=Direction.DEBIT, money=Money(...))``). Account keys come from
``ledger.chart``; a chart account is created on first use.

``account_get_or_create(*, key, kind, currency, no_overdraft, owner_id=None) -> Account``
    Idempotent. Same key with other attributes raises ``AccountConflict`` (409).
``entry_post(*, code, idempotency_key, postings, reference="", metadata=None) -> Entry``
    Books one balanced entry. Same key + same content returns the original entry; same key
    + other content raises ``IdempotencyKeyReused``.
``hold_create(*, code, idempotency_key, postings, reference="", metadata=None) -> Hold``
    Reserves the debits of ``postings`` on no-overdraft accounts (two-phase transfer).
``hold_post(*, hold, idempotency_key) -> Entry``
    Books the hold's legs as a new entry, exactly once (a retry with the same key returns
    the same entry).
``hold_void(*, hold) -> Hold``
    Releases the reservation. Voiding a voided hold is a no-op; a posted one raises.
``entry_reverse(*, entry, idempotency_key, actor_id=None, reason="") -> Entry``
    Books the mirror image of ``entry`` (code ``reversal``), at most once per entry; with
    an ``actor_id`` (a staff user) an ``AuditEvent`` records who did it.
``balance_deltas_fold(*, limit=...) -> int``
    Folds appended credits into cached balances (run by Celery beat; safe at any time).

Errors (``ledger.errors``, all ``core.exceptions.DomainError``): ``insufficient_funds``,
``currency_mismatch``, ``unbalanced_entry``, ``accounts_must_be_different``,
``amount_must_be_positive``, ``idempotency_key_reused`` (422); ``account_not_found`` (404);
``hold_already_resolved``, ``entry_already_reversed``, ``entry_not_reversible``,
``account_conflict`` (409); ``invalid_entry`` (422) for malformed codes, keys or metadata;
``unsupported_currency`` (422) and ``invalid_currency`` (400) from ``core.money``.
Every rule checked here is checked again by PostgreSQL (migration ``0002``).

Transactions: every service runs in ``transaction.atomic()``. Called on its own it is one
short transaction. Called from a business service's own ``atomic(durable=True)`` block
(``transfer_create`` writing its Transfer row *and* the entry) it is a savepoint, so the
business row and the entry commit or vanish together, and a domain error (insufficient
funds) leaves the caller's transaction usable. A deadlock or serialization failure (which
the lock order below should make impossible) is retried up to ``RETRIES`` times inside the
service. Lock contract for callers: lock your own rows first; the ledger locks account rows
last, in ascending id order, and holds before accounts.

Hot accounts (the design, and why)
----------------------------------
A naive ledger updates ``account.balance`` for every posting, so every transfer locks the
row of every account it touches until commit. A creator receiving thousands of tips per
second, or ``platform:fees`` credited by nearly every payment, then serialises the whole
platform on one row: one commit (one WAL flush) at a time.

Only one side of a posting ever needs a lock: the side that *decreases* a no-overdraft
account (a wallet paying), because that is the only place a balance must be checked
before it changes. So:

1. **Decreases of no-overdraft accounts** (the payer) lock the account row
   (``SELECT … FOR NO KEY UPDATE``, ascending id order when there are several), then
   update ``balance``/``pending_out`` with the check in the same statement. A CHECK
   constraint backs it: ``balance - pending_out >= 0``.
2. **Everything else** — credits to wallets, and every posting on a platform account —
   is appended as a ``BalanceDelta`` row in the same INSERT statement as the entry and
   its postings. Appends take no row lock that conflicts with anything (the foreign-key
   checks take ``KEY SHARE``, which ``NO KEY UPDATE`` does not block), so any number of
   concurrent credits to one account proceed in parallel. Platform accounts therefore
   have no cached balance on the hot path: their row is written only by the fold.
3. **Folding.** A fold moves deltas into the cached balance: ``DELETE … RETURNING`` the
   deltas and add exactly the returned amounts to ``balance``, in one statement. Rule:
   *only the holder of an account's row lock deletes that account's deltas.* The debit
   path folds the payer's deltas right after taking its lock; ``balance_deltas_fold``
   (Celery beat) locks accounts in ascending id order and folds the rest.

Why this is correct under READ COMMITTED:

- Each delta row is deleted by exactly one committed transaction, and that transaction
  adds exactly what its own DELETE returned. A DELETE never returns a row another
  transaction deleted (PostgreSQL re-checks and skips it), so no delta is counted twice
  or lost; ``balance + SUM(deltas)`` equals the sum of postings at every committed state.
- The lock is taken by its own statement *before* the fold statement starts, so the fold
  statement's snapshot already sees every fold committed by the previous lock holder.
- ``balance = balance + folded - amount`` is evaluated on the latest row version.
- A delta committed after the fold statement's snapshot is left for the next fold: the
  available balance computed under the lock can only be *lower* than the truth (a credit
  a few milliseconds old may not count yet), never higher. For a no-overdraft account
  every delta is a credit (decreases always take path 1), so the folded ``balance -
  pending_out`` is a lower bound of the true available balance, and the CHECK on it is a
  sound no-overdraft guarantee.
- Locks: payers' rows in ascending id order, always before any delta of theirs is
  deleted; appends never wait for a row lock; holds are locked before accounts. There is
  no lock cycle, hence no deadlock.

Reads add the unfolded deltas to the cached balance in one statement (one snapshot), so
a reader never sees a credit twice or half a fold.

Round trips for a transfer: BEGIN, resolve account keys, one INSERT (entry, postings and
deltas as one statement with data-modifying CTEs), lock the payer then fold + debit (two
statements sent as one message, see ``_execute``), COMMIT. The four statements are prepared
once per database session with generic plans (see ``_prepare``), which halves the database
CPU per transfer. That needs a database session that outlives a transaction (Django's
persistent connections, or PgBouncer in session mode). Behind a transaction pooler
(PgBouncer in transaction mode) the next transaction may run on another server session, so
``LEDGER_PREPARED_STATEMENTS = False`` sends the same statements as plain SQL instead
(``_execute``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import (
    IntegrityError,
    OperationalError,
    ProgrammingError,
    connection,
    transaction,
)

from core.metrics import LEDGER_ENTRIES
from core.money import CurrencyMismatch, Money, currency_require_supported
from ledger import chart
from ledger.errors import (
    AccountConflict,
    AccountNotFound,
    AccountsMustBeDifferent,
    AmountMustBePositive,
    EntryAlreadyReversed,
    EntryNotReversible,
    HoldAlreadyResolved,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidEntry,
    UnbalancedEntry,
)
from ledger.models import (
    DEBIT_NORMAL_KINDS,
    Account,
    AccountKind,
    AuditEvent,
    Direction,
    Entry,
    Hold,
    HoldStatus,
)

__all__ = [
    "Leg",
    "account_get_or_create",
    "balance_deltas_fold",
    "credit",
    "debit",
    "entry_post",
    "entry_reverse",
    "hold_create",
    "hold_post",
    "hold_void",
]

#: Limits (Tiger Style: a limit on everything).
MAX_LEGS = 16
MAX_KEY_LENGTH = 128
MAX_REFERENCE_LENGTH = 200
MAX_METADATA_BYTES = 4096
RETRIES = 3
REVERSAL_CODE = "reversal"

_CODE_RE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
_IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9._:/@+=-]{1,128}")
# SQLSTATEs worth retrying: serialization_failure, deadlock_detected.
_RETRY_SQLSTATES = frozenset({"40001", "40P01"})
_UNKNOWN_PREPARED_STATEMENT = "26000"

_ENTRY_FIELDS = [
    "id",
    "code",
    "idempotency_key",
    "reference",
    "metadata",
    "fingerprint",
    "reverses_id",
    "created_at",
]


# --- postings -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Leg:
    """One posting of an entry or hold: an account key, a direction and a positive amount."""

    account: str
    direction: Direction
    money: Money


def debit(account: str, money: Money) -> Leg:
    return Leg(account=account, direction=Direction.DEBIT, money=money)


def credit(account: str, money: Money) -> Leg:
    return Leg(account=account, direction=Direction.CREDIT, money=money)


@dataclass(frozen=True, slots=True)
class _AccountRef:
    id: int
    key: str
    kind: str
    currency: str
    no_overdraft: bool

    def effect(self, direction: str, amount: int) -> int:
        """The change a posting makes to the balance in the account's normal direction."""
        debit_normal = self.kind in DEBIT_NORMAL_KINDS
        return amount if (direction == Direction.DEBIT) == debit_normal else -amount


# --- prepared statements --------------------------------------------------------------------
# The hot path runs four statements per transfer. Parsing and planning them costs the
# database about as much as executing them, so each connection prepares them once (with
# arrays instead of VALUES lists, so one plan serves every number of postings).
_STATEMENTS = {
    "ledger_resolve": (
        "SELECT id, key, kind, currency, no_overdraft FROM ledger_account"
        " WHERE key = ANY($1::text[])"
    ),
    "ledger_insert_entry": """
        WITH e AS (
            INSERT INTO ledger_entry (code, idempotency_key, reference, metadata, fingerprint,
                                      reverses_id)
            VALUES ($1, $2, $3, $4::jsonb, $5, $6::bigint)
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id, created_at
        ), p AS (
            INSERT INTO ledger_posting (entry_id, account_id, direction, amount, currency)
            SELECT e.id, v.account_id, v.direction, v.amount, v.currency
            FROM e, unnest($7::bigint[], $8::text[], $9::bigint[], $10::text[])
                    WITH ORDINALITY AS v (account_id, direction, amount, currency, n)
            ORDER BY v.n
        ), d AS (
            INSERT INTO ledger_balancedelta (account_id, amount)
            SELECT v.account_id, v.amount
            FROM e, unnest($11::bigint[], $12::bigint[]) AS v (account_id, amount)
        )
        SELECT id, created_at FROM e
    """,
    "ledger_lock": (
        "SELECT id FROM ledger_account WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE"
    ),
    # Fold the deltas of the locked accounts and apply the change only if
    # balance >= pending_out still holds; report per account whether it did.
    "ledger_apply": """
        WITH folded AS (
            DELETE FROM ledger_balancedelta WHERE account_id = ANY($1::bigint[])
            RETURNING account_id, amount
        ), f AS (
            SELECT account_id, sum(amount)::bigint AS total FROM folded GROUP BY account_id
        ), c AS (
            SELECT v.id, v.change, v.pending, coalesce(f.total, 0) AS folded,
                   (NOT a.no_overdraft
                    OR a.balance + coalesce(f.total, 0) + v.change >= a.pending_out + v.pending)
                       AS ok
            FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v (id, change, pending)
            JOIN ledger_account a ON a.id = v.id
            LEFT JOIN f ON f.account_id = v.id
        )
        UPDATE ledger_account a
        SET balance = a.balance + c.folded + CASE WHEN c.ok THEN c.change ELSE 0 END,
            pending_out = a.pending_out + CASE WHEN c.ok THEN c.pending ELSE 0 END
        FROM c
        WHERE a.id = c.id
        RETURNING a.id, c.ok, a.balance - a.pending_out
    """,
}
_prepared_on: set[tuple[int, int]] = set()
# The same statements as plain SQL with named parameters ($1 -> %(p1)s; a parameter may
# appear twice), for connections that cannot keep a prepared statement.
_PLAIN = {
    name: re.sub(r"\$(\d+)", r"%(p\1)s", sql) for name, sql in _STATEMENTS.items()
}
_CASTS: dict[str, list[str | None]] = {
    "ledger_resolve": ["text[]"],
    "ledger_insert_entry": [None] * 6 + ["bigint[]", "text[]", "bigint[]", "text[]"]
    + ["bigint[]", "bigint[]"],
    "ledger_lock": ["bigint[]"],
    "ledger_apply": ["bigint[]", "bigint[]", "bigint[]"],
}


def _execute(cur, *steps: tuple[str, Sequence[Any]]) -> None:
    """Run hot-path statements, given as ``(name, params)``, in one round trip: ``EXECUTE``
    of the session's prepared statements, or their plain SQL when
    ``LEDGER_PREPARED_STATEMENTS`` is off (transaction-pooled connections).

    Several steps go as one query string, which psycopg2 sends as one simple-protocol
    message. PostgreSQL runs its statements in order, each with a snapshot of its own (READ
    COMMITTED takes one per statement, not per message, so a lock taken by one statement is
    seen by the next exactly as if it had been sent alone); an error stops the rest, and
    the cursor holds the rows of the last statement. One message instead of two saves a
    round trip on every debit (``_lock_and_apply``)."""
    sql: list[str] = []
    if not settings.LEDGER_PREPARED_STATEMENTS:
        named: dict[str, Any] = {}
        for step, (name, params) in enumerate(steps):
            # Each step's parameters under names of its own: $1 is p1 alone, s0p1 in a batch.
            prefix = f"s{step}p" if len(steps) > 1 else "p"
            sql.append(_PLAIN[name].replace("%(p", f"%({prefix}"))
            named.update({f"{prefix}{i}": value for i, value in enumerate(params, 1)})
        cur.execute("; ".join(sql), named)
        return
    _prepare(cur)
    values: list[Any] = []
    for name, params in steps:
        placeholders = ", ".join(f"%s::{c}" if c else "%s" for c in _CASTS[name])
        sql.append(f"EXECUTE {name}({placeholders})")
        values.extend(params)
    cur.execute("; ".join(sql), values)


def _prepare(cur) -> None:
    """Prepare the hot-path statements once per database session.

    Also sets the session's ``plan_cache_mode`` to ``force_generic_plan``: every prepared
    statement here is an index lookup whose plan does not depend on the parameters, and
    re-planning each call (PostgreSQL's default for the first executions and whenever it
    guesses a custom plan is cheaper) costs a third of the database time of a transfer.
    SET is transactional, so the session counts as prepared only once a transaction that
    did this has committed.
    """
    raw = connection.connection
    token = (id(raw), raw.get_backend_pid())
    if token in _prepared_on:
        return
    cur.execute(
        "SELECT current_setting('plan_cache_mode'),"
        " array(SELECT name FROM pg_prepared_statements WHERE name LIKE 'ledger%%')"
    )
    mode, existing = cur.fetchone()
    if mode != "force_generic_plan":
        cur.execute("SET plan_cache_mode = force_generic_plan")
    for name, sql in _STATEMENTS.items():
        if name not in existing:
            cur.execute(f"PREPARE {name} AS {sql}")
    transaction.on_commit(lambda: _prepared_on.add(token))


# --- accounts -------------------------------------------------------------------------------
def account_get_or_create(
    *,
    key: str,
    kind: str,
    currency: str,
    no_overdraft: bool,
    owner_id: int | None = None,
) -> Account:
    """Return the account with ``key``, creating it if needed. Raises ``AccountConflict``
    if it exists with other attributes, ``InvalidEntry`` for a malformed key or kind."""
    if not isinstance(key, str) or not 1 <= len(key) <= 200 or not key.isascii():
        raise InvalidEntry("Account keys are 1 to 200 ASCII characters.")
    if kind not in AccountKind.values:
        raise InvalidEntry(f"Unknown account kind {kind!r}.")
    currency_require_supported(currency)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO ledger_account (key, kind, currency, no_overdraft, owner_id,"
            " balance, pending_out) VALUES (%s, %s, %s, %s, %s, 0, 0)"
            " ON CONFLICT (key) DO NOTHING",
            [key, kind, currency, bool(no_overdraft), owner_id],
        )
    account = Account.objects.get(key=key)
    if (account.kind, account.currency, account.no_overdraft, account.owner_id) != (
        kind,
        currency,
        bool(no_overdraft),
        owner_id,
    ):
        raise AccountConflict(details={"key": key})
    return account


def _accounts_resolve(cur, keys: Sequence[str]) -> dict[str, _AccountRef]:
    """Map keys to accounts, creating missing chart accounts. Takes no locks."""
    _execute(cur, ("ledger_resolve", [list(keys)]))
    found = {row[1]: _AccountRef(*row) for row in cur.fetchall()}
    missing = [k for k in keys if k not in found]
    if missing:
        for key in missing:
            spec = chart.account_spec(key)
            if spec is None:
                raise AccountNotFound(details={"account": key})
            currency_require_supported(spec.currency)
            cur.execute(
                "INSERT INTO ledger_account (key, kind, currency, no_overdraft, owner_id,"
                " balance, pending_out) VALUES (%s, %s, %s, %s, %s, 0, 0)"
                " ON CONFLICT (key) DO NOTHING",
                [spec.key, spec.kind, spec.currency, spec.no_overdraft, spec.owner_id],
            )
        _execute(cur, ("ledger_resolve", [missing]))
        found.update({row[1]: _AccountRef(*row) for row in cur.fetchall()})
    return found


# --- validation -----------------------------------------------------------------------------
def _validate_header(
    code: str, idempotency_key: str, reference: str, metadata: dict | None
) -> tuple[str, dict]:
    if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
        raise InvalidEntry("The code must be a short lower-case identifier.", details={})
    if not isinstance(idempotency_key, str) or not _IDEMPOTENCY_KEY_RE.fullmatch(idempotency_key):
        raise InvalidEntry(
            "The idempotency key must be 1 to 128 characters of [A-Za-z0-9._:/@+=-].",
        )
    if not isinstance(reference, str) or len(reference) > MAX_REFERENCE_LENGTH:
        raise InvalidEntry(f"The reference is limited to {MAX_REFERENCE_LENGTH} characters.")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise InvalidEntry("Metadata must be a JSON object.")
    try:
        encoded = json.dumps(
            metadata, sort_keys=True, separators=(",", ":"), default=_no_json, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidEntry("Metadata must be JSON-serialisable without floats.") from exc
    if _has_float(metadata):
        raise InvalidEntry("Metadata must not contain floats: money is never a float.")
    if len(encoded) > MAX_METADATA_BYTES or "\\u0000" in encoded:
        raise InvalidEntry("Metadata is too large or contains NUL characters.")
    return encoded, metadata


def _no_json(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_float(v) for v in value)
    return False


def _validate_legs(postings: Iterable[Leg]) -> tuple[Leg, ...]:
    legs = tuple(postings)
    if len(legs) > MAX_LEGS:
        raise UnbalancedEntry(f"At most {MAX_LEGS} postings per entry.")
    for leg in legs:
        if not isinstance(leg, Leg) or not isinstance(leg.money, Money):
            raise TypeError("postings must be ledger.services.Leg values holding Money")
        if leg.direction not in (Direction.DEBIT, Direction.CREDIT):
            raise InvalidEntry("A posting's direction is debit or credit.")
        if leg.money.amount <= 0:
            raise AmountMustBePositive(details={"account": leg.account})
    if len(legs) < 2:
        raise UnbalancedEntry("An entry needs at least two postings.")
    keys = [leg.account for leg in legs]
    if len(set(keys)) != len(keys):
        raise AccountsMustBeDifferent(details={"accounts": sorted(set(keys))})
    sums: dict[str, int] = {}
    for leg in legs:
        sign = 1 if leg.direction == Direction.DEBIT else -1
        sums[leg.money.currency] = sums.get(leg.money.currency, 0) + sign * leg.money.amount
    unbalanced = {cur: total for cur, total in sums.items() if total != 0}
    if unbalanced:
        raise UnbalancedEntry(details={"imbalance": unbalanced})
    return legs


def _check_currencies(legs: Sequence[Leg], accounts: dict[str, _AccountRef]) -> None:
    for leg in legs:
        account = accounts[leg.account]
        if account.currency != leg.money.currency:
            raise CurrencyMismatch(
                details={
                    "account": account.key,
                    "account_currency": account.currency,
                    "currency": leg.money.currency,
                }
            )


def _fingerprint(kind: str, code: str, legs: Sequence[Leg], reference: str, meta: str) -> str:
    canonical = json.dumps(
        {
            "kind": kind,
            "code": code,
            "reference": reference,
            "metadata": meta,
            "legs": sorted(
                [leg.account, str(leg.direction), leg.money.amount, leg.money.currency]
                for leg in legs
            ),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- retries --------------------------------------------------------------------------------
def _retrying[T](fn: Callable[[], T]) -> T:
    for attempt in range(RETRIES):
        try:
            return fn()
        except (OperationalError, ProgrammingError) as exc:
            sqlstate = getattr(exc.__cause__, "pgcode", None)
            if sqlstate == _UNKNOWN_PREPARED_STATEMENT:
                # A new session that looked like a known one: prepare again.
                _prepared_on.clear()
            elif sqlstate not in _RETRY_SQLSTATES:
                raise
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


# --- the lock-and-check path ----------------------------------------------------------------
def _lock_and_apply(cur, changes: dict[int, tuple[int, int]], keys: dict[int, str]) -> None:
    """Apply ``{account_id: (balance_change, pending_out_change)}`` to no-overdraft accounts.

    Locks the rows in ascending id order, then (next statement, so that its snapshot sees
    every fold committed by the previous lock holder) folds each account's unfolded deltas,
    applies the changes and checks ``balance >= pending_out`` in one UPDATE. The two
    statements travel in one message (``_execute``). Raises ``InsufficientFunds``; the
    caller's transaction then rolls back, the fold included.
    """
    ids = sorted(changes)
    _execute(
        cur,
        ("ledger_lock", [ids]),
        ("ledger_apply", [ids, [changes[i][0] for i in ids], [changes[i][1] for i in ids]]),
    )
    rows = sorted(cur.fetchall())
    assert len(rows) == len(ids), "every locked account is updated"
    for account_id, ok, available in rows:
        if not ok:
            # The transaction rolls back, fold included; the figure is what was available.
            raise InsufficientFunds(details={"account": keys[account_id], "available": available})


def _split_legs(
    legs: Sequence[Leg], accounts: dict[str, _AccountRef]
) -> tuple[dict[int, int], list[tuple[int, int]]]:
    """Decreases of no-overdraft accounts (locked path) and everything else (deltas)."""
    decreases: dict[int, int] = {}
    deltas: list[tuple[int, int]] = []
    for leg in legs:
        account = accounts[leg.account]
        effect = account.effect(leg.direction, leg.money.amount)
        if account.no_overdraft and effect < 0:
            decreases[account.id] = effect
        else:
            deltas.append((account.id, effect))
    return decreases, deltas


def _insert_entry(
    cur,
    *,
    code: str,
    idempotency_key: str,
    reference: str,
    metadata_json: str,
    fingerprint: str,
    reverses_id: int | None,
    legs: Sequence[Leg],
    accounts: dict[str, _AccountRef],
    deltas: Sequence[tuple[int, int]],
) -> tuple[int, Any] | None:
    """Insert the entry, its postings and the balance deltas in one statement.

    Returns ``(id, created_at)``, or None when the idempotency key already exists (then
    nothing was inserted)."""
    _execute(
        cur,
        (
            "ledger_insert_entry",
            [
                code,
                idempotency_key,
                reference,
                metadata_json,
                fingerprint,
                reverses_id,
                [accounts[leg.account].id for leg in legs],
                [str(leg.direction) for leg in legs],
                [leg.money.amount for leg in legs],
                [leg.money.currency for leg in legs],
                [account_id for account_id, _ in deltas],
                [amount for _, amount in deltas],
            ],
        ),
    )
    row = cur.fetchone()
    if row is not None:
        # Counted once committed (a rolled-back savepoint drops its callbacks).
        transaction.on_commit(LEDGER_ENTRIES.labels(code=code).inc)
    return row


def _replayed_entry(idempotency_key: str, fingerprint: str) -> Entry:
    entry = Entry.objects.get(idempotency_key=idempotency_key)
    if entry.fingerprint != fingerprint:
        raise IdempotencyKeyReused(details={"idempotency_key": idempotency_key})
    return entry


# --- entries --------------------------------------------------------------------------------
def entry_post(
    *,
    code: str,
    idempotency_key: str,
    postings: Iterable[Leg],
    reference: str = "",
    metadata: dict | None = None,
) -> Entry:
    """Book one balanced entry, idempotently.

    Locks: the no-overdraft accounts it debits (ascending id), nothing else.
    Raises: ``UnbalancedEntry``, ``AccountsMustBeDifferent``, ``AmountMustBePositive``,
    ``CurrencyMismatch``, ``AccountNotFound``, ``InsufficientFunds``,
    ``IdempotencyKeyReused``, ``InvalidEntry``.
    """
    metadata_json, metadata = _validate_header(code, idempotency_key, reference, metadata)
    legs = _validate_legs(postings)
    fingerprint = _fingerprint("entry", code, legs, reference, metadata_json)
    return _retrying(
        lambda: _entry_post(
            code=code,
            idempotency_key=idempotency_key,
            legs=legs,
            reference=reference,
            metadata=metadata,
            metadata_json=metadata_json,
            fingerprint=fingerprint,
            reverses_id=None,
        )
    )


@transaction.atomic
def _entry_post(
    *,
    code: str,
    idempotency_key: str,
    legs: Sequence[Leg],
    reference: str,
    metadata: dict,
    metadata_json: str,
    fingerprint: str,
    reverses_id: int | None,
    actor_id: int | None = None,
    reason: str = "",
) -> Entry:
    with connection.cursor() as cur:
        accounts = _accounts_resolve(cur, [leg.account for leg in legs])
        _check_currencies(legs, accounts)
        decreases, deltas = _split_legs(legs, accounts)
        try:
            row = _insert_entry(
                cur,
                code=code,
                idempotency_key=idempotency_key,
                reference=reference,
                metadata_json=metadata_json,
                fingerprint=fingerprint,
                reverses_id=reverses_id,
                legs=legs,
                accounts=accounts,
                deltas=deltas,
            )
        except IntegrityError as exc:
            if reverses_id is not None and "reverses_id" in str(exc):
                raise EntryAlreadyReversed(details={"entry": reverses_id}) from exc
            raise
        if row is None:
            return _replayed_entry(idempotency_key, fingerprint)
        if decreases:
            by_id = {a.id: a.key for a in accounts.values()}
            _lock_and_apply(cur, {i: (c, 0) for i, c in decreases.items()}, by_id)
        if actor_id is not None:
            AuditEvent.objects.create(
                actor_id=actor_id,
                action="entry_reverse",
                entry_id=row[0],
                details={"reverses": reverses_id, "reason": reason},
            )
    # Built from what we inserted: no extra round trip on the hot path.
    return Entry.from_db(
        connection.alias,
        _ENTRY_FIELDS,
        (row[0], code, idempotency_key, reference, metadata, fingerprint, reverses_id, row[1]),
    )


def entry_reverse(
    *, entry: Entry, idempotency_key: str, actor_id: int | None = None, reason: str = ""
) -> Entry:
    """Book the mirror image of ``entry`` (every debit becomes a credit), at most once.

    A retry with the same key returns the reversal; another key raises
    ``EntryAlreadyReversed``. A reversal cannot be reversed (``EntryNotReversible``).
    Reversing a credit to a wallet debits it, so ``InsufficientFunds`` is possible.
    With ``actor_id`` (the staff user) an ``AuditEvent`` is written in the same transaction.
    """
    if entry.reverses_id is not None:
        raise EntryNotReversible(details={"entry": entry.pk})
    if not isinstance(reason, str) or len(reason) > 500:
        raise InvalidEntry("The reason is limited to 500 characters.")
    existing = Entry.objects.filter(reverses_id=entry.pk).first()
    if existing is not None:
        if existing.idempotency_key == idempotency_key:
            return existing
        raise EntryAlreadyReversed(details={"entry": entry.pk, "reversal": existing.pk})
    legs = tuple(
        Leg(
            account=p.account.key,
            direction=Direction.CREDIT if p.direction == Direction.DEBIT else Direction.DEBIT,
            money=Money(p.amount, p.currency),
        )
        for p in entry.postings.select_related("account").order_by("id")
    )
    reference = f"entry:{entry.pk}"
    metadata_json, metadata = _validate_header(
        REVERSAL_CODE, idempotency_key, reference, {"reverses": entry.pk}
    )
    fingerprint = _fingerprint("entry", REVERSAL_CODE, legs, reference, metadata_json)
    return _retrying(
        lambda: _entry_post(
            code=REVERSAL_CODE,
            idempotency_key=idempotency_key,
            legs=legs,
            reference=reference,
            metadata=metadata,
            metadata_json=metadata_json,
            fingerprint=fingerprint,
            reverses_id=entry.pk,
            actor_id=actor_id,
            reason=reason,
        )
    )


# --- holds ----------------------------------------------------------------------------------
def hold_create(
    *,
    code: str,
    idempotency_key: str,
    postings: Iterable[Leg],
    reference: str = "",
    metadata: dict | None = None,
) -> Hold:
    """Reserve money: the debits of ``postings`` on no-overdraft accounts stop being
    available until the hold is posted or voided. Nothing is booked yet.

    Locks: the no-overdraft accounts it debits (ascending id).
    Raises: as ``entry_post``.
    """
    metadata_json, metadata = _validate_header(code, idempotency_key, reference, metadata)
    legs = _validate_legs(postings)
    fingerprint = _fingerprint("hold", code, legs, reference, metadata_json)
    return _retrying(
        lambda: _hold_create(
            code=code,
            idempotency_key=idempotency_key,
            legs=legs,
            reference=reference,
            metadata_json=metadata_json,
            fingerprint=fingerprint,
        )
    )


@transaction.atomic
def _hold_create(
    *,
    code: str,
    idempotency_key: str,
    legs: Sequence[Leg],
    reference: str,
    metadata_json: str,
    fingerprint: str,
) -> Hold:
    with connection.cursor() as cur:
        accounts = _accounts_resolve(cur, [leg.account for leg in legs])
        _check_currencies(legs, accounts)
        decreases, _ = _split_legs(legs, accounts)
        leg_values = ", ".join(["(%s::bigint, %s, %s::bigint, %s)"] * len(legs))
        params: list[Any] = [code, idempotency_key, reference, metadata_json, fingerprint]
        for leg in legs:
            account = accounts[leg.account]
            params.extend([account.id, str(leg.direction), leg.money.amount, leg.money.currency])
        cur.execute(
            f"""
            WITH h AS (
                INSERT INTO ledger_hold (code, idempotency_key, reference, metadata, fingerprint,
                                         status)
                VALUES (%s, %s, %s, %s::jsonb, %s, 'pending')
                ON CONFLICT (idempotency_key) DO NOTHING
                RETURNING id
            ), l AS (
                INSERT INTO ledger_holdleg (hold_id, account_id, direction, amount, currency)
                SELECT h.id, v.account_id, v.direction, v.amount, v.currency
                FROM h, (VALUES {leg_values}) AS v (account_id, direction, amount, currency)
            )
            SELECT id FROM h
            """,  # noqa: S608 - only placeholders are interpolated
            params,
        )
        row = cur.fetchone()
        if row is None:
            hold = Hold.objects.get(idempotency_key=idempotency_key)
            if hold.fingerprint != fingerprint:
                raise IdempotencyKeyReused(details={"idempotency_key": idempotency_key})
            return hold
        if decreases:
            by_id = {a.id: a.key for a in accounts.values()}
            _lock_and_apply(cur, {i: (0, -c) for i, c in decreases.items()}, by_id)
    return Hold.objects.get(pk=row[0])


def _hold_lock(hold: Hold | int) -> Hold:
    hold_id = hold if isinstance(hold, int) else hold.pk
    # No select_related here: when the lock wait ends because another transaction posted
    # this hold, PostgreSQL re-reads the locked hold row but keeps the joined entry row of
    # the old snapshot (NULL), so posted_entry would be missing. The entry is read by its
    # own statement after the lock, which sees what the other transaction committed.
    return Hold.objects.select_for_update().get(pk=hold_id)


def _hold_legs(hold: Hold) -> tuple[tuple[Leg, ...], dict[str, _AccountRef]]:
    rows = hold.legs.select_related("account").order_by("id")
    legs = tuple(
        Leg(
            account=r.account.key,
            direction=Direction(r.direction),
            money=Money(r.amount, r.currency),
        )
        for r in rows
    )
    accounts = {
        r.account.key: _AccountRef(
            r.account.id, r.account.key, r.account.kind, r.account.currency, r.account.no_overdraft
        )
        for r in rows
    }
    return legs, accounts


def hold_post(*, hold: Hold | int, idempotency_key: str) -> Entry:
    """Book a pending hold as a new entry (same legs, the hold's code and reference).

    Exactly once: a retry with the same key returns the same entry; posting with another
    key, or posting a voided hold, raises ``HoldAlreadyResolved``.
    Locks: the hold row, then the no-overdraft accounts it debits (ascending id).
    """
    _validate_header("hold", idempotency_key, "", None)
    return _retrying(lambda: _hold_post(hold=hold, idempotency_key=idempotency_key))


@transaction.atomic
def _hold_post(*, hold: Hold | int, idempotency_key: str) -> Entry:
    locked = _hold_lock(hold)
    if locked.status == HoldStatus.POSTED:
        # Read the entry by id, not through the join: when this call waited on the row
        # lock of a concurrent post, PostgreSQL re-reads the locked hold row but keeps the
        # joined entry row of its older snapshot (none), so ``posted_entry`` can be None.
        assert locked.posted_entry_id is not None  # a CHECK holds posted <=> entry
        posted = Entry.objects.get(pk=locked.posted_entry_id)
        if posted.idempotency_key == idempotency_key:
            return posted
        raise HoldAlreadyResolved(details={"hold": locked.pk, "status": locked.status})
    if locked.status != HoldStatus.PENDING:
        raise HoldAlreadyResolved(details={"hold": locked.pk, "status": locked.status})
    legs, accounts = _hold_legs(locked)
    metadata = {"hold": locked.pk}
    metadata_json, _ = _validate_header(locked.code, idempotency_key, locked.reference, metadata)
    fingerprint = _fingerprint("entry", locked.code, legs, locked.reference, metadata_json)
    decreases, deltas = _split_legs(legs, accounts)
    with connection.cursor() as cur:
        row = _insert_entry(
            cur,
            code=locked.code,
            idempotency_key=idempotency_key,
            reference=locked.reference,
            metadata_json=metadata_json,
            fingerprint=fingerprint,
            reverses_id=None,
            legs=legs,
            accounts=accounts,
            deltas=deltas,
        )
        if row is None:
            raise IdempotencyKeyReused(details={"idempotency_key": idempotency_key})
        if decreases:
            by_id = {a.id: a.key for a in accounts.values()}
            # The reservation becomes the debit: balance and pending_out drop together.
            _lock_and_apply(cur, {i: (c, c) for i, c in decreases.items()}, by_id)
        cur.execute(
            "UPDATE ledger_hold SET status = 'posted', posted_entry_id = %s, resolved_at = now()"
            " WHERE id = %s AND status = 'pending'",
            [row[0], locked.pk],
        )
        assert cur.rowcount == 1, "the hold row is locked and pending"
    return Entry.objects.get(pk=row[0])


def hold_void(*, hold: Hold | int) -> Hold:
    """Release a pending hold: the reserved money is available again. Voiding a voided
    hold returns it unchanged; a posted hold raises ``HoldAlreadyResolved``.
    Locks: the hold row, then the no-overdraft accounts it debits (ascending id)."""
    return _retrying(lambda: _hold_void(hold=hold))


@transaction.atomic
def _hold_void(*, hold: Hold | int) -> Hold:
    locked = _hold_lock(hold)
    if locked.status == HoldStatus.VOIDED:
        return locked
    if locked.status != HoldStatus.PENDING:
        raise HoldAlreadyResolved(details={"hold": locked.pk, "status": locked.status})
    legs, accounts = _hold_legs(locked)
    decreases, _ = _split_legs(legs, accounts)
    with connection.cursor() as cur:
        if decreases:
            by_id = {a.id: a.key for a in accounts.values()}
            _lock_and_apply(cur, {i: (0, c) for i, c in decreases.items()}, by_id)
        cur.execute(
            "UPDATE ledger_hold SET status = 'voided', resolved_at = now()"
            " WHERE id = %s AND status = 'pending'",
            [locked.pk],
        )
        assert cur.rowcount == 1, "the hold row is locked and pending"
    return Hold.objects.get(pk=locked.pk)


# --- folding --------------------------------------------------------------------------------
def balance_deltas_fold(*, limit: int = 1000) -> int:
    """Fold the deltas of up to ``limit`` accounts into their cached balances.

    Returns the number of accounts folded. Safe to run at any time and concurrently with
    anything: it locks the accounts in ascending id order before deleting their deltas.
    """
    if not 1 <= limit <= 10_000:
        raise ValueError("limit must be between 1 and 10000")
    return _retrying(lambda: _balance_deltas_fold(limit=limit))


@transaction.atomic
def _balance_deltas_fold(*, limit: int) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT account_id FROM ledger_balancedelta ORDER BY account_id LIMIT %s",
            [limit],
        )
        ids = [row[0] for row in cur.fetchall()]
        if not ids:
            return 0
        cur.execute(
            "SELECT id FROM ledger_account WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
            [ids],
        )
        cur.execute(
            """
            WITH folded AS (
                DELETE FROM ledger_balancedelta WHERE account_id = ANY(%s)
                RETURNING account_id, amount
            ), f AS (
                SELECT account_id, sum(amount)::bigint AS total FROM folded GROUP BY account_id
            )
            UPDATE ledger_account a SET balance = a.balance + f.total
            FROM f WHERE a.id = f.account_id
            """,
            [ids],
        )
    return len(ids)
