"""Ledger reads: balances, statements, and the full verification behind ``ledger_verify``.

Every balance read adds the account's unfolded ``BalanceDelta`` rows to its cached
balance in the same statement (one snapshot), so a reader never sees a credit twice or a
half-applied fold. ``posted`` is the booked balance in the account's normal direction;
``pending_out`` is what open holds reserve (would decrease it), ``pending_in`` what they
would add; ``available = posted - pending_out``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from core.money import Money
from ledger import chart
from ledger.errors import AccountNotFound
from ledger.models import Entry, Posting

MAX_STATEMENT_PAGE = 200

_BALANCE_SQL = """
SELECT a.key, a.currency, a.kind,
       a.balance + coalesce((SELECT sum(d.amount) FROM ledger_balancedelta d
                             WHERE d.account_id = a.id), 0) AS posted,
       coalesce((SELECT sum(l.amount) FROM ledger_holdleg l JOIN ledger_hold h ON h.id = l.hold_id
                 WHERE l.account_id = a.id AND h.status = 'pending'
                   AND (l.direction = 'D') <> (a.kind IN ('asset', 'expense'))), 0) AS pending_out,
       coalesce((SELECT sum(l.amount) FROM ledger_holdleg l JOIN ledger_hold h ON h.id = l.hold_id
                 WHERE l.account_id = a.id AND h.status = 'pending'
                   AND (l.direction = 'D') = (a.kind IN ('asset', 'expense'))), 0) AS pending_in
FROM ledger_account a
"""


@dataclass(frozen=True, slots=True)
class Balance:
    account: str
    posted: Money
    pending_out: Money
    pending_in: Money

    @property
    def available(self) -> Money:
        return self.posted - self.pending_out

    @property
    def currency(self) -> str:
        return self.posted.currency


def _balance(row) -> Balance:
    key, currency, _kind, posted, pending_out, pending_in = row
    return Balance(
        account=key,
        posted=Money(int(posted), currency),
        pending_out=Money(int(pending_out), currency),
        pending_in=Money(int(pending_in), currency),
    )


def balance_of(*, account: str) -> Balance:
    """The balance of the account with key ``account``. Raises ``AccountNotFound``."""
    with connection.cursor() as cur:
        cur.execute(_BALANCE_SQL + " WHERE a.key = %s", [account])
        row = cur.fetchone()
    if row is None:
        raise AccountNotFound(details={"account": account})
    return _balance(row)


def balances_of_owner(*, owner_id: int) -> list[Balance]:
    """Every wallet balance of one user, by currency (for ``GET /wallet``)."""
    with connection.cursor() as cur:
        cur.execute(
            _BALANCE_SQL + " WHERE a.owner_id = %s AND a.key LIKE %s ORDER BY a.currency",
            [owner_id, chart.WALLET_PREFIX + "%"],
        )
        return [_balance(row) for row in cur.fetchall()]


def wallet_currencies_used(*, owner_id: int) -> set[str]:
    """The currencies of ``owner_id``'s wallets that money ever moved through."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT a.currency FROM ledger_account a WHERE a.owner_id = %s AND a.key LIKE %s"
            " AND EXISTS (SELECT 1 FROM ledger_posting p WHERE p.account_id = a.id)",
            [owner_id, chart.WALLET_PREFIX + "%"],
        )
        return {row[0] for row in cur.fetchall()}


# --- entries --------------------------------------------------------------------------------
def entry_by_key(*, idempotency_key: str) -> Entry:
    """The entry booked under ``idempotency_key``. Raises ``Entry.DoesNotExist``."""
    return Entry.objects.get(idempotency_key=idempotency_key)


@dataclass(frozen=True, slots=True)
class PostingLine:
    """One posting as other apps see it: which account, which way, how much."""

    account: str
    direction: str
    money: Money


def entry_postings(*, entry_id: int) -> list[PostingLine]:
    """The postings of one entry, in booking order."""
    rows = Posting.objects.filter(entry_id=entry_id).select_related("account").order_by("id")
    return [PostingLine(p.account.key, p.direction, Money(p.amount, p.currency)) for p in rows]


