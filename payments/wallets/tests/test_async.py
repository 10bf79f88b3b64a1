"""The asynchronous paths with a real Celery worker: a card top-up is credited by the
processor's webhook (delivered, stored and processed by the worker), a duplicate delivery
credits nothing more, and receipts reach both sides of a payment once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from accounts.models import Notification
from ledger.models import Entry
from ledger.selectors import balance_of, ledger_verify
from payments.processors.sandbox.adapter import SandboxProcessor
from payments.wallets.models import Receipt, TopUp
from payments.wallets.receipts import ReceiptSpec, receipt_deliver
from payments.wallets.tests.support import api, generous_throttles, key, person
from payments.webhooks.models import WebhookEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]


@pytest.fixture(autouse=True)
def _throttles(monkeypatch):
    generous_throttles(monkeypatch)


def wait_for(check, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def test_topup_is_credited_by_the_webhook_once_and_receipts_follow(celery_worker_process):
    fan, friend = person(), person()
    client = api(fan)
    res = client.post(
        "/api/v1/topups",
        {"amount": 5000, "currency": "USD", "payment_method": "pm_card_visa"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert res.status_code == 201, res.json()
    row = wait_for(lambda: TopUp.objects.filter(pk=res.json()["id"], status="succeeded").first())
    assert row.fee == 175
    assert balance_of(account=f"wallet:user:{fan.pk}:USD").available.amount == 5000

    event = WebhookEvent.objects.get(
        type="payment_intent.succeeded", payload__data__object__id=row.payment_id
    )
    SandboxProcessor().redeliver_event(event.event_id)
    wait_for(lambda: event.deliveries.count() == 2)
    time.sleep(1)
    assert Entry.objects.filter(reference=f"topup:{row.pk}").count() == 2
    assert balance_of(account=f"wallet:user:{fan.pk}:USD").available.amount == 5000
    wait_for(lambda: Notification.objects.filter(recipient=fan, kind="topup_succeeded").exists())

    sent = client.post(
        "/api/v1/transfers",
        {"to": friend.handle, "amount": 1250, "currency": "USD", "note": "🍕 pizza"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert sent.status_code == 201
    tid = sent.json()["id"]
    received = wait_for(
        lambda: Notification.objects.filter(recipient=friend, kind="money_received").first()
    )
    assert (received.actor_id, received.target_type, received.target_id) == (
        fan.pk,
        "transfer",
        tid,
    )
    wait_for(lambda: Notification.objects.filter(recipient=fan, kind="money_sent").exists())
    assert Receipt.objects.filter(key__startswith=f"transfer:{tid}:").count() == 2
    assert ledger_verify(hold_max_age=timedelta(days=1)).ok


def test_a_receipt_is_delivered_once(mailoutbox):
    alice = person()
    spec = ReceiptSpec(
        key="test:1:alice",
        kind="money_received",
        recipient_id=alice.pk,
        subject="You got money",
        body="You got money.",
    )
    assert receipt_deliver(spec=spec) is True
    assert receipt_deliver(spec=spec) is False
    assert Notification.objects.filter(recipient=alice, kind="money_received").count() == 1
    assert [m.subject for m in mailoutbox] == ["You got money"]
