"""Test data for the creator tests, built through services (users, wallet money, posts)."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from rest_framework.test import APIClient

from accounts.services import token_create, user_signup
from core.money import Money
from ledger import chart
from ledger.errors import AccountNotFound
from ledger.selectors import balance_of, ledger_verify
from ledger.services import credit, debit, entry_post
from posts.services import post_create

_counter = itertools.count(1)
USD = "USD"


def make_user(prefix: str = "u"):
    n = next(_counter)
    handle = f"{prefix}{n}x{uuid.uuid4().hex[:6]}"
    return user_signup(handle=handle, email=f"{handle}@example.com", password="pw-long-enough-1")


def fund(user, amount: int, currency: str = USD):
    """Credit a wallet the way a succeeded card top-up does."""
    money = Money(amount, currency)
    return entry_post(
        code="topup",
        idempotency_key=f"test-topup:{uuid.uuid4().hex}",
        postings=[
            debit(chart.processor_clearing_key("sandbox", currency), money),
            credit(chart.wallet_key(user.pk, currency), money),
        ],
    )


def wallet(user, currency: str = USD) -> str:
    return chart.wallet_key(user.pk, currency)


def available(user, currency: str = USD) -> int:
    """Spendable balance; 0 for a wallet that never received anything."""
    try:
        return balance_of(account=wallet(user, currency)).available.amount
    except AccountNotFound:
        return 0


def posted(key: str) -> int:
    return balance_of(account=key).posted.amount


def postings_of(entry) -> list[tuple[str, str, int, str]]:
    return [
        (p.account.key, p.direction, p.amount, p.currency)
        for p in entry.postings.select_related("account").order_by("id")
    ]


def make_post(author, text: str = "hello"):
    return post_create(author=author, text=text)


def api_for(user) -> APIClient:
    client = APIClient()
    _, secret = token_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def key() -> str:
    return uuid.uuid4().hex


def assert_ledger_ok() -> None:
    report = ledger_verify(hold_max_age=timedelta(days=1))
    assert report.findings == []


FEES = chart.fees_key(USD)
ESCROW = chart.escrow_key(USD)


def connect_with_retry(attempts: int = 50) -> None:
    """Open this thread's database connection before a concurrency test's barrier.

    The PostgreSQL server is shared (max_connections); a full server is retried here so
    that the race under test starts only once every thread holds a connection.
    """
    import time

    from django.db import OperationalError, connection

    for attempt in range(attempts):
        try:
            connection.ensure_connection()
            return
        except OperationalError:
            connection.close()
            time.sleep(0.1 * (attempt + 1))
    connection.ensure_connection()


def at_once(call, times: int = 2) -> tuple[list, list[Exception]]:
    """Run ``call`` in ``times`` threads that start together, each on its own database
    connection (the real PostgreSQL: a test of a race). Returns what the calls returned
    and what they raised."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(times)
    results: list = []
    failures: list[Exception] = []

    def run():
        try:
            connect_with_retry()
            barrier.wait()
            results.append(call())
        except Exception as exc:  # reported to the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, failures
