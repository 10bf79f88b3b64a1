"""Real threads against real PostgreSQL: no overdraft, no deadlock, no lost update.

Transactional tests: every service call commits, as in production.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import OperationalError, connection

from core.exceptions import DomainError
from core.money import Money
from ledger import chart
from ledger.models import Entry
from ledger.selectors import balance_of, ledger_verify
from ledger.services import balance_deltas_fold, credit, debit, entry_post
from ledger.tests.conftest import new_key, top_up

# Up to 50 threads with a connection each.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.many_connections]


def usd(amount: int) -> Money:
    return Money(amount, "USD")


def wallet(user_id: int) -> str:
    return chart.wallet_key(user_id, "USD")


def in_threads(n: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``n`` threads released together; return results or exceptions."""
    barrier = threading.Barrier(n)

    def run(i: int):
        try:
            _connect()  # before the barrier: the race is between debits, not connections
            barrier.wait(timeout=60)
            return work(i)
        except Exception as exc:  # collected and asserted on by the test
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _connect() -> None:
    """Open this thread's connection, waiting while the shared server is at its limit."""
    for _ in range(150):
        try:
            connection.ensure_connection()
            return
        except OperationalError:
            time.sleep(0.2)
    connection.ensure_connection()


def assert_consistent():
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []


def test_fifty_concurrent_debits_of_a_wallet_that_affords_one():
    top_up(1, 100)

    def spend(i: int):
        return entry_post(
            code="transfer",
            idempotency_key=f"spend-{i}",
            postings=[debit(wallet(1), usd(100)), credit(wallet(100 + i), usd(100))],
        )

    results = in_threads(50, spend)
    successes = [r for r in results if isinstance(r, Entry)]
    failures = [r for r in results if not isinstance(r, Entry)]
    assert len(successes) == 1, results
    unexpected = [f for f in failures if getattr(f, "code", None) != "insufficient_funds"]
    assert unexpected == []
    assert balance_of(account=wallet(1)).available == usd(0)
    assert_consistent()


def test_crossing_transfers_never_surface_a_deadlock():
    for user in (1, 2, 3):
        top_up(user, 10_000)
    fees = chart.fees_key("USD")

    def crossing(i: int):
        a, b = (1, 2) if i % 2 == 0 else (2, 1)
        for n in range(40):
            if n % 4 == 3:
                # Two payers in one entry, listed in opposite orders by the two sides:
                # the service still locks them in ascending id order.
                entry_post(
                    code="split",
                    idempotency_key=new_key(f"split-{i}"),
                    postings=[
                        debit(wallet(a), usd(2)),
                        debit(wallet(b), usd(2)),
                        credit(wallet(3), usd(3)),
                        credit(fees, usd(1)),
                    ],
                )
            else:
                entry_post(
                    code="transfer",
                    idempotency_key=new_key(f"cross-{i}"),
                    postings=[debit(wallet(a), usd(1)), credit(wallet(b), usd(1))],
                )
        return "done"

    results = in_threads(8, crossing)
    assert results == ["done"] * 8
    total = sum(balance_of(account=wallet(u)).posted.amount for u in (1, 2, 3))
    assert total + balance_of(account=fees).posted.amount == 30_000
    assert_consistent()


def test_two_hundred_concurrent_credits_lose_nothing_while_folding_and_spending():
    top_up(1, 1)  # the hot wallet exists and can pay a first unit
    credits_done = threading.Event()
    spent: list[int] = []

    def credit_hot(i: int):
        for _ in range(10):
            top_up(1, 5)

    def fold_or_spend(role: str):
        # Runs beside the credits until they are all committed.
        try:
            while not credits_done.is_set():
                if role == "fold":
                    balance_deltas_fold()
                    continue
                try:
                    entry_post(
                        code="transfer",
                        idempotency_key=new_key("hot-spend"),
                        postings=[debit(wallet(1), usd(3)), credit(wallet(2), usd(3))],
                    )
                    spent.append(3)
                except DomainError as exc:
                    assert exc.code == "insufficient_funds"
            return "done"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as side:
        folder, spender = side.submit(fold_or_spend, "fold"), side.submit(fold_or_spend, "spend")
        credit_results = in_threads(20, credit_hot)  # 20 threads x 10 credits
        credits_done.set()
        assert (folder.result(timeout=60), spender.result(timeout=60)) == ("done", "done")
    assert credit_results == [None] * 20
    assert spent, "the spender ran while credits arrived"

    expected = 1 + 200 * 5 - sum(spent)
    assert balance_of(account=wallet(1)).posted == usd(expected)
    assert balance_of(account=wallet(2)).posted == usd(sum(spent))
    assert Entry.objects.filter(code="topup").count() == 201
    balance_deltas_fold()
    assert balance_of(account=wallet(1)).posted == usd(expected)
    assert_consistent()


def test_a_hold_posted_while_another_caller_waits_on_its_lock_returns_the_same_entry():
    """Two workers post one hold with the same key; the second waits on the hold's row lock
    while the first commits. The second must get the first's entry (a regression test: a
    joined read under the lock used to see no posted entry after the wait)."""
    from django.db import transaction

    from ledger.services import hold_create, hold_post

    top_up(701, 1000)
    hold = hold_create(
        code="payout",
        idempotency_key=new_key(),
        postings=[
            debit(wallet(701), usd(400)),
            credit(chart.payouts_in_transit_key("USD"), usd(400)),
        ],
    )
    key = new_key()
    first_posted = threading.Event()
    release_first = threading.Event()

    def first():
        _connect()
        try:
            with transaction.atomic():
                entry = hold_post(hold=hold.pk, idempotency_key=key)
                first_posted.set()
                release_first.wait(timeout=30)  # keep the hold row locked a while
            return entry.pk
        finally:
            connection.close()

    def second():
        _connect()
        try:
            assert first_posted.wait(timeout=30)
            return hold_post(hold=hold.pk, idempotency_key=key).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        a = pool.submit(first)
        b = pool.submit(second)
        time.sleep(0.5)  # let the second caller block on the lock
        release_first.set()
        first_entry, second_entry = a.result(timeout=60), b.result(timeout=60)

    assert first_entry == second_entry
    assert Entry.objects.filter(idempotency_key=key).count() == 1
    assert_consistent()
