"""Ledger benchmark: transfers through ``ledger.services`` with N concurrent workers.

    python bench/ledger.py [--workers 8] [--seconds 10] [--wallets 10000] [--rounds 1]
                           [--no-pgbench]

(``make bench-ledger`` runs it with the defaults.) Against the PostgreSQL in
``DATABASE_URL``, in one run, it measures:

(a) ``random``: transfers between two random wallets out of ``--wallets`` (2 postings);
(b) ``hot``: tips from a random wallet to ONE creator wallet with a 10% fee to
    ``platform:fees`` (3 postings), so every entry credits the same two accounts;
(c) ``pgbench``'s built-in tpcb-like script with the same number of clients, on a scratch
    database ``<name>_pgbench`` on the same server (scale = clients, so pgbench's own
    branch rows are not one hot row).

Each worker is a process (no GIL between them) calling ``entry_post`` in a loop; a
separate process folds balance deltas every second, as Celery beat would. It prints
entries/s, p50/p99 latency and CPU per entry (the worker and, when the database is
local, its PostgreSQL backend) per case, and the two ratios the ledger must reach:
hot/random >= 0.8 and random/pgbench >= 1/3, each measured within one round; with
``--rounds N`` the cases alternate N times and the median ratios are printed too (the
figures swing a lot on a shared machine).

The bench writes real entries (under ``bench`` idempotency keys and user ids from 10**12):
point it at a development or scratch database, never at production.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
if "--smoke" in sys.argv:
    # Before Django reads DATABASE_URL: a smoke run writes to a throwaway database.
    from harness import database_url, smoke_database

    os.environ["DATABASE_URL"] = database_url(smoke_database("sp_bench_ledger"))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402

from core.money import Money  # noqa: E402
from ledger import chart  # noqa: E402
from ledger.services import balance_deltas_fold, credit, debit, entry_post  # noqa: E402

USER_BASE = 10**12
CREATOR = USER_BASE - 1
FUNDING = 10**9  # minor units per wallet: nobody runs out during a run
CURRENCY = "USD"


def wallet(i: int) -> str:
    return chart.wallet_key(USER_BASE + i, CURRENCY)


def setup_wallets(n: int) -> None:
    """Fund ``n`` wallets (and the creator) with entries of 15 credits each."""
    clearing = chart.processor_clearing_key("bench", CURRENCY)
    keys = [wallet(i) for i in range(n)] + [chart.wallet_key(CREATOR, CURRENCY)]
    for start in range(0, len(keys), 15):
        chunk = keys[start : start + 15]
        entry_post(
            code="topup",
            idempotency_key=f"bench-fund:{n}:{start}",
            postings=[
                debit(clearing, Money(FUNDING * len(chunk), CURRENCY)),
                *(credit(k, Money(FUNDING, CURRENCY)) for k in chunk),
            ],
        )
    while balance_deltas_fold(limit=10_000):
        pass


def worker(case: str, index: int, run: str, n: int, start: float, seconds: float, out) -> None:
    rng = random.Random(f"{run}:{case}:{index}")
    creator = chart.wallet_key(CREATOR, CURRENCY)
    fees = chart.fees_key(CURRENCY)
    latencies: list[float] = []
    errors = 0
    i = 0
    backend = _backend_pid()
    while time.monotonic() < start:
        time.sleep(0.001)
    cpu0, db_cpu0 = time.process_time(), _process_cpu(backend)
    end = start + seconds
    while time.monotonic() < end:
        i += 1
        payer = wallet(rng.randrange(n))
        if case == "random":
            payee = wallet(rng.randrange(n))
            if payee == payer:
                continue
            postings = [debit(payer, Money(100, CURRENCY)), credit(payee, Money(100, CURRENCY))]
        else:
            postings = [
                debit(payer, Money(100, CURRENCY)),
                credit(creator, Money(90, CURRENCY)),
                credit(fees, Money(10, CURRENCY)),
            ]
        t0 = time.perf_counter()
        try:
            entry_post(
                code="transfer" if case == "random" else "tip",
                idempotency_key=f"bench:{run}:{case}:{index}:{i}",
                postings=postings,
            )
        except Exception:
            errors += 1
            continue
        latencies.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0, _process_cpu(backend) - db_cpu0)
    connections.close_all()
    out.put((latencies, errors, cpu))


def _backend_pid() -> int:
    with connections["default"].cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def _process_cpu(pid: int) -> float:
    """CPU seconds of a local process (the worker's PostgreSQL backend); NaN if remote."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def folder(stop_at: float) -> None:
    while time.monotonic() < stop_at:
        balance_deltas_fold(limit=1000)
        time.sleep(1)
    connections.close_all()


def run_case(case: str, workers: int, seconds: float, n: int) -> dict:
    ctx = mp.get_context("fork")
    connections.close_all()  # children must open their own connections
    out = ctx.Queue()
    run = uuid.uuid4().hex[:8]
    start = time.monotonic() + 1.0
    procs = [
        ctx.Process(target=worker, args=(case, i, run, n, start, seconds, out))
        for i in range(workers)
    ]
    procs.append(ctx.Process(target=folder, args=(start + seconds,)))
    for p in procs:
        p.start()
    latencies: list[float] = []
    errors = 0
    app_cpu = db_cpu = 0.0
    for _ in range(workers):
        lat, err, (app, db) = out.get(timeout=seconds + 120)
        latencies.extend(lat)
        errors += err
        app_cpu += app
        db_cpu += db
    for p in procs:
        p.join(timeout=30)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "case": case,
        "entries": len(latencies),
        "errors": errors,
        "eps": len(latencies) / seconds,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        # CPU per entry is far steadier than entries/s on a shared machine.
        "app_cpu_ms": app_cpu * 1000 / max(len(latencies), 1),
        "db_cpu_ms": db_cpu * 1000 / max(len(latencies), 1),
    }


