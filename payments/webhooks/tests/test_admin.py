"""Staff see webhook events read-only and can reprocess them."""

from __future__ import annotations

import json
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings

from accounts.models import User
from payments.processors import signing
from payments.webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser(
        handle="root", email="root@example.com", password="x" * 12
    )
    # The admin lets only staff with a second factor in (accounts.admin_site).
    TOTP.activate(admin, generate_totp_secret())
    client.force_login(admin)
    return client


def _receive(client) -> WebhookEvent:
    body = json.dumps(
        {
            "id": "evt_admin",
            "type": "customer.created",
            "created": int(time.time()),
            "data": {"object": {"id": "cus_1"}},
        }
    ).encode()
    client.post(
        "/webhooks/sandbox",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signing.signature_header(body, settings.SANDBOX_WEBHOOK_SECRET),
    )
    return WebhookEvent.objects.get(event_id="evt_admin")


def test_events_and_deliveries_are_listed_and_not_editable(staff_client):
    event = _receive(staff_client)

    assert staff_client.get("/admin/webhooks/webhookevent/").status_code == 200
    page = staff_client.get(f"/admin/webhooks/webhookevent/{event.pk}/change/")
    assert page.status_code == 200
    assert b"evt_admin" in page.content
    assert b'name="_save"' not in page.content
    delivery = WebhookDelivery.objects.get()
    assert (
        staff_client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/").status_code
        == 200
    )
    assert staff_client.get("/admin/webhooks/webhookevent/add/").status_code == 403


def test_the_reprocess_action_puts_the_event_back_in_the_queue(
    staff_client, django_capture_on_commit_callbacks
):
    event = _receive(staff_client)
    WebhookEvent.objects.filter(pk=event.pk).update(status="failed", last_error="boom")

    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(
            "/admin/webhooks/webhookevent/",
            {"action": "reprocess", "_selected_action": [event.pk]},
        )

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == "received"
    assert len(callbacks) == 1
