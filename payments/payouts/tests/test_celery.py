"""Payouts through real Celery workers: the whole asynchronous path, duplicate task
delivery, and a worker killed (SIGKILL) while it submits payouts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings

from core.money import Money
from ledger.models import Entry
from ledger.selectors import ledger_verify
from payments.payouts import services
from payments.payouts.models import Payout, PayoutEvent
from payments.payouts.tasks import payout_submit_task
from payments.payouts.tests.support import available, payee
from payments.processors.sandbox import engine
from payments.processors.sandbox import models as sandbox_models

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _no_destination_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0


@pytest.fixture(autouse=True)
def _receipts_delivered_before_the_flush():
    """Payout receipts leave through the outbox, drained by whichever worker is woken. Empty
    it before the test's tables are emptied, so no drain runs into that."""
    yield
    from payments.wallets.receipts import receipts_outbox_drain

    receipts_outbox_drain()


def wait_for(check, timeout: float = 60.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError("timed out")


def verify_ok():
    report = ledger_verify(hold_max_age=timedelta(days=365))
    assert report.ok, report.findings


def assert_exactly_once(payouts):
    for payout in payouts:
        remote = sandbox_models.Payout.objects.filter(metadata__payout_id=str(payout.pk))
        assert remote.count() == 1, payout.pk
        assert remote.get().id == payout.processor_payout_id
        assert payout.status == payout.ledger_status == "paid"
        assert payout.events.filter(to_status="paid", accepted=True).count() == 1
        assert Entry.objects.filter(idempotency_key=f"payout:{payout.pk}:settle").count() == 1


def test_a_payout_is_paid_through_the_worker_and_duplicates_change_nothing(
    celery_worker_process,
):
    creator = payee(20000)
    payout = services.payout_request(
        user=creator, amount=Money(12000, "USD"), method="standard", request_key="celery-key-1"
    )
    # The same task delivered three more times, concurrently with the first.
    for _ in range(3):
        payout_submit_task.delay(payout.pk)

    wait_for(lambda: Payout.objects.get(pk=payout.pk).ledger_status == "paid")
    time.sleep(1)  # let the duplicates finish

    payout.refresh_from_db()
    assert_exactly_once([payout])
    assert available(f"wallet:user:{creator.pk}:USD") == 8000
    # The receipt leaves through the outbox, which the worker drains once it is woken.
    wait_for(lambda: creator.notifications.filter(kind="payout_paid").exists())
    assert creator.notifications.filter(kind="payout_paid").count() == 1
    verify_ok()


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{db.get('USER') or ''}{password}@{host}{port}/{db['NAME']}"


def start_worker(queue: str, *, pause: float) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=_database_url(),
        CELERY_QUEUE=queue,
        PAYOUTS_QUEUE=queue,
        PAYOUTS_CHAOS_PAUSE_SECONDS=str(pause),
    )
    log_path = ROOT / ".data" / f"celery-chaos-{queue}.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "socialpay",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "-Q",
                queue,
                "-n",
                f"chaos-{uuid.uuid4().hex[:8]}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_a_worker_killed_mid_submission_loses_and_duplicates_nothing(settings):
    queue = f"payouts-chaos-{uuid.uuid4().hex[:8]}"
    settings.PAYOUTS_QUEUE = queue
    count = 12
    creator = payee(count * 1000)
    payouts = [
        services.payout_request(
            user=creator,
            amount=Money(1000, "USD"),
            method="standard",
            request_key=f"chaos-{i}-{uuid.uuid4().hex}",
        )
        for i in range(count)
    ]
    doomed = start_worker(queue, pause=3.0)
    try:
        # Wait until the processor has payouts we have not recorded yet: the worst moment.
        # The worker has to start first, which beside the other test processes can take
        # more than a minute.
        wait_for(
            lambda: (
                sandbox_models.Payout.objects.count() >= 2
                and Payout.objects.filter(status="submitting").exists()
            ),
            timeout=240,
        )
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    finally:
        stop(doomed)
    in_the_window = Payout.objects.filter(
        status="submitting", pk__in=[p.pk for p in payouts]
    ).count()
    assert in_the_window >= 1

    survivor = start_worker(queue, pause=0)
    try:
        # Beat's sweeper, made impatient: re-drive whatever is stuck until all is final.
        settings.PAYOUT_STUCK_AFTER_SECONDS = 0
        settings.PAYOUT_PENDING_CHECK_SECONDS = 5

        def all_paid() -> bool:
            services.payouts_sweep()
            # The processor's own clock: settle anything it still has pending (its task
            # may have died with the killed worker).
            for remote in sandbox_models.Payout.objects.filter(status="pending"):
                engine.payout_settle(remote.id)
            return not Payout.objects.exclude(status="paid").exists() and not (
                Payout.objects.exclude(ledger_status="paid").exists()
            )

        wait_for(all_paid, timeout=240, interval=1.0)
    finally:
        stop(survivor)

    final = list(Payout.objects.filter(pk__in=[p.pk for p in payouts]))
    assert len(final) == count
    assert_exactly_once(final)
    assert sandbox_models.Payout.objects.count() == count
    assert PayoutEvent.objects.filter(to_status="paid", accepted=True).count() == count
    assert available(f"wallet:user:{creator.pk}:USD") == 0
    verify_ok()


def test_a_dispute_withdraws_through_the_worker(celery_worker_process):
    from payments.disputes.models import Dispute
    from payments.payouts.tests.support import fund, make_user
    from payments.processors.base import PaymentRequest
    from payments.processors.sandbox.adapter import SandboxProcessor

    fan = make_user()
    fund(fan, 3000)
    SandboxProcessor().create_payment(
        PaymentRequest(
            amount=3000,
            currency="USD",
            payment_method="pm_card_createDispute",
            idempotency_key=f"topup:{uuid.uuid4().hex}",
            metadata={"user_id": str(fan.pk)},
        )
    )
    dispute = wait_for(lambda: Dispute.objects.filter(user=fan, funds="withdrawn").first())
    assert (dispute.wallet_debited, dispute.shortfall) == (3000, 0)
    assert available(f"wallet:user:{fan.pk}:USD") == 0
    verify_ok()
