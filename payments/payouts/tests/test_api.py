"""The payouts API: 202 and the contract's shape, bad inputs (4xx, nothing written),
idempotency, authorisation (someone else's payout is a 404) and re-authentication."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_create
from ledger.models import Hold
from payments.payouts.models import Payout, PayoutDestination
from payments.payouts.tests.support import available, card_payee, fund, make_user, payee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings, monkeypatch):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates.update({"anon": "100000/min", "user": "100000/min", "auth": "100000/min"})
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


def client_for(user) -> APIClient:
    _, secret = token_create(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def post(client, body, key="payout-key-0001", raw=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    if raw is not None:
        return client.post("/api/v1/payouts", raw, content_type="application/json", **headers)
    return client.post("/api/v1/payouts", body, format="json", **headers)


def code(response) -> str:
    return response.json()["error"]["code"]


def test_request_is_accepted_and_readable_by_its_owner_only():
    creator = card_payee(15000)
    client = client_for(creator)
    response = post(client, {"amount": 10000, "currency": "USD", "method": "instant"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["object"], body["status"]) == ("payout", "requested")
    assert (body["amount"], body["fee"], body["total"]) == (
        {"amount": 10000, "currency": "USD"},
        {"amount": 150, "currency": "USD"},
        {"amount": 10150, "currency": "USD"},
    )
    replay = post(client, {"amount": 10000, "currency": "USD", "method": "instant"})
    assert replay.status_code == 202 and replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == body["id"]
    assert Payout.objects.count() == 1

    assert client.get(f"/api/v1/payouts/{body['id']}").json()["id"] == body["id"]
    listing = client.get("/api/v1/payouts").json()
    assert [p["id"] for p in listing["data"]] == [body["id"]]

    stranger = client_for(make_user())
    for path in (f"/api/v1/payouts/{body['id']}", "/api/v1/payouts/999999", "/api/v1/payouts/x1"):
        response = stranger.get(path)
        assert response.status_code == 404 and code(response) == "payout_not_found"
    assert stranger.get("/api/v1/payouts").json()["data"] == []


def test_same_key_other_body_is_refused():
    client = client_for(payee(15000))
    assert post(client, {"amount": 100, "currency": "USD"}).status_code == 202
    response = post(client, {"amount": 200, "currency": "USD"})
    assert response.status_code == 422 and code(response) == "idempotency_key_mismatch"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"amount": 0, "currency": "USD"}', "invalid_amount"),
        ('{"amount": -5, "currency": "USD"}', "invalid_amount"),
        ('{"amount": 10.5, "currency": "USD"}', "invalid_amount"),
        ('{"amount": 1e3, "currency": "USD"}', "invalid_amount"),
        ('{"amount": "100", "currency": "USD"}', "invalid_amount"),
        ('{"amount": true, "currency": "USD"}', "invalid_amount"),
        ('{"amount": null, "currency": "USD"}', "invalid_amount"),
        ('{"amount": 10000000000000000, "currency": "USD"}', "amount_too_large"),
        ('{"amount": 100, "currency": "usd"}', "invalid_currency"),
        ('{"amount": 100, "currency": "XXX"}', None),
        ('{"amount": 100}', "validation_error"),
        ('{"amount": 100, "currency": "USD", "method": "fast"}', "invalid_choice"),
        ('{"amount": 100, "currency": "USD", "status": "paid"}', "unknown_field"),
        ('{"amount": 100, "amount": 200, "currency": "USD"}', None),
        ('{"amount": NaN, "currency": "USD"}', None),
        ("[1, 2]", None),
        ('{"amount": 999999, "currency": "USD"}', "insufficient_funds"),
        ('{"amount": 100, "currency": "EUR"}', "payout_currency_mismatch"),  # a USD account
    ],
)
def test_bad_inputs_are_4xx_and_write_nothing(raw, expected):
    creator = payee(15000)
    response = post(client_for(creator), None, raw=raw)
    assert 400 <= response.status_code < 500, response.content
    if expected:
        assert code(response) == expected
    assert not Payout.objects.exists()
    assert not Hold.objects.filter(status="pending").exists()
    assert available(f"wallet:user:{creator.pk}:USD") == 15000


def test_missing_or_malformed_idempotency_key():
    client = client_for(payee(15000))
    assert code(post(client, {"amount": 100, "currency": "USD"}, key=None)) == (
        "idempotency_key_required"
    )
    assert code(post(client, {"amount": 100, "currency": "USD"}, key="short")) == (
        "idempotency_key_invalid"
    )


def test_who_may_be_paid_out():
    unverified = make_user(verified=False)
    fund(unverified, 1000)
    response = post(client_for(unverified), {"amount": 100, "currency": "USD"})
    assert response.status_code == 403 and code(response) == "verification_required"
    no_bank = make_user()
    fund(no_bank, 1000)
    response = post(client_for(no_bank), {"amount": 100, "currency": "USD"})
    assert response.status_code == 409 and code(response) == "no_payout_destination"
    assert APIClient().post("/api/v1/payouts", {}, format="json").status_code in (401, 403)


def test_destination_needs_recent_reauthentication_and_starts_the_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 72
    creator = make_user()
    fund(creator, 5000)
    client = client_for(creator)
    ApiToken.objects.filter(user=creator).update(
        reauthenticated_at=timezone.now() - timedelta(hours=1)
    )
    response = client.put(
        "/api/v1/payouts/destination",
        {"account_number": "000123456789", "routing_number": "110000000"},
        format="json",
    )
    assert response.status_code == 403 and code(response) == "reauthentication_required"
    assert not PayoutDestination.objects.exists()

    client = client_for(creator)  # a fresh token is a fresh proof
    response = client.put(
        "/api/v1/payouts/destination",
        {"account_number": "000123456789", "routing_number": "110000000"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["destination"]["last4"] == "6789"
    response = post(client, {"amount": 100, "currency": "USD"})
    assert response.status_code == 409 and code(response) == "payout_destination_on_hold"

    bad = client.put("/api/v1/payouts/destination", {"account_number": "12ab"}, format="json")
    assert bad.status_code == 400 and code(bad) == "invalid_bank_details"
    assert bad.json()["error"]["details"]["fields"] == {
        "account_number": "bank_field_digits",
        "routing_number": "bank_field_required",
    }


def test_quote_shows_fee_and_arrival():
    client = client_for(make_user())
    body = client.post(
        "/api/v1/payouts/quote",
        {"amount": 10000, "currency": "USD", "method": "instant"},
        format="json",
    ).json()
    assert (body["fee"]["amount"], body["total"]["amount"]) == (150, 10150)
    assert body["object"] == "payout_quote" and body["total"]["currency"] == "USD"
    assert body["arrival_estimate"] == timezone.now().date().isoformat()


def test_the_bank_formats_say_what_each_country_needs():
    body = client_for(make_user()).get("/api/v1/payouts/bank-formats").json()
    by_country = {c["country"]: c for c in body["countries"]}
    assert [f["name"] for f in by_country["DE"]["fields"]] == ["iban", "bic"]
    assert by_country["DE"]["currencies"] == ["EUR"]
    assert [f["name"] for f in by_country["GB"]["fields"]] == ["sort_code", "account_number"]
    assert [f["name"] for f in by_country["IN"]["fields"]] == ["ifsc", "account_number"]
    assert "hold_hours" in body


def test_an_iban_destination_through_the_api(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    creator = make_user()
    response = client_for(creator).put(
        "/api/v1/payouts/destination",
        {
            "country": "DE",
            "iban": "DE89 3704 0044 0532 0130 00",
            "account_holder_name": "Grete Müller",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    destination = response.json()["destination"]
    assert (destination["country"], destination["currency"], destination["last4"]) == (
        "DE",
        "EUR",
        "3000",
    )


IBAN = "DE89370400440532013000"
BAD = "invalid_bank_details"


@pytest.mark.parametrize(
    ("body", "error", "fields"),
    [
        ({"country": "DE", "iban": "DE88" + IBAN[4:]}, BAD, {"iban": "bank_field_checksum"}),
        (
            {"country": "GB", "sort_code": "1088"},
            BAD,
            {"sort_code": "bank_field_length", "account_number": "bank_field_required"},
        ),
        (
            {"country": "DE", "iban": IBAN, "currency": "GBP"},
            BAD,
            {"currency": "bank_currency_unsupported"},
        ),
        ({"country": "XX", "iban": IBAN}, BAD, {"country": "bank_country_unsupported"}),
        ({"country": "DE", "iban": IBAN, "swift": "x"}, "unknown_field", None),
        ({"country": "DE", "iban": "D" * 51}, "max_length", None),
    ],
)  # fmt: skip
def test_bad_bank_details_are_a_4xx_and_change_nothing(body, error, fields):
    creator = make_user()
    response = client_for(creator).put("/api/v1/payouts/destination", body, format="json")
    assert response.status_code == 400, response.content
    assert code(response) == error
    if fields is not None:
        assert response.json()["error"]["details"]["fields"] == fields
    assert not PayoutDestination.objects.filter(user=creator).exists()


def test_a_usd_wallet_pays_a_eur_account_through_the_quote(settings):
    from payments.fx.services import fx_rates_refresh
    from payments.payouts import services

    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    fx_rates_refresh()
    creator = make_user()
    services.payout_destination_add(
        user=creator, country="DE", details={"iban": "DE89370400440532013000"}
    )
    fund(creator, 20000, "USD")
    client = client_for(creator)

    wrong = post(client, {"amount": 1000, "currency": "USD"}, key="payout-key-usd")
    assert wrong.status_code == 422 and code(wrong) == "payout_currency_mismatch"

    quote = client.post(
        "/api/v1/payouts/quote",
        {"amount": 5000, "currency": "EUR", "from_currency": "USD"},
        format="json",
    ).json()
    conversion = quote["conversion"]
    assert quote["total"] == {"amount": 5000, "currency": "EUR"}
    assert conversion["source"]["currency"] == "USD"
    assert conversion["fx_fee"]["amount"] > 0 and conversion["expires_at"]

    bad = post(
        client,
        {"amount": 4000, "currency": "EUR", "fx_quote_id": conversion["fx_quote_id"]},
        key="payout-key-bad",
    )
    assert bad.status_code == 409 and code(bad) == "payout_quote_mismatch"
    assert available(f"wallet:user:{creator.pk}:USD") == 20000

    response = post(
        client,
        {"amount": 5000, "currency": "EUR", "fx_quote_id": conversion["fx_quote_id"]},
        key="payout-key-conv",
    )
    assert response.status_code == 202, response.content
    assert response.json()["destination"]["currency"] == "EUR"
    assert available(f"wallet:user:{creator.pk}:USD") == 20000 - conversion["source"]["amount"]
