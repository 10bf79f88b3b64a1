"""The asynchronous path with a real Celery worker: the sandbox signs and delivers its
webhooks from a task, the intake stores them, and another task processes them."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.conf import settings

from payments.processors import signing
from payments.processors.base import PaymentRequest
from payments.processors.sandbox import models as sandbox_models
from payments.processors.sandbox.adapter import SandboxProcessor
from payments.processors.sandbox.tasks import sandbox_deliver_event
from payments.webhooks.models import WebhookDelivery, WebhookEvent
from payments.webhooks.tests import probe as webhook_probe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]


def wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def sandbox_payment(**metadata):
    return SandboxProcessor().create_payment(
        PaymentRequest(
            amount=2500,
            currency="USD",
            payment_method="pm_card_visa",
            idempotency_key=f"topup:{uuid.uuid4().hex}",
            metadata=metadata,
        )
    )


def processed(payment_id: str, event_type: str = "payment_intent.succeeded"):
    return WebhookEvent.objects.filter(
        processor="sandbox",
        type=event_type,
        payload__data__object__id=payment_id,
        status=WebhookEvent.Status.PROCESSED,
    ).first()


def test_a_sandbox_payment_webhook_is_delivered_stored_and_processed_once(celery_worker_process):
    payment = sandbox_payment()

    event = wait_for(lambda: processed(payment.id))

    assert event.attempts == 1
    assert webhook_probe.calls(event.event_id) == 1
    assert list(event.deliveries.values_list("outcome", flat=True)) == ["accepted"]
    sent = sandbox_models.Event.objects.get(id=event.event_id)
    assert sent.last_delivery_status == 200 and sent.delivered_at is not None


def test_a_duplicate_delivery_changes_nothing(celery_worker_process):
    payment = sandbox_payment()
    event = wait_for(lambda: processed(payment.id))

    SandboxProcessor().redeliver_event(event.event_id)

    wait_for(lambda: event.deliveries.count() == 2)
    time.sleep(1)  # give a wrongly enqueued second processing the time to show up
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)
    assert webhook_probe.calls(event.event_id) == 1
    assert sorted(event.deliveries.values_list("outcome", flat=True)) == ["accepted", "duplicate"]
    assert WebhookEvent.objects.filter(event_id=event.event_id).count() == 1


def _signed_payout_event(event_type: str, payout_id: str, created: int) -> tuple[bytes, str]:
    body = json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": event_type,
            "created": created,
            "account": "acct_1",
            "data": {
                "object": {"id": payout_id, "object": "payout", "status": event_type.split(".")[1]}
            },
        }
    ).encode()
    return body, signing.signature_header(body, settings.SANDBOX_WEBHOOK_SECRET)


def test_out_of_order_events_are_each_processed_once(client, celery_worker_process):
    now = int(time.time())
    paid = _signed_payout_event("payout.paid", "po_1", now - 60)
    failed = _signed_payout_event("payout.failed", "po_1", now)

    for body, header in (failed, paid, failed):  # the later event first, then a duplicate
        response = client.post(
            "/webhooks/sandbox",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )
        assert response.status_code == 200

    ids = [json.loads(body)["id"] for body, _ in (paid, failed)]
    wait_for(lambda: WebhookEvent.objects.filter(event_id__in=ids, status="processed").count() == 2)
    assert [webhook_probe.calls(i) for i in ids] == [1, 1]
    assert WebhookDelivery.objects.filter(outcome="duplicate").count() == 1


def test_a_transient_handler_error_is_retried_by_the_worker(celery_worker_process):
    payment = sandbox_payment(probe="transient")

    event = wait_for(lambda: processed(payment.id), timeout=60)

    assert event.attempts == 2
    assert webhook_probe.calls(event.event_id) == 2
    assert event.last_error == ""


def _undelivered_sandbox_event() -> sandbox_models.Event:
    """An event row written straight into the sandbox's table, so that no worker races the
    test to deliver it."""
    from django.utils import timezone

    event_id = f"evt_http{uuid.uuid4().hex}"
    body = {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": {"id": "pi_http", "object": "payment_intent", "status": "succeeded"}},
    }
    return sandbox_models.Event.objects.create(
        id=event_id,
        type=body["type"],
        object_id="pi_http",
        body=json.dumps(body),
        created=timezone.now(),
    )


def test_the_sandbox_can_deliver_over_http(live_server, settings):
    sent = _undelivered_sandbox_event()

    # Over HTTP the path decides: a wrong one answers 404 and the sandbox keeps retrying.
    settings.SANDBOX_WEBHOOK_URL = f"{live_server.url}/webhooks/elsewhere"
    sandbox_deliver_event.apply((sent.id,))
    sent.refresh_from_db()
    assert sent.last_delivery_status == 404
    assert sent.delivered_at is None

    settings.SANDBOX_WEBHOOK_URL = f"{live_server.url}/webhooks/sandbox"
    sandbox_deliver_event.apply((sent.id,))
    sent.refresh_from_db()
    assert sent.last_delivery_status == 200
    assert sent.delivered_at is not None
    delivery = WebhookDelivery.objects.get(event__event_id=sent.id)
    assert delivery.headers["user-agent"].startswith("SandboxProcessor/")
