"""Transfers through PgBouncer in transaction mode (scripts/scale_cluster.py): many more
threads, each with its own Django connection, than PostgreSQL backends behind the pooler,
the ledger's prepared statements off (``LEDGER_PREPARED_STATEMENTS=False``, as PgBouncer
1.18 has no protocol-level prepares), server-side cursors off. Every transfer lands once,
money is conserved and ``ledger_verify`` holds, and PostgreSQL never sees more than the
pool's backends for the app's database."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from core.money import Money
from ledger.selectors import balance_of, ledger_verify
from payments.wallets.models import Transfer
from payments.wallets.tests.support import fund, person
from tests.scale_support import app_through_pgbouncer

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 16  # app connections, against a pool of 4 server connections
TRANSFERS = 96


@pytest.fixture(scope="module", autouse=True)
def _through_pgbouncer(scale_cluster, django_db_blocker):
    with django_db_blocker.unblock(), app_through_pgbouncer(scale_cluster):
        yield


@pytest.fixture(autouse=True)
def _no_background_tasks(monkeypatch):
    """Receipts and processor webhooks are tested elsewhere; these commits send none."""
    from payments.processors.sandbox import engine
    from payments.wallets import receipts

    monkeypatch.setattr(engine, "schedule_delivery", lambda *args, **kwargs: None)
    monkeypatch.setattr(receipts, "receipts_send", lambda specs, **_: None)


def total(people) -> int:
    return sum(balance_of(account=f"wallet:user:{p.pk}:USD").available.amount for p in people)


def test_transfers_through_pgbouncer_in_transaction_mode(scale_cluster):
    from payments.wallets.transfers import transfer_create

    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_server_port()")
        # Through the pooler, PostgreSQL itself answers: its port, not PgBouncer's.
        assert cursor.fetchone()[0] == scale_cluster.primary_port
    people = [person(verification_tier="verified") for _ in range(6)]
    for p in people:
        fund(p, 100_00)
    before = total(people)

    backends: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            count = scale_cluster.sql(
                scale_cluster.primary_port,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = 'socialpay'",
            )
            backends.append(int(count))
            done.wait(0.05)

    def send(i: int) -> int:
        sender, receiver = people[i % 6], people[(i + 1 + i // 6) % 6]
        if sender == receiver:
            receiver = people[(i + 2) % 6]
        try:
            t = transfer_create(
                sender=sender,
                to=receiver,
                money=Money(1_00, "USD"),
                client_key=f"pgb-{uuid.uuid4().hex}",
            )
            return t.pk
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            ids = list(pool.map(send, range(TRANSFERS)))
    finally:
        done.set()
        watcher.join()

    assert len(set(ids)) == TRANSFERS
    assert Transfer.objects.filter(pk__in=ids).count() == TRANSFERS
    assert total(people) == before == 6 * 100_00
    report = ledger_verify(hold_max_age=timedelta(days=1))
    assert report.ok, report
    assert backends, "the watcher saw nothing"
    # 16 application connections, never more than the pool's 4 backends (+ none else).
    assert max(backends) <= scale_cluster.pgbouncer_pool_size, backends


@pytest.mark.django_db(transaction=True, databases=["default", "session"])
def test_session_claims_behind_pgbouncer_are_released(scale_cluster):
    """A top-up calls the processor, so its idempotency claim is a session-level advisory
    lock. Through a transaction-mode pool the lock and its release could land on different
    server sessions and the lock would outlive the request; on the session connection every
    claim is released, and a retry replays."""
    from payments.wallets.tests.support import api, key

    alice = person()
    client = api(alice)
    body = {"amount": 1000, "currency": "USD", "payment_method": "pm_card_visa"}
    keys = [key() for _ in range(6)]
    for k in keys:
        res = client.post("/api/v1/topups", body, format="json", HTTP_IDEMPOTENCY_KEY=k)
        assert res.status_code == 201, res.content
    again = client.post("/api/v1/topups", body, format="json", HTTP_IDEMPOTENCY_KEY=keys[0])
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    held = scale_cluster.sql(
        scale_cluster.primary_port,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
        database="socialpay",
    )
    assert held == "0"
