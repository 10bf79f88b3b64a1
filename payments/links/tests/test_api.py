"""The links API: create, public read (no payers), pay idempotently, owner-only reads and
deactivation; bad inputs are 4xx with stable codes and write nothing."""

from __future__ import annotations

import pytest

from core.money import Money
from payments.creators.tests.factories import api_for, available, fund, key, make_user
from payments.links import services
from payments.links.models import LinkPayment, PaymentLink

pytestmark = pytest.mark.django_db


def test_create_read_pay_replay_and_owner_reads():
    owner, fan, other = make_user(), make_user(), make_user()
    fund(fan, 2000)
    created = api_for(owner).post(
        "/api/v1/links",
        {"kind": "fixed", "amount": 500, "currency": "USD", "note": "Book", "max_uses": 5},
        format="json",
    )
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    public = api_for(other).get(f"/api/v1/links/{slug}").json()
    assert public["owner"]["handle"] == owner.handle
    assert public["fees"] == {
        "gross": {"amount": 500, "currency": "USD"},
        "fee": {"amount": 50, "currency": "USD"},
        "net": {"amount": 450, "currency": "USD"},
    }
    assert "uses" not in public and "payments" not in public
    k = key()
    fan_api = api_for(fan)
    paid = fan_api.post(f"/api/v1/links/{slug}/pay", {}, format="json", HTTP_IDEMPOTENCY_KEY=k)
    again = fan_api.post(f"/api/v1/links/{slug}/pay", {}, format="json", HTTP_IDEMPOTENCY_KEY=k)
    assert paid.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and available(fan) == 1500
    payments = api_for(owner).get(f"/api/v1/links/{slug}/payments").json()["data"]
    assert [p["payer"] for p in payments] == [fan.handle]
    # Nobody but the owner sees who paid, or may turn the link off.
    assert api_for(other).get(f"/api/v1/links/{slug}/payments").status_code == 404
    assert api_for(other).post(f"/api/v1/links/{slug}/deactivate").status_code == 404
    assert fan.handle not in api_for(other).get(f"/api/v1/links/{slug}").content.decode()
    off = api_for(owner).post(f"/api/v1/links/{slug}/deactivate")
    assert off.status_code == 200 and off.json()["active"] is False
    refused = fan_api.post(
        f"/api/v1/links/{slug}/pay", {}, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert refused.status_code == 410 and refused.json()["error"]["code"] == "link_inactive"


def test_public_read_needs_no_account():
    from rest_framework.test import APIClient

    link = services.link_create(
        owner=make_user(), kind="open", currency="USD", min_amount=Money(300, "USD")
    )
    got = APIClient().get(f"/api/v1/links/{link.slug}")
    assert got.status_code == 200 and got.json()["min_amount"]["amount"] == 300
    assert APIClient().get("/api/v1/links/nope").status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "fixed", "amount": 500}, "validation_error"),
        ({"kind": "gift", "amount": 500, "currency": "USD"}, "invalid_choice"),
        ({"kind": "fixed", "amount": "5", "currency": "USD"}, "invalid_amount"),
        ({"kind": "fixed", "amount": 5.5, "currency": "USD"}, "invalid_amount"),
        ({"kind": "fixed", "amount": 0, "currency": "USD"}, "amount_out_of_range"),
        ({"kind": "fixed", "currency": "USD"}, "invalid_choice"),
        ({"kind": "open", "amount": 500, "currency": "USD"}, "invalid_choice"),
        ({"kind": "fixed", "amount": 500, "currency": "XXX"}, "invalid_currency"),
        ({"kind": "fixed", "amount": 500, "currency": "USD", "max_uses": 0}, "invalid_use_limit"),
        (
            {"kind": "fixed", "amount": 500, "currency": "USD", "expires_at": "tomorrow"},
            "invalid_expiry",
        ),
        (
            {"kind": "fixed", "amount": 500, "currency": "USD", "expires_at": "2020-01-01T00:00Z"},
            "invalid_expiry",
        ),
        ({"kind": "fixed", "amount": 500, "currency": "USD", "is_paid": True}, "unknown_field"),
    ],
)
def test_bad_create_inputs_are_4xx_and_write_nothing(body, code):
    got = api_for(make_user()).post("/api/v1/links", body, format="json")
    assert 400 <= got.status_code < 500, got.content
    assert got.json()["error"]["code"] == code
    assert not PaymentLink.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"amount": 299, "currency": "USD"}, 422, "amount_below_minimum"),
        ({"amount": "3.00", "currency": "USD"}, 400, "invalid_amount"),
        ({"amount": 500, "currency": "EUR"}, 422, "currency_mismatch"),
        ({}, 400, "invalid_amount"),
        ({"amount": 500, "currency": "USD", "message": "\x00"}, 400, "null_characters_not_allowed"),
        ({"amount": 500, "currency": "USD", "payer": "x"}, 400, "unknown_field"),
    ],
)
def test_bad_pay_inputs_are_4xx_and_write_nothing(body, status, code):
    fan = make_user()
    fund(fan, 2000)
    link = services.link_create(
        owner=make_user(), kind="open", currency="USD", min_amount=Money(300, "USD")
    )
    got = api_for(fan).post(
        f"/api/v1/links/{link.slug}/pay", body, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert got.status_code == status, got.content
    assert got.json()["error"]["code"] == code
    assert not LinkPayment.objects.exists() and available(fan) == 2000


def test_pay_needs_an_idempotency_key():
    fan = make_user()
    link = services.link_create(
        owner=make_user(), kind="fixed", currency="USD", amount=Money(300, "USD")
    )
    got = api_for(fan).post(f"/api/v1/links/{link.slug}/pay", {}, format="json")
    assert got.status_code == 400 and got.json()["error"]["code"] == "idempotency_key_required"


def test_the_links_api_is_rate_limited(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates["links"] = "3/min"
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    client = api_for(make_user())
    codes = [client.get(f"/api/v1/links/{key()}").status_code for _ in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[3:] == [429, 429]
