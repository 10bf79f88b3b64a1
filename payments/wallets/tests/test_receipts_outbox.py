"""Receipts travel through a transactional outbox: written with the payment, delivered by a
drain (the worker's task), woken at most once per interval per process."""

from __future__ import annotations

import pytest
from celery.signals import before_task_publish
from django.core import mail

from accounts.models import Notification
from core.money import Money
from ledger.errors import InsufficientFunds
from payments.wallets import receipts
from payments.wallets.models import Receipt, ReceiptOutbox, Transfer
from payments.wallets.receipts import ReceiptSpec, receipts_outbox_drain, receipts_send
from payments.wallets.tests.support import fund, person
from payments.wallets.transfers import transfer_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(settings):
    """Names of the Celery tasks published during the test (observed, not intercepted)."""
    names: list[str] = []

    def observe(sender=None, **kwargs):
        names.append(sender)

    before_task_publish.connect(observe, weak=False)
    receipts._last_wake = float("-inf")
    yield names
    before_task_publish.disconnect(observe)


def _pay(sender, recipient, amount=250, key="k"):
    return transfer_create(
        sender=sender, to=recipient.handle, money=Money(amount, "USD"), client_key=key
    )


def test_a_transfer_writes_its_receipts_in_its_own_transaction(django_capture_on_commit_callbacks):
    alice, bob = person(), person()
    fund(alice, 1000)
    ReceiptOutbox.objects.all().delete()

    with django_capture_on_commit_callbacks() as wakes:
        transfer = _pay(alice, bob)

    row = ReceiptOutbox.objects.get()
    assert [(s["key"], s["kind"], s["recipient_id"]) for s in row.payload] == [
        (f"transfer:{transfer.pk}:sender", "money_sent", alice.pk),
        (f"transfer:{transfer.pk}:recipient", "money_received", bob.pk),
    ]
    # the worker is woken only after the commit
    assert [hook for hook in wakes if hook is receipts._wake_worker] == [receipts._wake_worker]


def test_a_refused_transfer_leaves_no_receipt_behind():
    alice, bob = person(), person()
    fund(alice, 100)
    ReceiptOutbox.objects.all().delete()

    with pytest.raises(InsufficientFunds):
        _pay(alice, bob, amount=5000)

    assert not ReceiptOutbox.objects.exists()
    assert not Transfer.objects.filter(sender=alice).exists()


def test_the_drain_delivers_both_sides_once_and_empties_the_outbox(
    mailoutbox, django_capture_on_commit_callbacks
):
    alice, bob = person(), person()
    fund(alice, 1000)
    Notification.objects.all().delete()
    ReceiptOutbox.objects.all().delete()
    transfer = _pay(alice, bob)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):  # e-mails go after the commit
        assert receipts_outbox_drain() == 1
    assert len(mailoutbox) == 2
    assert receipts_outbox_drain() == 0

    assert not ReceiptOutbox.objects.exists()
    assert Receipt.objects.filter(key__startswith=f"transfer:{transfer.pk}:").count() == 2
    assert Notification.objects.get(recipient=bob).kind == "money_received"
    assert Notification.objects.get(recipient=alice).kind == "money_sent"
    assert sorted(m.to[0] for m in mailoutbox) == sorted([alice.email, bob.email])


def test_an_outbox_row_delivered_twice_notifies_once(
    mailoutbox, django_capture_on_commit_callbacks
):
    """A worker killed after delivering but before deleting its rows: the next drain finds
    them again, and the unique receipt keys make it a no-op."""
    bob = person()
    spec = ReceiptSpec(key="gift:1:recipient", kind="money_received", recipient_id=bob.pk,
                       subject="You got money", body="You got money.")  # fmt: skip
    receipts_send([spec])
    receipts_send([spec])

    with django_capture_on_commit_callbacks(execute=True):
        assert receipts_outbox_drain() == 2
    assert Notification.objects.filter(recipient=bob).count() == 1
    assert len(mailoutbox) == 1


def test_a_failing_row_is_kept_and_does_not_block_the_others(caplog):
    bob = person()
    good = ReceiptSpec(key="ok:1:r", kind="money_received", recipient_id=bob.pk,
                       subject="s", body="b")  # fmt: skip
    broken = ReceiptOutbox.objects.create(payload=[{"key": "bad", "no_such_field": 1}])
    receipts_send([good])

    assert receipts_outbox_drain() == 1

    assert list(ReceiptOutbox.objects.values_list("pk", flat=True)) == [broken.pk]
    assert Receipt.objects.filter(key="ok:1:r").exists()


def test_waking_the_worker_is_debounced_per_process(
    settings, published, django_capture_on_commit_callbacks
):
    settings.RECEIPTS_KICK_SECONDS = 60
    alice, bob = person(), person()
    fund(alice, 1000)
    published.clear()

    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            _pay(alice, bob, amount=10, key=f"debounce-{n}")

    assert published.count("payments.receipts_outbox_drain") == 1
    assert ReceiptOutbox.objects.count() >= 3  # all waiting; beat's drain also finds them