@dataclass(frozen=True, slots=True)
class ClearingPosting:
    """A posting on a processor clearing account, with what its entry says about the
    processor object it concerns (and, for a reversal, what the reversed entry says)."""

    entry_id: int
    direction: str
    amount: int
    currency: str
    metadata: dict
    reversed_metadata: dict | None


def processor_clearing_postings(
    *, processor: str, start: datetime, end: datetime, chunk_size: int = 2000
) -> Iterator[ClearingPosting]:
    """Every posting on ``processor``'s clearing accounts (all currencies) whose entry was
    booked in ``[start, end)``, oldest first, streamed ``chunk_size`` rows at a time."""
    postings = (
        Posting.objects.filter(
            account__key__startswith=chart.processor_clearing_prefix(processor),
            entry__created_at__gte=start,
            entry__created_at__lt=end,
        )
        .select_related("entry", "entry__reverses")
        .order_by("id")
    )
    for p in postings.iterator(chunk_size=chunk_size):
        reversed_entry = p.entry.reverses
        yield ClearingPosting(
            entry_id=p.entry_id,
            direction=p.direction,
            amount=p.amount,
            currency=p.currency,
            metadata=p.entry.metadata or {},
            reversed_metadata=None if reversed_entry is None else reversed_entry.metadata or {},
        )


@dataclass(frozen=True, slots=True)
class StatementLine:
    posting_id: int
    entry_id: int
    code: str
    reference: str
    created_at: datetime
    direction: str
    amount: Money
    change: Money  # signed, in the account's normal direction
    balance_after: Money


@dataclass(frozen=True, slots=True)
class StatementPage:
    lines: list[StatementLine]
    next_cursor: int | None  # pass as ``before`` for the next (older) page


def statement(*, account: str, before: int | None = None, limit: int = 50) -> StatementPage:
    """Posted lines of an account, newest first, each with the running balance after it.

    Cursor-paginated by posting id: ``before`` is the ``next_cursor`` of the previous page.
    The running balance is computed in the same statement as the page (one snapshot).
    """
    if type(limit) is not int or not 1 <= limit <= MAX_STATEMENT_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_STATEMENT_PAGE}")
    if before is not None and (type(before) is not int or before < 1):
        raise ValueError("before must be a positive posting id")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, currency, kind IN ('asset', 'expense') FROM ledger_account WHERE key = %s",
            [account],
        )
        found = cur.fetchone()
        if found is None:
            raise AccountNotFound(details={"account": account})
        account_id, currency, debit_normal = found
        sign = "" if debit_normal else "-"
        cur.execute(
            f"""
            WITH page AS (
                SELECT p.id, p.entry_id, e.code, e.reference, e.created_at, p.direction,
                       p.amount,
                       {sign}(CASE p.direction WHEN 'D' THEN p.amount ELSE -p.amount END)
                           AS change
                FROM ledger_posting p JOIN ledger_entry e ON e.id = p.entry_id
                WHERE p.account_id = %(account)s AND (%(before)s::bigint IS NULL
                                                      OR p.id < %(before)s::bigint)
                ORDER BY p.id DESC
                LIMIT %(limit)s
            )
            SELECT page.*,
                   (SELECT coalesce(sum({sign}(CASE q.direction WHEN 'D' THEN q.amount
                                                              ELSE -q.amount END)), 0)
                    FROM ledger_posting q
                    WHERE q.account_id = %(account)s
                      AND q.id <= (SELECT max(id) FROM page)) AS top_balance
            FROM page ORDER BY page.id DESC
            """,  # noqa: S608 - sign is "" or "-", chosen above
            {"account": account_id, "before": before, "limit": limit + 1},
        )
        rows = cur.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    lines = []
    running = int(rows[0][8]) if rows else 0
    for pid, entry_id, code, reference, created_at, direction, amount, change, _ in rows:
        lines.append(
            StatementLine(
                posting_id=pid,
                entry_id=entry_id,
                code=code,
                reference=reference,
                created_at=created_at,
                direction=direction,
                amount=Money(int(amount), currency),
                change=Money(int(change), currency),
                balance_after=Money(running, currency),
            )
        )
        running -= int(change)
    return StatementPage(lines=lines, next_cursor=lines[-1].posting_id if more else None)


