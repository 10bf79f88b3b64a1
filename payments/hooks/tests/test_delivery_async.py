"""Delivery through a real Celery worker to a real local HTTP receiver: a payment's event
arrives signed (checked with the README's code), 500s and timeouts are retried with growing
waits under the same event id, a manual redelivery repeats the event id, and a burst of
1,000 events arrives whole, in order, on a few kept connections."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from django.db import transaction

from core.money import Money
from payments.hooks import services
from payments.hooks.models import Attempt, Delivery, Event
from payments.hooks.tests.support import readme_python_verify
from payments.wallets.events import event_emit
from payments.wallets.tests.support import fund, generous_throttles, person
from payments.wallets.transfers import transfer_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]


@pytest.fixture(autouse=True)
def _throttles(monkeypatch):
    generous_throttles(monkeypatch)


def wait_for(check, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def _delivered(count: int = 1):
    return lambda: Delivery.objects.filter(status="delivered").count() >= count


def test_a_transfer_reaches_the_receiver_signed(celery_worker_process, receiver):
    sender, recipient = person(), person()
    endpoint = services.endpoint_create(
        user=recipient, url=receiver.url, event_types=["payment.received"]
    )
    fund(sender, 5_000, "EUR")
    transfer = transfer_create(
        sender=sender, to=recipient.handle, money=Money(900, "EUR"), client_key="a1"
    )
    (request,) = receiver.wait_for(1)
    body = json.loads(request.body)
    assert body["type"] == "payment.received"
    assert body["data"]["transfer"] == transfer.pk
    assert body["data"]["amount"] == {"amount": 900, "currency": "EUR"}
    assert readme_python_verify()(
        request.body, request.headers["SocialPay-Signature"], endpoint.secret
    )
    wait_for(_delivered())


def test_500s_and_a_timeout_are_retried_with_growing_waits_under_one_event_id(
    celery_worker_process, receiver
):
    receiver.plan = [500, "sleep", 500, 200]
    user = person()
    endpoint = services.endpoint_create(user=user, url=receiver.url, event_types=["tip.received"])
    with transaction.atomic():
        event_emit("tip.received", user.pk, {"tip": 1})
    requests = receiver.wait_for(4, timeout=60)
    assert len(requests) == 4
    ids = {json.loads(r.body)["id"] for r in requests} | {
        r.headers["SocialPay-Event-Id"] for r in requests
    }
    assert ids == {Event.objects.get().public_id}
    verify = readme_python_verify()
    assert all(verify(r.body, r.headers["SocialPay-Signature"], endpoint.secret) for r in requests)
    wait_for(_delivered())
    delivery = Delivery.objects.get()
    assert delivery.attempts == 4
    log = list(Attempt.objects.filter(delivery=delivery).order_by("id"))
    assert [a.status_code for a in log] == [500, None, 500, 200]
    assert log[1].error == "timeout"
    # Backoff: the wait before each retry is at least the one before it.
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert gaps[0] >= 0.15 and gaps[2] >= 0.7, gaps


def test_a_manual_redelivery_carries_the_same_event_id(celery_worker_process, receiver):
    user = person()
    services.endpoint_create(user=user, url=receiver.url, event_types=["payout.paid"])
    with transaction.atomic():
        event_emit("payout.paid", user.pk, {"payout": 3})
    receiver.wait_for(1)
    wait_for(_delivered())
    delivery = Delivery.objects.get()
    with transaction.atomic():
        services.delivery_redeliver(user=user, delivery_id=delivery.public_id)
    first, second = receiver.wait_for(2)
    assert first.body == second.body
    assert first.headers["SocialPay-Event-Id"] == second.headers["SocialPay-Event-Id"]
    wait_for(lambda: Attempt.objects.filter(delivery=delivery, manual=True).exists())


def test_a_burst_of_1000_events_is_delivered_with_no_loss(celery_worker_process, receiver):
    user = person()
    services.endpoint_create(user=user, url=receiver.url, event_types=["tip.received"])
    started = time.monotonic()
    for batch in range(10):
        with transaction.atomic():
            for n in range(100):
                event_emit("tip.received", user.pk, {"tip": batch * 100 + n})
    requests = receiver.wait_for(1000, timeout=240)
    elapsed = time.monotonic() - started
    tips = sorted(json.loads(r.body)["data"]["tip"] for r in requests)
    assert tips == list(range(1000)), f"{len(set(tips))} of 1000 arrived"
    # In event order (one endpoint), each once, on a few kept connections.
    assert [json.loads(r.body)["data"]["tip"] for r in requests] == tips
    connections = len({r.client for r in requests})
    assert connections <= 50, connections
    wait_for(_delivered(1000), timeout=60)
    assert Delivery.objects.filter(status="delivered", attempts=1).count() == 1000
    print(
        f"\n1,000 webhook events delivered in {elapsed:.1f} s ({1000 / elapsed:.0f}/s) "
        f"on {connections} connections"
    )
