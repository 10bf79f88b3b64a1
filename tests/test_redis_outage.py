"""Redis (cache, rate limits and broker) dies under transfer load and comes back: nothing
answers 5xx, money keeps moving through PostgreSQL, and every receipt of every transfer
is delivered once Redis is back (the outbox keeps them meanwhile).

Real processes: gunicorn and a Celery worker against the test database and a redis-server
of this test's own, killed with SIGKILL (a crash) and started again empty.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings

from accounts.services import token_create
from conftest import _database_url
from core.money import Money
from ledger.selectors import balance_of, ledger_verify
from payments.wallets import receipts
from payments.wallets.models import Receipt, ReceiptOutbox, Transfer
from payments.wallets.tests.support import fund, person
from payments.wallets.transfers import transfer_create
from tests.outage_support import Load, RedisServer, app_env, free_port, running, web, worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

FUNDS = 100_000  # 1,000.00: enough for the whole run (transfers are 0.01 to 0.50)


def _waiting(transfers) -> bool:
    """Whether a receipt of one of ``transfers`` still waits in the outbox. (Only this
    test's own: another test's thread may leave a row whose people no longer exist.)"""
    keys = [f"transfer:{t.pk}:sender" for t in transfers]
    return any(
        spec["key"] in keys
        for payload in ReceiptOutbox.objects.values_list("payload", flat=True)
        for spec in payload
    )


@pytest.fixture(autouse=True)
def _no_tasks_from_this_process(monkeypatch):
    # Funding the wallets here must not send sandbox webhooks to the shared broker.
    from payments.processors.sandbox import engine

    monkeypatch.setattr(engine, "schedule_delivery", lambda *args, **kwargs: None)


def test_redis_dies_under_transfer_load_and_nothing_fails_or_is_lost(tmp_path):
    people = [person() for _ in range(6)]
    for someone in people:
        fund(someone, FUNDS)
    tokens = {p.handle: token_create(user=p)[1] for p in people}
    redis = RedisServer(tmp_path)
    redis.start()
    env = app_env(
        database_url=_database_url(settings.DATABASES["default"]),
        redis_url=redis.url,
        queue=f"outage-{uuid.uuid4().hex[:8]}",
        tmp=tmp_path,
    )
    port = free_port()
    with running(web(env, port, tmp_path / "web.log"), worker(env, tmp_path / "worker.log")):
        load = Load(port=port, tokens=tokens)
        load.start()
        time.sleep(4)
        redis.kill()
        down_from = time.monotonic()
        time.sleep(8)
        down_until = time.monotonic()
        redis.start()
        time.sleep(6)
        load.stop()
        # The worker drains the outbox when it reconnects, and when a payment wakes it.
        deadline = time.monotonic() + 60
        while _waiting(Transfer.objects.all()) and time.monotonic() < deadline:
            time.sleep(0.5)
    redis.kill()

    assert load.errors == []
    statuses = [a.status for a in load.answers]
    assert [s for s in statuses if s >= 500] == [], sorted(set(statuses))
    during = [a for a in load.answers if down_from <= a.at <= down_until]
    paid_during = [a for a in during if a.method == "POST" and a.status == 201]
    assert paid_during, "no transfer was answered while Redis was down"
    assert {a.status for a in during} <= {200, 201}

    paid = [a.body["id"] for a in load.answers if a.method == "POST" and a.status == 201]
    assert Transfer.objects.filter(pk__in=paid, status="completed").count() == len(paid)
    assert Transfer.objects.count() == len(paid)
    # Every receipt of every transfer, none twice (the key is unique), none left waiting.
    assert not _waiting(Transfer.objects.all()), "receipts still waiting in the outbox"
    keys = set(Receipt.objects.filter(key__startswith="transfer:").values_list("key", flat=True))
    expected = {f"transfer:{i}:{side}" for i in paid for side in ("sender", "recipient")}
    assert keys == expected
    # Money is conserved and the ledger verifies.
    total = sum(balance_of(account=f"wallet:user:{p.pk}:USD").posted.amount for p in people)
    assert total == FUNDS * len(people)
    assert ledger_verify(hold_max_age=timedelta(days=1)).ok


def test_a_worker_that_reconnects_drains_receipts_whose_wake_up_was_lost(tmp_path, monkeypatch):
    # A Redis broker that restarts comes back empty and without its queue bindings: every
    # wake-up published before a worker re-declares its queue is routed nowhere. Such a
    # receipt must still go out once the worker is back, with no beat running.
    alice, bob = person(), person()
    fund(alice, 1_000)
    redis = RedisServer(tmp_path)
    redis.start()
    env = app_env(
        database_url=_database_url(settings.DATABASES["default"]),
        redis_url=redis.url,
        queue=f"outage-{uuid.uuid4().hex[:8]}",
        tmp=tmp_path,
    )
    with running(worker(env, tmp_path / "worker.log")):
        redis.kill()
        monkeypatch.setattr(receipts, "_wake_worker", lambda: None)  # the wake-up is lost
        transfer = transfer_create(
            sender=alice, to=bob, money=Money(250, "USD"), client_key=uuid.uuid4().hex
        )
        assert _waiting([transfer])
        redis.start()
        deadline = time.monotonic() + 60
        while _waiting([transfer]) and time.monotonic() < deadline:
            time.sleep(0.5)
    redis.kill()

    assert not _waiting([transfer]), "the reconnected worker did not drain"
    keys = set(Receipt.objects.filter(key__startswith="transfer:").values_list("key", flat=True))
    assert keys == {f"transfer:{transfer.pk}:sender", f"transfer:{transfer.pk}:recipient"}