# --- verification ---------------------------------------------------------------------------
@dataclass
class VerifyReport:
    checked: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    # "full", or "incremental from checkpoint #N".
    scope: str = "full"

    @property
    def ok(self) -> bool:
        return not self.findings


_FINDINGS_LIMIT = 100
# Larger than any posting id: "no upper bound".
_NO_LIMIT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class VerifyScope:
    """What a run re-reads: rows with ids above ``*_from`` (0: everything), on top of the
    per-account sums and per-currency totals of checkpoint ``checkpoint_id`` (None: none).
    ``posting_upto``: where the figures the run hands back for a new checkpoint stop."""

    posting_from: int = 0
    entry_from: int = 0
    hold_from: int = 0
    checkpoint_id: int | None = None
    totals: dict = field(default_factory=dict)
    posting_upto: int = _NO_LIMIT


# Per account (and its currency), what the postings after ``posting_from`` add: all of
# them (for the checks) and those up to ``posting_upto`` (for the next checkpoint).
NEW_SUMS_SQL = """
SELECT account_id, currency,
       sum(CASE direction WHEN 'D' THEN amount ELSE -amount END) AS net_all,
       sum(CASE direction WHEN 'D' THEN amount ELSE 0 END) AS debits_all,
       count(*) AS n_all,
       coalesce(sum(CASE direction WHEN 'D' THEN amount ELSE -amount END)
                FILTER (WHERE id <= %(upto)s), 0) AS net_upto,
       coalesce(sum(CASE direction WHEN 'D' THEN amount ELSE 0 END)
                FILTER (WHERE id <= %(upto)s), 0) AS debits_upto,
       count(*) FILTER (WHERE id <= %(upto)s) AS n_upto
FROM ledger_posting WHERE id > %(posting_from)s
GROUP BY account_id, currency
"""


def ledger_verify(*, hold_max_age: timedelta) -> VerifyReport:
    """Recompute everything from postings in one REPEATABLE READ snapshot.

    Checks: every cached balance (plus unfolded deltas) equals the signed sum of its
    postings; every no-overdraft account's reserved amount equals its open holds and its
    available balance is not negative; every entry and every hold has two or more legs
    summing to zero per currency; postings sum to zero per currency over the whole ledger;
    no processor payment (entry metadata ``payment``) is booked into a processor clearing
    account by two standing entries; no hold is pending for longer than ``hold_max_age``.
    At most 100 findings per check are listed. (``ledger.checkpoints`` runs the same checks
    from a checkpoint, and records checkpoints.)
    """
    report = VerifyReport()
    # Inside an outer transaction (a test) its snapshot rules; alone, take one snapshot.
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cur:
        if own_transaction:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        ledger_checks(cur, report, hold_max_age=hold_max_age, scope=VerifyScope(), new_sums=None)
    return report


