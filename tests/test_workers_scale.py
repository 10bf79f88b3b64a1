"""Workers on several hosts take one backlog together, and one of them dies with SIGKILL in
the middle of it: every effect still happens once.

Three real ``celery worker`` processes with host names of their own
(``worker<i>@workers-host-<i>``) consume the split queues (core.celery_queues) against the
real Redis broker and the test database. The backlog is receipts (outbox rows: a
notification and an e-mail each, to a local SMTP server), outgoing webhook events of four
people (deliveries to a local receiver that takes 20-50 ms a request) and payouts
submitted to the sandbox processor. Twice while the work is under way (receipts draining,
then webhooks and payouts), the worker running the most tasks is killed with SIGKILL, as
when its machine dies: its tasks are neither finished nor acknowledged, its database
connections drop, its claims stay. The last worker finishes the backlog.

What brings that work back, as in production, only sooner:

- the broker: tasks are acknowledged late (``CELERY_TASK_ACKS_LATE``), so the killed
  worker's tasks go back to the queue after ``CELERY_BROKER_VISIBILITY_TIMEOUT`` (an hour
  in production, 8 s here, which needs ``NIGHTLY_TASK_TIME_LIMIT`` below it);
- beat, played by this test every two seconds: the receipts drain and the sweep of receipt
  e-mails a dead worker left unsent, the webhook events dispatch and due deliveries, and
  the payouts sweep, which submits a payout left in
  ``submitting`` again after ``PAYOUT_STUCK_AFTER_SECONDS`` (3 s here, so it also
  re-submits payouts a live worker is still submitting: the row lock and the processor's
  idempotency key must hold);
- the webhook claims a dead worker holds expire after ``HOOKS_CLAIM_SECONDS`` (10 s here).

Then, exactly once: one ``Receipt`` per key and every receipt e-mailed (twice only for an
e-mail whose worker died between sending and recording it); one delivered
``Delivery`` and one successful ``Attempt`` per event (a receiver may see an event id twice:
the killed worker can have posted deliveries it had no time to record, which are posted
again under the same event id, so receivers de-duplicate on it, as documented); one sandbox
payout per payout, one ``paid`` event and one ledger entry per key, and the ledger
verified.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import pytest

from core.celery_queues import work_queues
from tests.scale_support import worker_start, workers_stop

ROOT = Path(__file__).resolve().parent.parent

RECEIPTS = 600
EVENTS = 240
PEOPLE = 4
PAYOUTS = 24
# E-mails sent twice at most: a worker killed between handing an e-mail to the mail server
# and recording it sent, in each of its two threads, for each of the two deaths. (What a
# killed worker had committed and not sent yet is sent by the receipt e-mail sweep.)
DUPLICATES_MAX = 1 * 2 * 2


def _sinks():
    """bench/sinks.py (the benchmark's SMTP server and webhook receiver)."""
    spec = importlib.util.spec_from_file_location("bench_sinks", ROOT / "bench" / "sinks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _backlog(receiver, settings):
    """Receipts, webhook events and payouts waiting for workers; returns the payout ids."""
    from core.money import Money
    from payments.hooks.models import Event
    from payments.hooks.services import endpoint_create
    from payments.payouts.services import payout_request
    from payments.payouts.tests.support import payee
    from payments.wallets.events import event_id_new
    from payments.wallets.models import ReceiptOutbox
    from payments.wallets.receipts import ReceiptSpec

    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    people = [payee(100 * PAYOUTS) for _ in range(PEOPLE)]
    for person in people:
        endpoint_create(
            user=person, url=receiver.url(f"/hooks/{person.pk}"), event_types=["payment.received"]
        )
    ReceiptOutbox.objects.bulk_create(
        ReceiptOutbox(
            payload=[
                asdict(
                    ReceiptSpec(
                        key=f"scale:{i}:recipient",
                        kind="money_received",
                        recipient_id=people[i % PEOPLE].pk,
                        subject=f"scale receipt {i}",
                        body="You received $1.00.",
                    )
                )
            ]
        )
        for i in range(RECEIPTS)
    )
    Event.objects.bulk_create(
        Event(
            public_id=event_id_new(),
            user=people[i % PEOPLE],
            kind="payment.received",
            payload={"n": i},
        )
        for i in range(EVENTS)
    )
    # The submissions go to the payouts queue, after commit, as from the API.
    settings.PAYOUTS_QUEUE = work_queues(settings.CELERY_TASK_DEFAULT_QUEUE)["payouts"]
    return [
        payout_request(
            user=people[i % PEOPLE],
            amount=Money(100, "USD"),
            method="standard",
            request_key=f"scale-{uuid.uuid4().hex}",
        ).pk
        for i in range(PAYOUTS)
    ]


def _progress(payout_ids: list[int]) -> dict[str, int]:
    from payments.hooks.models import Delivery
    from payments.payouts.models import Payout
    from payments.wallets.models import Receipt

    return {
        "receipts": Receipt.objects.filter(key__startswith="scale:").count(),
        "webhooks": Delivery.objects.filter(status="delivered").count(),
        "payouts": Payout.objects.filter(pk__in=payout_ids, ledger_status="paid").count(),
    }


@pytest.mark.celery
@pytest.mark.timeout(900)
@pytest.mark.django_db(transaction=True)
def test_workers_on_three_hosts_two_killed_take_every_effect_once(settings):
    from django.db.models import Count

    from payments.hooks.models import Attempt, Delivery, Event
    from payments.hooks.services import RECORD_EVERY
    from payments.wallets.models import Receipt
    from socialpay.celery import app

    sinks = _sinks()
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    queues = work_queues(default)
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(settings.DATABASES["default"]),
        CELERY_SPLIT_QUEUES="true",
        CELERY_BROKER_VISIBILITY_TIMEOUT="8",
        NIGHTLY_TASK_SOFT_TIME_LIMIT="5",
        NIGHTLY_TASK_TIME_LIMIT="6",
        PAYOUT_STUCK_AFTER_SECONDS="3",
        HOOKS_CLAIM_SECONDS="10",
        # The processor-webhook redrive (beat() below), scaled down like the sweeps: an
        # event whose processing task was lost with a killed worker is enqueued again.
        WEBHOOK_STUCK_AFTER_SECONDS="5",
        WEBHOOK_PROCESSING_LEASE_SECONDS="15",
        # Well above a live worker's sending of one batch, even on this busy machine.
        RECEIPT_EMAIL_RETRY_AFTER_SECONDS="20",
    )
    env.pop("PAYOUTS_QUEUE", None)
    names = [f"worker{i}@workers-host-{i}-{default}" for i in range(3)]
    log_path = ROOT / ".data" / f"celery-workers-scale-{settings.TEST_WORKER}.log"
    log_path.parent.mkdir(exist_ok=True)
    procs: dict[str, subprocess.Popen] = {}
    with (
        sinks.SmtpSink() as smtp,
        sinks.WebhookReceiver() as receiver,
        open(log_path, "wb") as log,
    ):
        env["EMAIL_URL"] = smtp.url
        payout_ids = _backlog(receiver, settings)
        try:
            for name in names:
                procs[name] = worker_start(name, [default, *queues.values()], env, log)
            deadline = time.monotonic() + 180
            while {next(iter(r)) for r in app.control.ping(destination=names, timeout=1)} != set(
                names
            ):
                assert time.monotonic() < deadline, f"workers did not answer; see {log_path}"

            def beat() -> None:
                app.send_task("payments.receipts_outbox_drain", queue=queues["receipts"])
                app.send_task("hooks.events_dispatch", queue=queues["webhooks"])
                app.send_task("hooks.deliveries_due", queue=queues["webhooks"])
                app.send_task("payouts.sweep", queue=queues["payouts"])
                app.send_task("payments.receipt_emails_sweep", queue=queues["receipts"])
                # As production's beat does every minute: without it, a payout whose
                # payout.paid event lost its processing task stays pending (seen once in CI).
                app.send_task("payments.webhook_events_redrive", queue=default)

            # Two deaths, each of the worker running the most tasks at that moment: one
            # once the first receipts are in (the drains are running, and the first
            # webhook and payout tasks), one once a quarter of the webhooks and payouts
            # are done (their dispatchers, submissions and settlements are running).
            beat()
            killed: list[tuple[str, dict[str, int]]] = []
            last_beat = time.monotonic()
            deadline = time.monotonic() + 600
            for kind, count in (("receipts", RECEIPTS), ("webhooks", EVENTS)):
                while (done := _progress(payout_ids))[kind] < count // 4 or (
                    kind == "webhooks" and done["payouts"] < PAYOUTS // 4
                ):
                    assert time.monotonic() < deadline, done
                    if time.monotonic() - last_beat > 2:
                        beat()
                        last_beat = time.monotonic()
                    time.sleep(0.05)
                alive = [n for n in names if procs[n].poll() is None]
                active = app.control.inspect(destination=alive, timeout=2).active() or {}
                victim = max(alive, key=lambda n: len(active.get(n) or ()))
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait()
                killed.append((victim, _progress(payout_ids)))

            while _progress(payout_ids) != {
                "receipts": RECEIPTS,
                "webhooks": EVENTS,
                "payouts": PAYOUTS,
            }:
                assert time.monotonic() < deadline, (killed, _progress(payout_ids))
                if time.monotonic() - last_beat > 2:
                    beat()
                    last_beat = time.monotonic()
                time.sleep(0.2)
            # The last e-mails go out just after their batch commits; those a killed worker
            # left unsent, by the sweep once they are RECEIPT_EMAIL_RETRY_AFTER_SECONDS old.
            deadline = time.monotonic() + 90
            while (
                len({s for s in smtp.received() if s.startswith("scale ")}) < RECEIPTS
                and time.monotonic() < deadline
            ):
                if time.monotonic() - last_beat > 2:
                    beat()
                    last_beat = time.monotonic()
                time.sleep(0.2)
        finally:
            workers_stop(procs, app)

        mails = {s: n for s, n in smtp.received().items() if s.startswith("scale ")}
        received = receiver.received()

    # Receipts: one Receipt per key (recorded before the e-mail, in the drain's
    # transaction), and every e-mail sent: those a killed worker had committed and not sent
    # are sent by the sweep. Twice only for an e-mail its worker died while recording.
    assert Receipt.objects.filter(key__startswith="scale:").count() == RECEIPTS
    assert len(mails) == RECEIPTS
    assert sum(n - 1 for n in mails.values()) <= DUPLICATES_MAX, {
        s: n for s, n in mails.items() if n > 1
    }
    assert not Receipt.objects.filter(key__startswith="scale:", email_spec__isnull=False).exists()

    # Webhooks: one delivery per event, delivered, with one recorded attempt.
    events = set(Event.objects.values_list("public_id", flat=True))
    assert len(events) == EVENTS
    assert set(received) == events
    assert Delivery.objects.count() == EVENTS
    assert not Delivery.objects.exclude(status="delivered").exists()
    # (A failed attempt, say a time-out on this busy machine, is retried: more attempts,
    # still one that succeeded.)
    per_delivery = (
        Attempt.objects.filter(status_code=200).values("delivery_id").annotate(n=Count("id"))
    )
    assert {row["n"] for row in per_delivery} == {1}, list(
        Attempt.objects.exclude(status_code=200).values("status_code", "error")[:5]
    )
    assert len(per_delivery) == EVENTS
    # Received twice: only what the killed worker posted and had not recorded yet (it
    # records every RECORD_EVERY posts), once per endpoint it was posting to.
    twice = [e for e, n in received.items() if n > 1]
    assert all(received[e] == 2 for e in twice)
    assert len(twice) <= RECORD_EVERY * PEOPLE

    # Payouts: submitted once to the processor, paid once, booked once; ledger verified.
    from payments.payouts.tests.support import assert_paid_once

    assert_paid_once(payout_ids)


def _database_url(db: dict) -> str:
    from urllib.parse import quote

    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db.get('USER') or ''}@{host}{port}/{db['NAME']}"
