"""Payout settlement throughput with 1, 2 and 4 Celery worker processes.

    python bench/payouts.py [--count 10000] [--workers 1 2 4] [--payees 100]

Uses its own database, ``sp_bench_payouts`` on the server named by ``DATABASE_URL``
(dropped and recreated at each run), and its own Celery queue on ``REDIS_URL``. For each
worker count it queues ``--count`` payouts (spread over ``--payees`` people, through
``payout_request``: the ledger hold and the submit task), then starts that many worker
processes (``--pool solo``) against the sandbox processor and measures the time until every
payout is ``paid`` with its ledger effects booked. Each payout is six tasks: submit, the
sandbox's settlement, two webhook deliveries and their processing.

It prints payouts settled per second for each worker count, and checks that nothing was
duplicated or lost: one sandbox payout per payout (by the ``payout_id`` we send), every
payout paid exactly once, and ``ledger_verify`` clean.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402
from harness import database_ensure, database_url, smoke_database  # noqa: E402

BENCH_DB = "sp_bench_payouts"
DB_NAME = BENCH_DB  # a throwaway copy in a smoke run
QUEUE = f"bench-payouts-{uuid.uuid4().hex[:8]}"


def setup_django() -> None:
    os.environ["DATABASE_URL"] = database_url(DB_NAME)
    os.environ["CELERY_QUEUE"] = QUEUE
    os.environ["PAYOUTS_QUEUE"] = QUEUE
    os.environ["PAYOUT_DESTINATION_HOLD_HOURS"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
    import django

    django.setup()
    harness.migrate()


def make_payees(count: int, per_payee_amount: int) -> list:
    from accounts.models import User
    from accounts.services import user_signup
    from core.money import Money
    from ledger import chart
    from ledger.services import credit, debit, entry_post
    from payments.payouts.services import payout_destination_add

    people = []
    for _ in range(count):
        handle = f"b{uuid.uuid4().hex[:12]}"
        user = user_signup(handle=handle, email=f"{handle}@example.com", password="x" * 16)
        User.objects.filter(pk=user.pk).update(verification_tier="verified")
        user.refresh_from_db()
        payout_destination_add(user=user, account_number="000123456789", routing_number="110000000")
        money = Money(per_payee_amount, "USD")
        entry_post(
            code="topup",
            idempotency_key=f"bench-topup:{user.pk}:{uuid.uuid4().hex}",
            postings=[
                debit(chart.processor_clearing_key("sandbox", "USD"), money),
                credit(chart.wallet_key(user.pk, "USD"), money),
            ],
        )
        people.append(user)
    return people


def queue_payouts(people: list, count: int) -> list[int]:
    from core.money import Money
    from payments.payouts.services import payout_request

    ids = []
    for i in range(count):
        payout = payout_request(
            user=people[i % len(people)],
            amount=Money(100, "USD"),
            method="standard",
            request_key=f"bench-{uuid.uuid4().hex}",
        )
        ids.append(payout.pk)
    return ids


def start_workers(n: int) -> list[subprocess.Popen]:
    env = dict(os.environ)
    procs = []
    for i in range(n):
        procs.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "celery"),
                    "-A",
                    "socialpay",
                    "worker",
                    "--pool",
                    "solo",
                    "-Q",
                    QUEUE,
                    "-n",
                    f"bench{i}-{uuid.uuid4().hex[:6]}@%h",
                    "--without-mingle",
                    "--without-gossip",
                    "--loglevel",
                    os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
                ],
                cwd=ROOT,
                env=env,
                stdout=open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "ab"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        )
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def check(ids: list[int]) -> None:
    from ledger.selectors import ledger_verify
    from payments.payouts.models import Payout, PayoutEvent
    from payments.processors.sandbox import models as sandbox_models

    remote = sandbox_models.Payout.objects.filter(
        metadata__payout_id__in=[str(i) for i in ids]
    ).count()
    paid_events = PayoutEvent.objects.filter(payout_id__in=ids, to_status="paid").count()
    assert remote == len(ids), f"{remote} sandbox payouts for {len(ids)} payouts"
    assert paid_events == len(ids), f"{paid_events} paid events for {len(ids)} payouts"
    assert not Payout.objects.filter(pk__in=ids).exclude(ledger_status="paid").exists()
    report = ledger_verify(hold_max_age=timedelta(days=1))
    assert report.ok, report.findings


def run(count: int, workers: int, people: list) -> float:
    from django.db import connection

    from payments.payouts.models import Payout

    ids = queue_payouts(people, count)
    connection.close()
    started = time.perf_counter()
    procs = start_workers(workers)
    try:
        while Payout.objects.filter(pk__in=ids, ledger_status="paid").count() < count:
            if time.perf_counter() - started > 3600:
                raise SystemExit("gave up after an hour")
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
    finally:
        stop_workers(procs)
    check(ids)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--payees", type=int, default=100)
    parser.add_argument(
        "--smoke", action="store_true", help="toy size on a throwaway database (for the tests)"
    )
    args = parser.parse_args()
    global DB_NAME
    if args.smoke:
        DB_NAME = smoke_database(BENCH_DB)
        args.count, args.workers, args.payees = 4, [1], 2
    else:
        database_ensure(BENCH_DB, fresh=True)
    setup_django()
    rounds = len(args.workers)
    people = make_payees(args.payees, 100 * (args.count // args.payees + 1) * rounds)
    print(f"{args.count} payouts per round, {args.payees} payees, cores: {os.cpu_count()}")
    for workers in args.workers:
        elapsed = run(args.count, workers, people)
        print(
            f"workers={workers}: {args.count} settled in {elapsed:.1f} s "
            f"= {args.count / elapsed:.1f} payouts/s (none duplicated or lost)"
        )


if __name__ == "__main__":
    main()