def test_with_no_interval_every_payment_wakes_the_worker(
    settings, published, django_capture_on_commit_callbacks
):
    settings.RECEIPTS_KICK_SECONDS = 0
    alice, bob = person(), person()
    fund(alice, 1000)
    published.clear()

    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            _pay(alice, bob, amount=10, key=f"eager-{n}")

    assert published.count("payments.receipts_outbox_drain") == 3


@pytest.fixture
def unreachable_broker(settings):
    """Point the Celery app at a port where nothing listens (a real connection failure)."""
    from socialpay.celery import app

    url, policy, pool = app.conf.broker_url, app.conf.task_publish_retry_policy, app._pool
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    app.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0}
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_url, app.conf.task_publish_retry_policy, app._pool = url, policy, pool
    app.amqp._producer_pool = None


def test_a_broker_failure_loses_no_receipt(
    settings, unreachable_broker, django_capture_on_commit_callbacks
):
    """Publishing the wake-up fails (the broker is unreachable): the payment still succeeds
    and its receipts wait in the outbox for the next drain."""
    settings.RECEIPTS_KICK_SECONDS = 0
    receipts._last_wake = float("-inf")
    alice, bob = person(), person()
    fund(alice, 1000)
    ReceiptOutbox.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        transfer = _pay(alice, bob, key="broker-down")

    assert transfer.status == "completed"
    assert ReceiptOutbox.objects.count() == 1
    assert receipts_outbox_drain() == 1
    assert Receipt.objects.filter(key__startswith=f"transfer:{transfer.pk}:").count() == 2


def test_beat_drains_the_outbox_every_second(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["receipts-outbox-drain"]
    assert entry["task"] == "payments.receipts_outbox_drain"
    assert entry["schedule"].total_seconds() == 1


def test_a_drain_with_a_time_budget_stops_between_batches():
    """A long backlog is drained in runs that end well inside the task's soft time limit
    (the task then queues the next run); each run takes at least one batch."""
    bob = person()
    ReceiptOutbox.objects.all().delete()
    for n in range(3):
        receipts_send([ReceiptSpec(key=f"budget:{n}:r", kind="money_received",
                                   recipient_id=bob.pk, subject="s", body="b")])  # fmt: skip

    assert receipts_outbox_drain(batch=2, run_seconds=0) == 2
    assert ReceiptOutbox.objects.count() == 1
    assert receipts_outbox_drain(batch=2, run_seconds=0) == 1
    assert not ReceiptOutbox.objects.exists()


def test_an_email_a_dead_worker_left_unsent_is_sent_by_the_sweep_once(settings):
    """The drain commits a batch's receipts, then sends their e-mails: a worker that dies in
    between leaves each receipt holding its e-mail, which the sweep sends once it is old
    enough (and never one a live worker is still about to send)."""
    from datetime import timedelta

    from django.utils import timezone

    from payments.wallets.receipts import ReceiptSpec, receipt_deliver, receipt_emails_sweep

    settings.RECEIPT_EMAIL_RETRY_AFTER_SECONDS = 120
    ada = person()
    spec = ReceiptSpec(
        key=f"sweep:{ada.pk}", kind="money_received", recipient_id=ada.pk, subject="s", body="b"
    )
    # The worker commits the receipt and dies before its on-commit e-mail runs (in this
    # test's transaction, on-commit callbacks never run: the same outcome).
    assert receipt_deliver(spec=spec)
    receipt = Receipt.objects.get(key=spec.key)
    assert receipt.email_spec is not None and receipt.email_sent_at is None
    assert mail.outbox == []
    # Too recent: a live worker may be sending it right now.
    assert receipt_emails_sweep() == 0 and mail.outbox == []
    later = timezone.now() + timedelta(seconds=121)
    assert receipt_emails_sweep(now=later) == 1
    assert [m.subject for m in mail.outbox] == ["s"] and mail.outbox[0].to == [ada.email]
    receipt.refresh_from_db()
    assert receipt.email_spec is None and receipt.email_sent_at is not None
    assert receipt_emails_sweep(now=later) == 0 and len(mail.outbox) == 1


def test_a_delivered_receipt_keeps_no_email_to_resend(django_capture_on_commit_callbacks):
    from payments.wallets.receipts import ReceiptSpec, receipt_deliver

    ada = person()
    spec = ReceiptSpec(
        key=f"sent:{ada.pk}", kind="money_received", recipient_id=ada.pk, subject="s", body="b"
    )
    with django_capture_on_commit_callbacks(execute=True):
        receipt_deliver(spec=spec)
    receipt = Receipt.objects.get(key=spec.key)
    assert receipt.email_spec is None and receipt.email_sent_at is not None
    assert len(mail.outbox) == 1