class PgBench:
    """pgbench's tpcb-like script on a scratch database next to the configured one."""

    def __init__(self, clients: int, *, wanted: bool = True):
        self.binary = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
        self.available = wanted and Path(self.binary).exists()
        self.clients = clients
        db = settings.DATABASES["default"]
        self.scratch = f"{db['NAME']}_pgbench"
        self.env = dict(os.environ)
        self.env.update(
            {
                "PGHOST": db.get("HOST") or "",
                "PGPORT": str(db.get("PORT") or "5432"),
                "PGUSER": db.get("USER") or "",
                "PGPASSWORD": db.get("PASSWORD") or "",
            }
        )
        self.psql = shutil.which("psql") or str(Path(self.binary).with_name("psql"))

    def _psql(self, sql: str, check: bool = True) -> None:
        subprocess.run(
            [self.psql, "-d", "postgres", "-qc", sql],
            env=self.env,
            check=check,
            capture_output=True,
        )

    def __enter__(self) -> PgBench:
        if self.available:
            self._psql(f'DROP DATABASE IF EXISTS "{self.scratch}"')
            self._psql(f'CREATE DATABASE "{self.scratch}"')
            # Scale = clients, so that pgbench's own branch rows are not one hot row.
            subprocess.run(
                [self.binary, "-i", "-q", "-s", str(self.clients), self.scratch],
                env=self.env,
                check=True,
                capture_output=True,
            )
        else:
            print("pgbench not found; skipping the reference run", file=sys.stderr)
        return self

    def __exit__(self, *exc) -> None:
        if self.available:
            self._psql(f'DROP DATABASE IF EXISTS "{self.scratch}"', check=False)

    def tps(self, seconds: int) -> float | None:
        if not self.available:
            return None
        c = str(self.clients)
        result = subprocess.run(
            [
                self.binary,
                "-n",
                "-b",
                "tpcb-like",
                "-c",
                c,
                "-j",
                "2",
                "-T",
                str(seconds),
                self.scratch,
            ],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        for line in result.stdout.splitlines():
            if line.startswith("tps = "):
                return float(line.split()[2])
        raise RuntimeError(f"unexpected pgbench output:\n{result.stdout}")


def show(r: dict) -> str:
    return (
        f"{r['case']:>8}: {r['eps']:8.0f} entries/s  p50 {r['p50_ms']:6.2f} ms"
        f"  p99 {r['p99_ms']:6.2f} ms  CPU/entry: app {r['app_cpu_ms']:.2f} ms,"
        f" db {r['db_cpu_ms']:.2f} ms  ({r['entries']} entries, {r['errors']} errors)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--wallets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1, help="report medians over rounds")
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument(
        "--smoke", action="store_true", help="toy size on a throwaway database (for the tests)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.workers, args.seconds, args.wallets, args.rounds = 2, 1, 20, 1
        args.no_pgbench = True
    if not (1 <= args.workers <= 64 and 1 <= args.seconds <= 600 and 2 <= args.wallets <= 10**6):
        parser.error("workers 1-64, seconds 1-600, wallets 2-1000000")
    if not 1 <= args.rounds <= 10:
        parser.error("rounds 1-10")

    db = settings.DATABASES["default"]
    print(f"database {db['NAME']} at {db.get('HOST') or 'local socket'}; {args.workers} workers")
    t0 = time.monotonic()
    setup_wallets(args.wallets)
    print(f"funded {args.wallets} wallets in {time.monotonic() - t0:.1f}s")
    # Warm-up: connections, caches and the first folds are not what we measure.
    run_case("random", args.workers, 1 if args.smoke else 2, args.wallets)

    hot_ratios, pgbench_ratios = [], []
    with PgBench(args.workers, wanted=not args.no_pgbench) as pgbench:
        for n in range(1, args.rounds + 1):
            print(f"round {n}:")
            random_run, hot_run = (
                run_case(case, args.workers, args.seconds, args.wallets)
                for case in ("random", "hot")
            )
            print(show(random_run))
            print(show(hot_run))
            hot_ratios.append(hot_run["eps"] / random_run["eps"])
            print(f"  hot/random = {hot_ratios[-1]:.2f} (target >= 0.80)")
            if tps := pgbench.tps(int(args.seconds)):
                pgbench_ratios.append(random_run["eps"] / tps)
                print(f" pgbench: {tps:8.0f} TPS (tpcb-like, {args.workers} clients)")
                print(f"  random/pgbench = {pgbench_ratios[-1]:.2f} (target >= 0.33)")
    if args.rounds > 1:
        print(f"median hot/random = {statistics.median(hot_ratios):.2f} (target >= 0.80)")
        if pgbench_ratios:
            median = statistics.median(pgbench_ratios)
            print(f"median random/pgbench = {median:.2f} (target >= 0.33)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
