"""The webhook intake (``POST /webhooks/{processor}``) and the processing service, in the
test process; the asynchronous path with a real worker is in test_webhooks_async.py."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.processors import signing
from payments.processors.base import TransientProcessorError
from payments.webhooks import registry, services
from payments.webhooks.models import WebhookDelivery, WebhookEvent
from payments.webhooks.registry import WebhookRetryLater, webhook_handler

pytestmark = pytest.mark.django_db


def event_body(event_type: str = "payment_intent.succeeded", **obj) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": {"id": "pi_1", "object": "payment_intent", **obj}},
        }
    ).encode()


def post(
    client,
    body: bytes,
    *,
    header: str | None = "sign",
    secret: str | None = None,
    timestamp=None,
    processor="sandbox",
    content_type="application/json",
    **extra,
):
    from django.conf import settings

    headers = {}
    if header == "sign":
        headers["HTTP_STRIPE_SIGNATURE"] = signing.signature_header(
            body, secret or settings.SANDBOX_WEBHOOK_SECRET, timestamp
        )
    elif header is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = header
    return client.post(
        f"/webhooks/{processor}", data=body, content_type=content_type, **headers, **extra
    )


def test_a_signed_event_is_stored_and_queued(client, django_capture_on_commit_callbacks):
    body = event_body()
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, body)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    event = WebhookEvent.objects.get()
    assert (event.processor, event.type, event.status) == (
        "sandbox",
        "payment_intent.succeeded",
        "received",
    )
    assert event.event_id == json.loads(body)["id"]
    assert bytes(event.raw_body) == body
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.event) == ("accepted", event)
    assert delivery.headers["stripe-signature"].startswith("t=")
    assert len(callbacks) == 1  # the processing task, enqueued after commit


def test_a_duplicate_delivery_answers_200_and_changes_nothing(
    client, django_capture_on_commit_callbacks
):
    body = event_body()
    post(client, body)
    event = WebhookEvent.objects.get()
    WebhookEvent.objects.filter(pk=event.pk).update(status="processed")

    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, body)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": True}
    assert WebhookEvent.objects.get().status == "processed"
    assert list(WebhookDelivery.objects.values_list("outcome", flat=True).order_by("pk")) == [
        "accepted",
        "duplicate",
    ]
    assert callbacks == []


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"header": None}, "invalid_signature"),
        ({"header": "nonsense"}, "invalid_signature"),
        ({"header": "t=1,v1="}, "invalid_signature"),
        ({"secret": "whsec_wrong"}, "invalid_signature"),
        ({"timestamp": int(time.time()) - 3600}, "stale_webhook"),
        ({"timestamp": int(time.time()) + 3600}, "stale_webhook"),
    ],
    ids=["missing", "malformed", "empty-v1", "wrong-secret", "stale", "future"],
)
def test_signature_matrix(client, kwargs, code):
    response = post(client, event_body(), **kwargs)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not WebhookEvent.objects.exists()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.outcome, delivery.error_code) == ("rejected", code)


def test_a_tampered_body_is_refused(client):
    from django.conf import settings

    body = event_body(amount=100)
    header = signing.signature_header(body, settings.SANDBOX_WEBHOOK_SECRET)
    tampered = body.replace(b'"amount": 100', b'"amount": 999')

    response = post(client, tampered, header=header)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()


def test_a_forged_event_cannot_take_the_id_of_a_real_one(client):
    body = event_body()
    assert post(client, body, secret="whsec_forger").status_code == 400

    assert post(client, body).json() == {"received": True, "duplicate": False}
    assert WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"id": "evt_1"}',
        b'{"id": "evt_1", "type": "x", "created": 1, "data": {"object": "no"}}',
        b'{"id": "evt_1", "type": "x", "created": "1", "data": {"object": {}}}',
        b'{"id": "evt_1", "type": "x\\u0000", "created": 1, "data": {"object": {}}}',
        b'{"id": "evt_\xff", "type": "x", "created": 1, "data": {"object": {}}}',
    ],
    ids=["broken", "array", "no-type", "object-not-dict", "created-string", "nul", "invalid-utf8"],
)
def test_signed_but_malformed_payloads_are_400(client, body):
    response = post(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"malformed_payload", "invalid_signature"}
    assert not WebhookEvent.objects.exists()


def test_an_empty_body_is_refused(client):
    response = post(client, b"")
    assert response.status_code in {400, 415}
    assert not WebhookEvent.objects.exists()


def test_wrong_content_type_is_415(client):
    response = post(client, event_body(), content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert not WebhookEvent.objects.exists()


def test_an_oversized_body_is_413_and_not_read(client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1024
    response = post(client, event_body(padding="x" * 2000))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not WebhookDelivery.objects.exists()


def test_only_the_configured_processor_has_an_endpoint(client, settings):
    settings.PAYMENTS_PROCESSOR = "sandbox"
    for name in ("stripe", "paypal", "x" * 300):
        response = post(client, event_body(), processor=name)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_processor"
    assert not WebhookDelivery.objects.exists()


def test_stripe_events_are_accepted_when_stripe_is_configured(client, settings):
    settings.PAYMENTS_PROCESSOR = "stripe"
    settings.STRIPE_API_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_stripe_test"

    assert (
        post(client, event_body(), processor="stripe", secret="whsec_stripe_test").status_code
        == 200
    )
    assert post(client, event_body(), processor="sandbox").status_code == 404
    assert WebhookEvent.objects.get().processor == "stripe"


def test_get_is_405(client):
    response = client.get("/webhooks/sandbox")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_no_csrf_token_is_needed(client):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    assert post(csrf_client, event_body()).status_code == 200


# --- processing -----------------------------------------------------------------------------


@pytest.fixture
def calls():
    """A handler registered for ``test.*`` types in this process only."""
    seen: list[tuple[str, str]] = []
    behaviour: dict[str, Exception] = {}

    @webhook_handler("test.ok", "test.retry", "test.crash")
    def handler(event):
        seen.append((event.id, event.type))
        if event.type in behaviour:
            raise behaviour[event.type]

    handler.behaviour = behaviour
    yield seen, behaviour
    registry.unregister(handler)


def stored(client, event_type: str, **obj) -> WebhookEvent:
    body = event_body(event_type, **obj)
    assert post(client, body).status_code == 200
    return WebhookEvent.objects.get(event_id=json.loads(body)["id"])


def test_processing_runs_the_handler_once(client, calls):
    seen, _ = calls
    event = stored(client, "test.ok")

    assert services.webhook_event_process(event_pk=event.pk).status == "processed"
    assert services.webhook_event_process(event_pk=event.pk).status == "already_processed"

    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("processed", 1, "")
    assert event.processed_at is not None
    assert seen == [(event.event_id, "test.ok")]


def test_an_event_type_without_handler_is_ignored(client, calls):
    event = stored(client, "customer.created")
    assert services.webhook_event_process(event_pk=event.pk).status == "ignored"
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("ignored", 0)


@pytest.mark.parametrize("error", [TransientProcessorError("later"), WebhookRetryLater("not yet")])
def test_a_transient_error_schedules_a_retry(client, calls, error):
    seen, behaviour = calls
    behaviour["test.retry"] = error
    event = stored(client, "test.retry")

    outcome = services.webhook_event_process(event_pk=event.pk)

    assert outcome.status == "retry" and outcome.retry_in == 5
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("received", 1)
    assert type(error).__name__ in event.last_error
    assert event.next_attempt_at > timezone.now()

    del behaviour["test.retry"]
    assert services.webhook_event_process(event_pk=event.pk).status == "processed"
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("processed", 2, "")
    assert len(seen) == 2


def test_retries_stop_after_the_maximum(client, calls, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    _, behaviour = calls
    behaviour["test.retry"] = TransientProcessorError("still down")
    event = stored(client, "test.retry")

    assert services.webhook_event_process(event_pk=event.pk).status == "retry"
    assert services.webhook_event_process(event_pk=event.pk).status == "failed"
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 2)


def test_a_handler_bug_fails_the_event_and_staff_can_reprocess(client, calls):
    seen, behaviour = calls
    behaviour["test.crash"] = KeyError("topup")
    event = stored(client, "test.crash")

    assert services.webhook_event_process(event_pk=event.pk).status == "failed"
    event.refresh_from_db()
    assert event.status == "failed" and "KeyError" in event.last_error
    assert services.webhook_event_process(event_pk=event.pk).status == "already_failed"

    del behaviour["test.crash"]
    services.webhook_event_reprocess(event_pk=event.pk)
    assert services.webhook_event_process(event_pk=event.pk).status == "processed"
    assert len(seen) == 2


def test_a_live_claim_is_respected_and_an_expired_one_taken_over(client, calls, settings):
    seen, _ = calls
    event = stored(client, "test.ok")
    WebhookEvent.objects.filter(pk=event.pk).update(
        status="processing", attempts=1, processing_started_at=timezone.now()
    )
    busy = services.webhook_event_process(event_pk=event.pk)
    assert busy.status == "busy"
    assert 0 < busy.retry_in <= settings.WEBHOOK_PROCESSING_LEASE_SECONDS + 1
    with pytest.raises(services.WebhookEventBusy):
        services.webhook_event_reprocess(event_pk=event.pk)

    WebhookEvent.objects.filter(pk=event.pk).update(
        processing_started_at=timezone.now()
        - timedelta(seconds=settings.WEBHOOK_PROCESSING_LEASE_SECONDS + 1)
    )
    assert services.webhook_event_process(event_pk=event.pk).status == "processed"
    event.refresh_from_db()
    assert event.attempts == 2
    assert len(seen) == 1


def test_redrive_enqueues_only_stuck_events(
    client, calls, settings, django_capture_on_commit_callbacks, monkeypatch
):
    old = timezone.now() - timedelta(seconds=settings.WEBHOOK_STUCK_AFTER_SECONDS + 5)
    stuck = stored(client, "test.ok")
    fresh = stored(client, "test.ok")
    done = stored(client, "test.ok")
    crashed = stored(client, "test.ok")
    WebhookEvent.objects.filter(pk=stuck.pk).update(updated_at=old)
    WebhookEvent.objects.filter(pk=done.pk).update(status="processed", updated_at=old)
    WebhookEvent.objects.filter(pk=crashed.pk).update(
        status="processing",
        processing_started_at=timezone.now() - timedelta(days=1),
        updated_at=old,
    )
    queued = []
    from payments.webhooks import tasks

    monkeypatch.setattr(tasks.webhook_event_process_task, "delay", queued.append)

    assert services.webhook_events_redrive() == 2
    assert sorted(queued) == sorted([stuck.pk, crashed.pk])
    assert fresh.pk not in queued


def test_reprocess_of_an_unknown_event_is_not_found():
    from core.exceptions import NotFound

    with pytest.raises(NotFound):
        services.webhook_event_reprocess(event_pk=987654321)


def test_old_rejected_and_duplicate_deliveries_are_pruned(client, settings):
    body = event_body()
    post(client, body)
    post(client, body)
    post(client, event_body(), secret="whsec_wrong")
    WebhookDelivery.objects.update(
        received_at=timezone.now() - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS + 1)
    )

    assert services.webhook_deliveries_prune() == 2
    assert list(WebhookDelivery.objects.values_list("outcome", flat=True)) == ["accepted"]


def test_beat_redrives_webhooks_and_prunes_deliveries(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"payments.webhook_events_redrive", "payments.webhook_deliveries_prune"} <= tasks
