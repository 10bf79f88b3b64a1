"""Concurrency with real threads against real PostgreSQL: a duplicate-submit storm and the
weekly limit under 20 parallel transfers."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import OperationalError, connection

from ledger.selectors import balance_of, ledger_verify
from payments.wallets.models import SendLimit, Transfer
from payments.wallets.tests.support import api, fund, generous_throttles, key, person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.many_connections]


@pytest.fixture(autouse=True)
def _throttles(monkeypatch):
    generous_throttles(monkeypatch)


@pytest.fixture(autouse=True)
def _no_background_tasks(monkeypatch):
    """These tests commit for real, so on-commit tasks would reach a Celery worker that
    another test module may have started, and race this test's table truncation. Receipts
    and webhook deliveries are tested elsewhere; here they are not sent."""
    from payments.processors.sandbox import engine
    from payments.wallets import receipts

    monkeypatch.setattr(engine, "schedule_delivery", lambda *args, **kwargs: None)
    monkeypatch.setattr(receipts, "receipts_send", lambda specs, **_: None)


# The PostgreSQL server is shared (100 connections): at most this many threads, each with
# its own connection, start together; more submissions than threads queue behind them.
MAX_THREADS = 20


def _retrying(call, i):
    """A client retries with the same Idempotency-Key when the server could not get a
    database connection (other test runs share the server's connection limit)."""
    for attempt in range(20):
        try:
            return call(i)
        except OperationalError as exc:
            if "too many clients" not in str(exc) or attempt == 19:
                raise
            connection.close()
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def _parallel(n: int, call):
    threads = min(n, MAX_THREADS)
    barrier = threading.Barrier(threads)

    def run(chunk):
        try:
            barrier.wait()
            return [_retrying(call, i) for i in chunk]
        finally:
            connection.close()

    chunks = [list(range(n))[t::threads] for t in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return [r for part in pool.map(run, chunks) for r in part]


def test_the_same_key_50_times_at_once_makes_one_transfer():
    """50 submissions of one key from 20 concurrent connections: one transfer; the others
    see 409 (still running) or the replayed 201."""
    alice, bob = person(), person()
    fund(alice, 10_000)
    clients = [api(alice) for _ in range(50)]
    idem = key()
    body = {"to": bob.handle, "amount": 700, "currency": "USD"}

    results = _parallel(
        50,
        lambda i: clients[i].post(
            "/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY=idem
        ),
    )

    statuses = [r.status_code for r in results]
    assert set(statuses) <= {201, 409}, statuses
    assert 201 in statuses
    ids = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(ids) == 1
    assert Transfer.objects.filter(sender=alice).count() == 1
    assert balance_of(account=f"wallet:user:{alice.pk}:USD").available.amount == 9_300
    assert balance_of(account=f"wallet:user:{bob.pk}:USD").available.amount == 700
    assert ledger_verify(hold_max_age=timedelta(days=1)).ok


def test_20_parallel_transfers_cannot_pass_the_weekly_limit(settings):
    settings.WALLET_LIMITS = {
        "unverified": {"weekly_send": 10_000, "per_transfer": 5_000},
        "verified": {"weekly_send": 10**9, "per_transfer": 10**9},
    }
    settings.WALLET_TRANSFERS_PER_MINUTE = 1000
    alice = person()
    friends = [person() for _ in range(20)]
    fund(alice, 100_000)
    clients = [api(alice) for _ in range(20)]

    results = _parallel(
        20,
        lambda i: clients[i].post(
            "/api/v1/transfers",
            {"to": friends[i].handle, "amount": 1_500, "currency": "USD"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key(),
        ),
    )

    ok = [r for r in results if r.status_code == 201]
    refused = [r for r in results if r.status_code != 201]
    assert len(ok) == 6  # 6 x 15.00 = 90.00 <= 100.00 < 7 x 15.00
    assert {r.json()["error"]["code"] for r in refused} == {"limit_exceeded"}
    assert Transfer.objects.filter(sender=alice, status="completed").count() == 6
    assert SendLimit.objects.get(user=alice).week_used == 9_000
    assert balance_of(account=f"wallet:user:{alice.pk}:USD").available.amount == 91_000
    assert ledger_verify(hold_max_age=timedelta(days=1)).ok


def test_parallel_transfers_never_overdraw():
    alice = person()
    friends = [person() for _ in range(10)]
    fund(alice, 1_000)
    clients = [api(alice) for _ in range(10)]
    results = _parallel(
        10,
        lambda i: clients[i].post(
            "/api/v1/transfers",
            {"to": friends[i].handle, "amount": 300, "currency": "USD"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key(),
        ),
    )
    assert sorted(r.status_code for r in results) == [201] * 3 + [422] * 7
    assert balance_of(account=f"wallet:user:{alice.pk}:USD").available.amount == 100
    # Refused transfers gave their limit reservation back.
    assert SendLimit.objects.get(user=alice).week_used == 900