def ledger_checks(
    cur, report: VerifyReport, *, hold_max_age: timedelta, scope: VerifyScope, new_sums: str | None
) -> None:
    """Run every check of ``ledger_verify`` on ``cur``'s snapshot, over ``scope``.

    ``new_sums`` names a (temporary) table holding ``NEW_SUMS_SQL``'s result, or None to
    compute it inline. With a checkpoint in ``scope``: each cached balance must equal the
    checkpoint's sum plus the postings after it; entries and holds after the checkpoint
    must balance; the checkpoint's net plus the new postings' must be zero per currency;
    a new entry naming a processor payment must be the only standing one naming it.
    Reservations, overdrafts and stale holds are always checked over every account and
    every pending hold (those do not grow with the ledger's history).
    """
    params = {
        "posting_from": scope.posting_from,
        "upto": scope.posting_upto,
        "checkpoint": scope.checkpoint_id,
        "limit": _FINDINGS_LIMIT,
    }
    new = new_sums or f"({NEW_SUMS_SQL})"

    def count(name: str, sql: str, args=None) -> None:
        cur.execute(sql, args)
        report.checked[name] = int(cur.fetchone()[0])

    count("accounts", "SELECT count(*) FROM ledger_account")
    count("entries", "SELECT count(*) FROM ledger_entry WHERE id > %s", [scope.entry_from])
    count("postings", f"SELECT coalesce(sum(n_all), 0) FROM {new} n", params)  # noqa: S608
    count("holds", "SELECT count(*) FROM ledger_hold WHERE id > %s", [scope.hold_from])
    count("unfolded_deltas", "SELECT count(*) FROM ledger_balancedelta")

    cur.execute(
        f"""
        WITH sums AS (
            SELECT account_id, sum(net) AS net FROM (
                SELECT account_id, net_all AS net FROM {new} n
                UNION ALL
                SELECT account_id, net FROM ledger_verifycheckpointsum
                WHERE checkpoint_id = %(checkpoint)s
            ) parts GROUP BY account_id
        ), deltas AS (
            SELECT account_id, sum(amount) AS total FROM ledger_balancedelta
            GROUP BY account_id
        )
        SELECT a.key, a.balance + coalesce(d.total, 0) AS cached,
               CASE WHEN a.kind IN ('asset', 'expense') THEN 1 ELSE -1 END
                   * coalesce(s.net, 0) AS recomputed
        FROM ledger_account a
        LEFT JOIN sums s ON s.account_id = a.id
        LEFT JOIN deltas d ON d.account_id = a.id
        WHERE a.balance + coalesce(d.total, 0)
              <> CASE WHEN a.kind IN ('asset', 'expense') THEN 1 ELSE -1 END
                 * coalesce(s.net, 0)
        ORDER BY a.id LIMIT %(limit)s
        """,  # noqa: S608 - ``new`` is this module's SQL or a table name of ours
        params,
    )
    for key, cached, recomputed in cur.fetchall():
        report.findings.append(
            f"balance drift: {key} cached {cached} but postings sum to {recomputed}"
        )

    cur.execute(
        """
        WITH reserved AS (
            SELECT l.account_id, sum(l.amount) AS total
            FROM ledger_holdleg l JOIN ledger_hold h ON h.id = l.hold_id
            JOIN ledger_account a ON a.id = l.account_id
            WHERE h.status = 'pending'
              AND (l.direction = 'D') <> (a.kind IN ('asset', 'expense'))
            GROUP BY l.account_id
        )
        SELECT a.key, a.pending_out, coalesce(r.total, 0), a.balance
        FROM ledger_account a LEFT JOIN reserved r ON r.account_id = a.id
        WHERE a.no_overdraft
          AND (a.pending_out <> coalesce(r.total, 0) OR a.balance < a.pending_out)
        ORDER BY a.id LIMIT %s
        """,
        [_FINDINGS_LIMIT],
    )
    for key, pending_out, reserved, balance in cur.fetchall():
        report.findings.append(
            f"hold drift or overdraft: {key} pending_out {pending_out}, open holds "
            f"reserve {reserved}, folded balance {balance}"
        )

    # One aggregate over the legs (not a subquery per entry, which would probe the entry
    # index of every posting partition once per entry).
    for table, parent, label, start in (
        ("ledger_posting", "entry_id", "entry", scope.entry_from),
        ("ledger_holdleg", "hold_id", "hold", scope.hold_from),
    ):
        parent_table = "ledger_entry" if label == "entry" else "ledger_hold"
        cur.execute(
            f"""
            WITH legs AS (
                SELECT parent_id, sum(n) AS n, bool_and(net = 0) AS balanced FROM (
                    SELECT p.{parent} AS parent_id, count(*) AS n,
                           sum(CASE p.direction WHEN 'D' THEN p.amount ELSE -p.amount END)
                               AS net
                    FROM {table} p WHERE p.{parent} > %(start)s
                    GROUP BY p.{parent}, p.currency
                ) per_currency GROUP BY parent_id
            )
            SELECT x.id FROM {parent_table} x LEFT JOIN legs l ON l.parent_id = x.id
            WHERE x.id > %(start)s AND (coalesce(l.n, 0) < 2 OR NOT l.balanced)
            ORDER BY x.id LIMIT %(limit)s
            """,  # noqa: S608 - table names are constants of this function
            {"start": start, "limit": _FINDINGS_LIMIT},
        )
        for (bad_id,) in cur.fetchall():
            report.findings.append(
                f"unbalanced {label}: #{bad_id} has fewer than two legs or a non-zero sum"
            )

    cur.execute(
        f"SELECT currency, sum(debits_all), sum(net_all) FROM {new} n"  # noqa: S608
        " GROUP BY currency",
        params,
    )
    debits = {c: int(scope.totals.get(c, {}).get("debits", 0)) for c in scope.totals}
    nets = {c: int(scope.totals.get(c, {}).get("net", 0)) for c in scope.totals}
    for currency, new_debits, new_net in cur.fetchall():
        debits[currency] = debits.get(currency, 0) + int(new_debits)
        nets[currency] = nets.get(currency, 0) + int(new_net)
    for currency in sorted(debits):
        report.totals[currency] = debits[currency]
        if nets[currency] != 0:
            report.findings.append(f"global imbalance: {currency} postings sum to {nets[currency]}")

    # Money that arrived at a processor is booked once: a debit of a processor clearing
    # account names the processor payment it came from (metadata "payment"). Two
    # standing entries for one payment (neither reversed) mean it was credited twice
    # (a top-up and another top-up or card tip fed by the same charge). From a checkpoint,
    # only payments named by an entry after it can have become doubles.
    # From a checkpoint, the payments named by new entries are looked up by value in the
    # expression index (an ARRAY, so that it is an index condition, not a filter).
    only_new = (
        ""
        if scope.entry_from == 0
        else "AND e.metadata->>'payment' = ANY(ARRAY("
        " SELECT n.metadata->>'payment' FROM ledger_entry n"
        " WHERE n.id > %(entry_from)s AND n.metadata ? 'payment'))"
    )
    cur.execute(
        f"""
        SELECT split_part(a.key, ':', 3), e.metadata->>'payment',
               array_agg(DISTINCT e.id ORDER BY e.id)
        FROM ledger_entry e
        JOIN ledger_posting p ON p.entry_id = e.id AND p.direction = 'D'
        JOIN ledger_account a ON a.id = p.account_id
        WHERE a.key LIKE 'platform:processor\\_clearing:%%'
          AND e.metadata ? 'payment' AND coalesce(e.metadata->>'payment', '') <> ''
          AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_id = e.id)
          {only_new}
        GROUP BY 1, 2 HAVING count(DISTINCT e.id) > 1
        ORDER BY 2 LIMIT %(limit)s
        """,  # noqa: S608 - only_new is one of two constants
        {"entry_from": scope.entry_from, "limit": _FINDINGS_LIMIT},
    )
    for processor, payment, entry_ids in cur.fetchall():
        report.findings.append(
            f"payment credited twice: {processor} payment {payment} is booked by entries "
            + ", ".join(f"#{i}" for i in entry_ids)
        )
    count(
        "processor_payments",
        "SELECT count(DISTINCT e.metadata->>'payment') FROM ledger_entry e"
        " WHERE e.id > %s AND e.metadata ? 'payment'"
        " AND coalesce(e.metadata->>'payment', '') <> ''",
        [scope.entry_from],
    )

    cutoff = timezone.now() - hold_max_age
    cur.execute(
        "SELECT id, code, created_at FROM ledger_hold WHERE status = 'pending'"
        " AND created_at < %s ORDER BY id LIMIT %s",
        [cutoff, _FINDINGS_LIMIT],
    )
    for hold_id, code, created_at in cur.fetchall():
        report.findings.append(
            f"stale hold: #{hold_id} ({code}) pending since {created_at.isoformat()}"
        )
