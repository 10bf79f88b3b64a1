"""The webhook endpoints API and pages: owner-scoped CRUD, rotation, the delivery log,
redelivery, and the SSRF refusal as a 400 with its code."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from payments.hooks import services
from payments.hooks.models import Delivery, Endpoint
from payments.wallets.events import event_emit
from payments.wallets.tests.support import api, person

pytestmark = pytest.mark.django_db

URL = "https://93.184.216.34/hook"
BASE = "/api/v1/webhook-endpoints"


def test_create_list_read_update_rotate_delete():
    user = person()
    client = api(user)
    made = client.post(BASE, {"url": URL, "event_types": ["tip.received"]}, format="json")
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["object"] == "webhook_endpoint" and body["id"].startswith("we_")
    assert body["secret"].startswith("whsec_") and body["created_at"].endswith("Z")
    listed = client.get(BASE).json()["data"]
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    assert client.get(f"{BASE}/{body['id']}").json()["secret"] == body["secret"]
    patched = client.patch(
        f"{BASE}/{body['id']}",
        {"event_types": ["order.paid", "tip.received"], "is_active": False},
        format="json",
    )
    assert patched.status_code == 200
    assert patched.json()["event_types"] == ["tip.received", "order.paid"]
    assert patched.json()["is_active"] is False
    rotated = client.post(f"{BASE}/{body['id']}/rotate-secret").json()
    assert rotated["secret"] != body["secret"]
    assert rotated["previous_secret_expires_at"].endswith("Z")
    assert client.delete(f"{BASE}/{body['id']}").status_code == 204
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (
            {"url": "http://127.0.0.1:8000/hook", "event_types": ["tip.received"]},
            "webhook_url_forbidden",
        ),
        ({"url": "http://10.0.0.1/hook", "event_types": ["tip.received"]}, "webhook_url_forbidden"),
        (
            {"url": "gopher://93.184.216.34/", "event_types": ["tip.received"]},
            "webhook_url_invalid",
        ),
        ({"url": URL, "event_types": ["charge.succeeded"]}, "webhook_event_type_unknown"),
        ({"url": URL, "event_types": []}, "min_length"),
        ({"url": URL, "event_types": ["tip.received"], "secret": "mine"}, "unknown_field"),
    ],
)
def test_bad_input_is_a_400_with_a_stable_code_and_nothing_written(settings, payload, code):
    settings.HOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = api(person()).post(BASE, payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Endpoint.objects.exists()


def test_other_peoples_endpoints_and_deliveries_are_not_found():
    owner, stranger = person(), person()
    endpoint = services.endpoint_create(user=owner, url=URL, event_types=["payment.received"])
    with transaction.atomic():
        event_emit("payment.received", owner.pk, {"transfer": 1})
    services.events_dispatch()
    delivery = Delivery.objects.get()
    client = api(stranger)
    for method, path in [
        ("get", f"{BASE}/{endpoint.public_id}"),
        ("patch", f"{BASE}/{endpoint.public_id}"),
        ("delete", f"{BASE}/{endpoint.public_id}"),
        ("post", f"{BASE}/{endpoint.public_id}/rotate-secret"),
        ("get", f"{BASE}/{endpoint.public_id}/deliveries"),
        ("post", f"/api/v1/webhook-deliveries/{delivery.public_id}/redeliver"),
    ]:
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"].startswith("webhook_")
    assert Endpoint.objects.get().secret == endpoint.secret


def test_the_delivery_log_and_redelivery():
    user = person()
    endpoint = services.endpoint_create(user=user, url=URL, event_types=["payment.received"])
    with transaction.atomic():
        event_emit("payment.received", user.pk, {"transfer": 1})
    services.events_dispatch()
    client = api(user)
    page = client.get(f"{BASE}/{endpoint.public_id}/deliveries").json()
    (row,) = page["data"]
    assert row["object"] == "webhook_delivery" and row["event_type"] == "payment.received"
    assert row["status"] == "pending" and row["event_id"].startswith("evt_")
    again = client.post(f"/api/v1/webhook-deliveries/{row['id']}/redeliver")
    assert again.status_code == 202 and again.json()["id"] == row["id"]


def test_the_settings_pages(client, settings):
    settings.HOOKS_ALLOW_PRIVATE_ADDRESSES = False
    user = person()
    client.force_login(user)
    page = client.get(reverse("payments:webhooks"))
    assert page.status_code == 200 and b"Webhooks" in page.content
    refused = client.post(
        reverse("payments:webhooks"),
        {"url": "http://169.254.169.254/", "event_types": ["tip.received"]},
    )
    assert refused.status_code == 200  # the form again, with the reason
    assert "private or local network" in refused.content.decode()
    made = client.post(
        reverse("payments:webhooks"),
        {"url": URL, "event_types": ["tip.received", "payout.paid"], "description": "shop"},
    )
    endpoint = Endpoint.objects.get(user=user)
    assert made.status_code == 302 and endpoint.event_types == ["tip.received", "payout.paid"]
    detail = client.get(reverse("payments:webhook", args=[endpoint.public_id]))
    assert detail.status_code == 200 and endpoint.secret.encode() in detail.content
    old = endpoint.secret
    client.post(reverse("payments:webhook-action", args=[endpoint.public_id, "rotate"]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    client.post(reverse("payments:webhook-action", args=[endpoint.public_id, "pause"]))
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    client.post(reverse("payments:webhook-action", args=[endpoint.public_id, "delete"]))
    assert not Endpoint.objects.exists()
    assert client.get(reverse("payments:webhook", args=[endpoint.public_id])).status_code == 404


def test_the_admin_lists_without_showing_secrets(client):
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from accounts.models import User

    staff = User.objects.create_superuser(
        handle="hookstaff", email="hookstaff@example.com", password="a long passphrase 42"
    )
    TOTP.activate(staff, generate_totp_secret())  # staff reach the admin with a second factor
    owner = person()
    endpoint = services.endpoint_create(user=owner, url=URL, event_types=["payment.received"])
    with transaction.atomic():
        event_emit("payment.received", owner.pk, {"transfer": 1})
    services.events_dispatch()
    client.force_login(staff)
    for name in ("endpoint", "event", "delivery"):
        page = client.get(f"/admin/hooks/{name}/")
        assert page.status_code == 200, name
    detail = client.get(f"/admin/hooks/endpoint/{endpoint.pk}/change/")
    assert detail.status_code == 200 and endpoint.secret.encode() not in detail.content
    delivery = Delivery.objects.get()
    assert client.get(f"/admin/hooks/delivery/{delivery.pk}/change/").status_code == 200
