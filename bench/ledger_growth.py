"""Ledger growth benchmark: inserts and verification on a large, partitioned ledger.

    python bench/ledger_growth.py [--postings 2000000] [--entries 2000] [--wallets 10000]
                                  [--keep]

(``make bench-ledger-growth`` runs it with the defaults.) In its own database
(``--database``, default ``sp_bench_growth``) on the ``DATABASE_URL`` server, in one run, it
measures:

1. insert throughput through ``ledger.services.entry_post`` (one process, transfers between
   random wallets, 2 postings each, deltas folded as beat would) on an empty ledger;
2. bulk fill to ``--postings`` postings in SQL: zero-sum pairs (a processor clearing
   account debited, a random wallet credited), 200,000 entries per transaction, with the
   session in ``session_replication_role = replica`` so that neither the triggers nor the
   foreign keys run per row (needs a superuser); cached balances are then set from the
   postings, and the full verification that follows checks every rule the fill skipped;
3. a full ``ledger_verify`` (which records a checkpoint);
4. the same insert throughput at that size;
5. an incremental ``ledger_verify`` after those ``--entries`` new entries;
6. the posting and balance-delta partitions: count, rows and size.

``--keep`` reuses a database filled by an earlier run (the fill is then skipped up to the
postings it already holds, and the empty-ledger figure is not measured). Figures swing with
the machine's load; the load average is printed with them. On a busy machine, compare
insert throughput by alternating runs close in time: ``--keep`` on the large database and
``--postings 1000 --database sp_bench_growth_small`` for the empty ledger.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
from harness import database_ensure, database_url, migrate, smoke_database  # noqa: E402

DATABASE = "sp_bench_growth"
if "--database" in sys.argv:
    DATABASE = sys.argv[sys.argv.index("--database") + 1]
if "--smoke" in sys.argv:
    # Before Django reads DATABASE_URL: a smoke run writes to a throwaway database.
    os.environ["DATABASE_URL"] = database_url(smoke_database(DATABASE))
elif "--keep" not in sys.argv:
    database_ensure(DATABASE, fresh=True)
    os.environ["DATABASE_URL"] = database_url(DATABASE)
else:
    database_ensure(DATABASE)
    os.environ["DATABASE_URL"] = database_url(DATABASE)

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from core.money import Money  # noqa: E402
from ledger import chart  # noqa: E402
from ledger.checkpoints import ledger_verify_run  # noqa: E402
from ledger.partitions import partitions_describe, posting_partitions_ensure  # noqa: E402
from ledger.services import balance_deltas_fold, credit, debit, entry_post  # noqa: E402

USER_BASE = 10**12
CURRENCY = "USD"
FUNDING = 10**9
FILL_BATCH = 200_000  # entries (two postings each) per fill transaction
CLEARING = chart.processor_clearing_key("bench", CURRENCY)


def wallet(i: int) -> str:
    return chart.wallet_key(USER_BASE + i, CURRENCY)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def postings_count() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(pg_sequence_last_value('ledger_posting_id_seq'), 0)")
        return cur.fetchone()[0]


def fund_wallets(n: int) -> None:
    """Create and fund ``n`` wallets through the service, 15 credits per entry."""
    for start in range(0, n, 15):
        keys = [wallet(i) for i in range(start, min(start + 15, n))]
        entry_post(
            code="topup",
            idempotency_key=f"bench-growth-fund:{n}:{start}",
            postings=[debit(CLEARING, Money(FUNDING * len(keys), CURRENCY))]
            + [credit(k, Money(FUNDING, CURRENCY)) for k in keys],
        )


def backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend, when it runs on this machine."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def inserts(entries: int, wallets: int, tag: str) -> tuple[float, float | None]:
    """Entries per second through ``entry_post`` (transfers between random wallets), after
    an untimed warm-up (the session's prepared statements, caches), and the database CPU
    milliseconds per entry (the backend's, folds included) when the server is local."""
    rng = random.Random(tag)
    warm_up = min(100, entries)
    cpu_before = None
    for i in range(-warm_up, entries):
        if i == 0:
            cpu_before = backend_cpu()
            started = time.monotonic()
        a, b = rng.sample(range(wallets), 2)
        entry_post(
            code="transfer",
            idempotency_key=f"bench-growth:{tag}:{i}",
            postings=[debit(wallet(a), Money(1, CURRENCY)), credit(wallet(b), Money(1, CURRENCY))],
        )
        if i % 500 == 499:
            balance_deltas_fold(limit=10_000)
    elapsed = time.monotonic() - started
    while balance_deltas_fold(limit=10_000):
        pass
    cpu_after = backend_cpu()
    cpu_ms = None
    if cpu_before is not None and cpu_after is not None:
        cpu_ms = (cpu_after - cpu_before) * 1000 / entries
    return entries / elapsed, cpu_ms


def show_inserts(label: str, figures: tuple[float, float | None]) -> str:
    eps, cpu_ms = figures
    cpu = "" if cpu_ms is None else f", database {cpu_ms:.2f} CPU-ms/entry"
    return f"inserts, {label}: {eps:,.0f} entries/s{cpu} (load {load()})"


def fill(target: int, wallets: int) -> None:
    """Add zero-sum pairs in SQL until the ledger holds ``target`` postings."""
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM ledger_account WHERE key = %s", [CLEARING])
        clearing = cur.fetchone()[0]
        cur.execute(
            "SELECT array_agg(id ORDER BY id) FROM ledger_account WHERE key LIKE %s",
            [chart.WALLET_PREFIX + "%"],
        )
        wallet_ids = cur.fetchone()[0]
        assert len(wallet_ids) == wallets
    started = time.monotonic()
    while (have := postings_count()) < target:
        batch = min(FILL_BATCH, (target - have + 1) // 2)
        posting_partitions_ensure(ahead=3)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute(
                """
                WITH e AS (
                    INSERT INTO ledger_entry (code, idempotency_key, reference, metadata,
                                              fingerprint)
                    SELECT 'bench_fill', 'bench-fill:' || %(have)s || ':' || g, '', '{}', 'fill'
                    FROM generate_series(1, %(batch)s) g
                    RETURNING id
                )
                INSERT INTO ledger_posting (entry_id, account_id, direction, amount, currency)
                SELECT e.id, CASE leg WHEN 'D' THEN %(clearing)s
                                      ELSE (%(wallet_ids)s::bigint[])[
                                          1 + (e.id * 7919) %% %(wallets)s] END,
                       leg, 1 + e.id %% 5000, 'USD'
                FROM e, (VALUES ('D'), ('C')) AS legs (leg)
                ORDER BY e.id, leg DESC
                """,
                {
                    "have": have,
                    "batch": batch,
                    "clearing": clearing,
                    "wallet_ids": wallet_ids,
                    "wallets": wallets,
                },
            )
        done = postings_count()
        rate = (done - have) / max(time.monotonic() - started, 1e-9)
        started = time.monotonic()
        print(f"  filled to {done:,} postings ({rate:,.0f} postings/s, load {load()})")
    with transaction.atomic(), connection.cursor() as cur:
        # The fill wrote no balance changes: the cached balances catch up in one statement.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(
            """
            WITH sums AS (
                SELECT account_id, sum(CASE direction WHEN 'D' THEN amount ELSE -amount END) net
                FROM ledger_posting GROUP BY account_id
            )
            UPDATE ledger_account a
            SET balance = CASE WHEN a.kind IN ('asset', 'expense') THEN 1 ELSE -1 END * s.net
                          - coalesce((SELECT sum(amount) FROM ledger_balancedelta d
                                      WHERE d.account_id = a.id), 0)
            FROM sums s WHERE s.account_id = a.id
            """
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE ledger_entry, ledger_posting, ledger_account")
    posting_partitions_ensure(ahead=3)


def verify(incremental: bool) -> tuple[float, dict]:
    started = time.monotonic()
    report = ledger_verify_run(hold_max_age=timedelta(days=3650), incremental=incremental)
    elapsed = time.monotonic() - started
    if not report.ok:
        raise SystemExit(f"verification found: {report.findings[:5]}")
    return elapsed, report.checked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postings", type=int, default=2_000_000)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="reuse an earlier run's database")
    parser.add_argument("--database", default=DATABASE, help="the benchmark's own database")
    parser.add_argument(
        "--smoke", action="store_true", help="toy size on a throwaway database (for the tests)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.postings, args.entries, args.wallets = 3000, 50, 20
    if not (1000 <= args.postings <= 10**9 and 10 <= args.entries <= 10**6):
        parser.error("postings 1000-1000000000, entries 10-1000000")
    if not 2 <= args.wallets <= 10**6:
        parser.error("wallets 2-1000000")
    migrate()
    print(f"database {connection.settings_dict['NAME']}; load average {load()}")

    empty = None
    if postings_count() == 0:
        fund_wallets(args.wallets)
        empty = inserts(args.entries, args.wallets, "empty")
        print(show_inserts(f"near-empty ledger ({postings_count():,} postings)", empty))
    started = time.monotonic()
    fill(args.postings, args.wallets)
    print(f"fill: {time.monotonic() - started:.0f}s to {postings_count():,} postings")

    full_seconds, checked = verify(incremental=False)
    print(
        f"full verify: {full_seconds:.1f}s over {checked['postings']:,} postings,"
        f" {checked['entries']:,} entries (load {load()})"
    )
    at_size = inserts(args.entries, args.wallets, f"at-{postings_count()}")
    print(show_inserts(f"at {postings_count():,} postings", at_size))
    if empty:
        print(f"  entries/s at size / near-empty = {at_size[0] / empty[0]:.2f}")
    incremental_seconds, checked = verify(incremental=True)
    print(
        f"incremental verify: {incremental_seconds:.2f}s over {checked['entries']:,} new"
        f" entries, {checked['postings']:,} postings (full/incremental ="
        f" {full_seconds / max(incremental_seconds, 1e-6):.0f}x, load {load()})"
    )

    described = partitions_describe()
    for parent in ("ledger_posting", "ledger_balancedelta"):
        parts = [p for p in described if p.parent == parent]
        total = sum(p.total_bytes for p in parts)
        print(f"{parent}: {len(parts)} partitions, {total / 2**20:,.0f} MiB with indexes")
        for p in parts:
            if parent == "ledger_posting":
                print(f"  {p.table}: ~{p.rows_estimate:,} rows, {p.total_bytes / 2**20:,.0f} MiB")
    with connection.cursor() as cur:
        cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"database size: {cur.fetchone()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
