"""The bank's invariants and exactly-once payouts on the scaled setup, end to end.

Everything ``make scale-up`` starts (scripts/scale_cluster.py), real: the app and three
Celery workers with host names of their own talk to PostgreSQL through PgBouncer in
transaction mode (prepared statements and server-side cursors off, session-level claims
straight to the primary), the workers read from the streaming replica where reads may, and
keep their cache, rate limits and timelines on a 6-node Redis Cluster. While threads move
money between people, payouts are requested and the workers submit them to the processor
and settle them from its webhooks; the worker running the most tasks is killed with
SIGKILL half-way, as when its machine dies. Then: money is conserved, every payout was
submitted to the processor once, paid once and booked once, and ``ledger_verify`` holds.

Recovery is production's, sooner: late-acknowledged tasks come back after the broker's
visibility timeout, beat's payout sweep (played by the test) re-submits payouts left in
``submitting`` and asks the processor about ``pending`` ones whose webhook was lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from core.celery_queues import work_queues
from core.money import Money
from ledger.selectors import balance_of
from tests.scale_support import app_through_pgbouncer, worker_start, workers_stop

ROOT = Path(__file__).resolve().parent.parent
PAYEES = 4
PAYOUTS = 16
SENDERS = 6
TRANSFERS = 60

pytestmark = [pytest.mark.celery, pytest.mark.timeout(900)]


@pytest.fixture(scope="module", autouse=True)
def _scaled(scale_cluster, django_db_blocker):
    """This process on PgBouncer (and the session claims on the primary), as the app."""
    with django_db_blocker.unblock():
        if not scale_cluster.redis_cluster_ports:
            scale_cluster.up_redis_cluster()
    with django_db_blocker.unblock(), app_through_pgbouncer(scale_cluster):
        yield


def _wallet(user) -> int:
    return balance_of(account=f"wallet:user:{user.pk}:USD").available.amount


@pytest.mark.django_db(transaction=True, databases=["default", "session"])
def test_money_and_payouts_hold_on_the_scaled_setup(scale_cluster, settings):
    from celery import current_app as app

    from payments.payouts.models import Payout
    from payments.payouts.services import payout_request
    from payments.payouts.tests.support import payee
    from payments.processors.sandbox import engine as sandbox_engine
    from payments.processors.sandbox import models as sandbox_models
    from payments.wallets.tests.support import fund, person
    from payments.wallets.transfers import transfer_create

    default = settings.CELERY_TASK_DEFAULT_QUEUE
    queues = work_queues(default)
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    settings.PAYOUTS_QUEUE = queues["payouts"]
    payees = [payee(100 * PAYOUTS) for _ in range(PAYEES)]
    senders = [person(verification_tier="verified") for _ in range(SENDERS)]
    for sender in senders:
        fund(sender, 50_00)
    everyone = payees + senders
    before = sum(_wallet(p) for p in everyone)

    # The workers: the scaled setup's environment (PgBouncer, replica, session URL,
    # Redis Cluster), this test's broker and queues, recovery timings in seconds.
    env = dict(
        os.environ,
        **scale_cluster.environment(),
        CELERY_BROKER_VISIBILITY_TIMEOUT="8",
        NIGHTLY_TASK_SOFT_TIME_LIMIT="5",
        NIGHTLY_TASK_TIME_LIMIT="6",
        PAYOUT_STUCK_AFTER_SECONDS="3",
        # A payout.paid webhook lost with the killed worker: the sweep asks the processor.
        PAYOUT_PENDING_CHECK_SECONDS="5",
    )
    env.pop("CELERY_BROKER_URL")
    env.pop("PAYOUTS_QUEUE", None)
    assert env["REDIS_CLUSTER_URLS"] and "DATABASE_REPLICA_URLS" in env
    names = [f"worker{i}@scaled-host-{i}-{default}" for i in range(3)]
    log_path = ROOT / ".data" / f"celery-scaled-{settings.TEST_WORKER}.log"
    log_path.parent.mkdir(exist_ok=True)
    procs: dict[str, subprocess.Popen] = {}
    payout_ids: list[int] = []
    with open(log_path, "wb") as log:
        try:
            for name in names:
                procs[name] = worker_start(name, [default, *queues.values()], env, log)
            deadline = time.monotonic() + 180
            while {next(iter(r)) for r in app.control.ping(destination=names, timeout=1)} != set(
                names
            ):
                assert time.monotonic() < deadline, f"workers did not answer; see {log_path}"

            def send(i: int) -> int:
                sender = senders[i % SENDERS]
                receiver = everyone[(i * 7 + 1) % len(everyone)]
                if receiver == sender:
                    receiver = payees[i % PAYEES]
                try:
                    return transfer_create(
                        sender=sender,
                        to=receiver,
                        money=Money(25, "USD"),
                        client_key=f"scaled-{uuid.uuid4().hex}",
                    ).pk
                finally:
                    connection.close()

            def request(i: int) -> int:
                try:
                    return payout_request(
                        user=payees[i % PAYEES],
                        amount=Money(100, "USD"),
                        method="standard",
                        request_key=f"scaled-{uuid.uuid4().hex}",
                    ).pk
                finally:
                    connection.close()

            # Payments and payout requests at once, from threads with connections of their
            # own (through PgBouncer), while the workers already submit.
            with ThreadPoolExecutor(8) as pool:
                sent = pool.map(send, range(TRANSFERS))
                payout_ids = list(pool.map(request, range(PAYOUTS)))
                transfer_ids = list(sent)
            assert len(set(transfer_ids)) == TRANSFERS

            def paid() -> int:
                return Payout.objects.filter(pk__in=payout_ids, ledger_status="paid").count()

            def beat() -> None:
                app.send_task("payouts.sweep", queue=queues["payouts"])
                # The processor's own clock: the sandbox settles its payouts with a task of
                # ours, which the killed worker may have taken with it (a real processor's
                # bank does not depend on our workers). Settling is idempotent at the
                # sandbox; a payout settled twice emits its webhook twice.
                stale = timezone.now() - timedelta(seconds=3)
                for payout_id in sandbox_models.Payout.objects.filter(
                    status="pending", created__lt=stale
                ).values_list("id", flat=True):
                    sandbox_engine.payout_settle(payout_id)

            killed = threading.Event()
            last_beat = time.monotonic()
            deadline = time.monotonic() + 600
            started = time.monotonic()
            while (done := paid()) < PAYOUTS:
                if os.environ.get("SCALED_TEST_TRACE"):
                    print(f"{time.monotonic() - started:6.1f}s paid {done}", flush=True)
                assert time.monotonic() < deadline, (done, log_path)
                if not killed.is_set() and done >= PAYOUTS // 4:
                    active = app.control.inspect(destination=names, timeout=2).active() or {}
                    victim = max(names, key=lambda n: len(active.get(n) or ()))
                    procs[victim].send_signal(signal.SIGKILL)
                    procs[victim].wait()
                    killed.set()
                if time.monotonic() - last_beat > 2:
                    beat()
                    last_beat = time.monotonic()
                time.sleep(0.2)
            assert killed.is_set()
        finally:
            workers_stop(procs, app)

    # Money: what left the wallets is exactly the payouts (transfers only moved it).
    assert sum(_wallet(p) for p in everyone) == before - 100 * PAYOUTS
    # Payouts: submitted once to the processor, paid once, booked once; ledger verified.
    from payments.payouts.tests.support import assert_paid_once

    assert_paid_once(payout_ids)
