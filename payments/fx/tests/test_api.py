"""The FX API: quotes, conversions, transfers, rates and the home currency; every bad input
answers 4xx with a stable code and writes nothing; other people's quotes are 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.services import block_create
from ledger.models import Entry
from payments.fx.models import FxQuote
from payments.fx.tests.support import client_for, fund, make_person, store_rates

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _generous_throttles(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates.update({"user": "100000/min", "money": "100000/min"})
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.fixture
def alice():
    store_rates()
    person = make_person("alicex", home_currency="EUR")
    fund(person, 5000, "EUR")
    return person


@pytest.fixture
def bob():
    return make_person("bobx", home_currency="USD")


_keys = iter(range(10**6))


def post(client, path, body, key: str | None = "auto"):
    headers = {}
    if key == "auto":
        key = f"test-key-{next(_keys):08d}"
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(path, body, format="json", **headers)


def quote_for(client, **body):
    body = {"source_currency": "EUR", "target_currency": "USD", "source_amount": 1000} | body
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/fx/quotes", body, format="json")
    assert response.status_code == 201, response.data
    return response.data


def test_quote_shows_mid_rate_our_rate_fee_in_both_currencies_and_what_arrives(alice):
    data = quote_for(client_for(alice))
    assert data["source"] == {"amount": 1000, "currency": "EUR"}
    assert data["target"] == {"amount": 1074, "currency": "USD"}
    assert data["fee"] == {"amount": 6, "currency": "USD"}
    assert data["fee_in_source"] == {"amount": 6, "currency": "EUR"}
    assert (data["mid_rate"], data["our_rate"], data["fee_bps"]) == ("1.0800000000", "1.074600", 50)
    assert data["status"] == "open" and 28 <= data["expires_in_seconds"] <= 30
    assert data["rate_source"] == "sandbox" and data["fixed_side"] == "source"


def test_quote_for_a_recipient_uses_their_home_currency(alice, bob):
    data = quote_for(client_for(alice), target_currency=None, to="bobx")
    assert data["target"]["currency"] == "USD"


def test_transfer_end_to_end_and_idempotent_replay(alice, bob):
    client = client_for(alice)
    quote = quote_for(client)
    body = {"quote": quote["id"], "to": "@bobx", "note": "dinner"}
    first = post(client, "/api/v1/fx/transfers", body, key="transfer-key-1")
    assert first.status_code == 201, first.data
    assert first.data["status"] == "used" and first.data["kind"] == "transfer"
    assert first.data["recipient"] == "bobx" and first.data["entry"]
    again = post(client, "/api/v1/fx/transfers", body, key="transfer-key-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()  # on the wire: .data holds datetimes, a replay strings
    used = post(client, "/api/v1/fx/transfers", body, key="transfer-key-2")
    assert used.status_code == 409 and used.data["error"]["code"] == "quote_used"
    mismatch = post(client, "/api/v1/fx/transfers", body | {"note": "x"}, key="transfer-key-1")
    assert mismatch.status_code == 422
    assert mismatch.data["error"]["code"] == "idempotency_key_mismatch"
    assert Entry.objects.filter(code="fx_transfer").count() == 1


def test_conversion_requires_an_idempotency_key(alice):
    client = client_for(alice)
    quote = quote_for(client)
    response = post(client, "/api/v1/fx/conversions", {"quote": quote["id"]}, key=None)
    assert response.status_code == 400
    assert response.data["error"]["code"] == "idempotency_key_required"
    ok = post(client, "/api/v1/fx/conversions", {"quote": quote["id"]})
    assert ok.status_code == 201 and ok.data["kind"] == "conversion"


def test_expired_quote_is_409_and_moves_nothing(alice, bob):
    client = client_for(alice)
    quote = quote_for(client)
    FxQuote.objects.filter(pk=quote["id"]).update(
        created_at=timezone.now() - timedelta(minutes=2),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    for path, body in (
        ("/api/v1/fx/conversions", {"quote": quote["id"]}),
        ("/api/v1/fx/transfers", {"quote": quote["id"], "to": "bobx"}),
    ):
        response = post(client, path, body)
        assert response.status_code == 409 and response.data["error"]["code"] == "quote_expired"
    assert client.get(f"/api/v1/fx/quotes/{quote['id']}").data["status"] == "expired"
    assert not Entry.objects.filter(code__startswith="fx_").exists()


def test_stale_rates_answer_503_rate_stale():
    store_rates(as_of=timezone.now() - timedelta(hours=1))
    client = client_for(make_person(home_currency="EUR"))
    response = client.post(
        "/api/v1/fx/quotes",
        {"source_currency": "EUR", "target_currency": "USD", "source_amount": 1000},
        format="json",
    )
    assert response.status_code == 503 and response.data["error"]["code"] == "rate_stale"
    assert client.get("/api/v1/fx/rates").status_code == 503
    assert not FxQuote.objects.exists()


def test_rates_endpoint(alice):
    data = client_for(alice).get("/api/v1/fx/rates").data
    assert data["base"] == "EUR" and data["rates"]["USD"] == "1.0800"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"source_currency": "XYZ"}, 400, "invalid_currency"),
        ({"source_currency": "eur"}, 400, "invalid_currency"),
        ({"target_currency": "XAF"}, 422, "unsupported_currency"),
        ({"target_currency": "EUR"}, 422, "same_currency"),
        ({"source_currency": None}, 400, "null"),
        ({"target_amount": 100}, 400, "amount_side_invalid"),
        ({"source_amount": None}, 400, "amount_side_invalid"),
        ({"source_amount": 0}, 400, "invalid_amount"),
        ({"source_amount": -5}, 400, "invalid_amount"),
        ({"source_amount": 10.5}, 400, "invalid_amount"),
        ({"source_amount": "1000"}, 400, "invalid_amount"),
        ({"source_amount": True}, 400, "invalid_amount"),
        ({"source_amount": 10**16}, 400, "amount_too_large"),
        ({"source_amount": 1, "target_currency": "JPY"}, 422, "amount_too_small"),
        ({"balance": 5}, 400, "unknown_field"),
    ],
)
def test_bad_quote_inputs(alice, body, status, code):
    base = {"source_currency": "EUR", "target_currency": "USD", "source_amount": 1000}
    body = base | body
    body = {k: v for k, v in body.items() if not (k == "source_amount" and v is None)}
    response = client_for(alice).post("/api/v1/fx/quotes", body, format="json")
    assert (response.status_code, response.data["error"]["code"]) == (status, code)
    assert not FxQuote.objects.exists()


def test_float_and_exponent_amounts_from_raw_json_are_refused(alice):
    client = client_for(alice)
    for raw in ("1e3", "1000.0", "NaN"):
        response = client.generic(
            "POST",
            "/api/v1/fx/quotes",
            f'{{"source_currency": "EUR", "target_currency": "USD", "source_amount": {raw}}}',
            content_type="application/json",
        )
        assert response.status_code == 400, raw
    assert not FxQuote.objects.exists()


def test_other_peoples_quotes_are_404_like_missing_ones(alice, bob):
    quote = quote_for(client_for(alice))
    mallory = make_person(home_currency="EUR")
    fund(mallory, 5000, "EUR")
    client = client_for(mallory)
    missing = "00000000-0000-0000-0000-000000000000"
    for quote_id in (quote["id"], missing, "not-a-uuid"):
        got = client.get(f"/api/v1/fx/quotes/{quote_id}")
        conv = post(client, "/api/v1/fx/conversions", {"quote": quote_id})
        sent = post(client, "/api/v1/fx/transfers", {"quote": quote_id, "to": "bobx"})
        assert got.status_code == conv.status_code == sent.status_code == 404
        assert got.json() == conv.json() == sent.json()
    assert not Entry.objects.filter(code__startswith="fx_").exists()


def test_blocked_and_unknown_recipients_are_indistinguishable(alice, bob):
    block_create(blocker=bob, blocked=alice)
    client = client_for(alice)
    quote = quote_for(client)
    blocked = post(client, "/api/v1/fx/transfers", {"quote": quote["id"], "to": "bobx"})
    unknown = post(client, "/api/v1/fx/transfers", {"quote": quote["id"], "to": "nobodyx"})
    assert blocked.status_code == unknown.status_code == 404
    assert blocked.data == unknown.data
    self_pay = post(client, "/api/v1/fx/transfers", {"quote": quote["id"], "to": "alicex"})
    assert self_pay.data["error"]["code"] == "accounts_must_be_different"


def test_frozen_sender_gets_403(alice, bob):
    client = client_for(alice)
    quote = quote_for(client)
    User.objects.filter(pk=alice.pk).update(is_frozen=True)
    response = post(client, "/api/v1/fx/transfers", {"quote": quote["id"], "to": "bobx"})
    assert response.status_code == 403 and response.data["error"]["code"] == "account_frozen"


def test_insufficient_funds_and_bad_notes(alice, bob):
    client = client_for(alice)
    quote = quote_for(client, source_amount=9000)
    poor = post(client, "/api/v1/fx/transfers", {"quote": quote["id"], "to": "bobx"})
    assert poor.status_code == 422 and poor.data["error"]["code"] == "insufficient_funds"
    quote = quote_for(client)
    for note in ("a\x00b", "x" * 281):
        bad = post(
            client, "/api/v1/fx/transfers", {"quote": quote["id"], "to": "bobx", "note": note}
        )
        assert bad.status_code == 400, bad.data
    unknown = post(client, "/api/v1/fx/transfers", {"quote": quote["id"], "to": "bobx", "x": 1})
    assert unknown.data["error"]["code"] == "unknown_field"
    assert not Entry.objects.filter(code__startswith="fx_").exists()


def test_home_currency(alice):
    client = client_for(alice)
    ok = client.post("/api/v1/fx/home-currency", {"currency": "KWD"}, format="json")
    assert ok.status_code == 200 and ok.data == {"currency": "KWD"}
    assert User.objects.get(pk=alice.pk).home_currency == "KWD"
    bad = client.post("/api/v1/fx/home-currency", {"currency": "XAF"}, format="json")
    assert bad.status_code == 422 and bad.data["error"]["code"] == "unsupported_currency"


def test_anonymous_is_refused():
    from rest_framework.test import APIClient

    assert APIClient().post("/api/v1/fx/quotes", {}, format="json").status_code == 401


def test_openapi_schema_documents_the_fx_endpoints(alice):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/v1/fx/quotes",
        "/api/v1/fx/quotes/{quote_id}",
        "/api/v1/fx/conversions",
        "/api/v1/fx/transfers",
        "/api/v1/fx/rates",
        "/api/v1/fx/home-currency",
    ):
        assert path in text
    assert "fx_transfers_create" in text and "Idempotency-Key" in text


def test_a_large_send_needs_a_recent_reauthentication(alice, bob):
    from accounts.models import ApiToken

    fund(alice, 100_000, "EUR")
    User.objects.filter(pk=alice.pk).update(verification_tier="verified")
    client = client_for(alice)
    quote = quote_for(client, source_amount=20_000)  # 216.00 USD: above the 200.00 threshold
    ApiToken.objects.filter(user=alice).update(
        reauthenticated_at=timezone.now() - timedelta(hours=1)
    )
    response = post(client, "/api/v1/fx/transfers", {"quote": quote["id"], "to": "bobx"})
    assert response.status_code == 403
    assert response.data["error"]["code"] == "reauthentication_required"
    assert not Entry.objects.filter(code="fx_transfer").exists()
    ApiToken.objects.filter(user=alice).update(reauthenticated_at=timezone.now())
    ok = post(client, "/api/v1/fx/transfers", {"quote": quote["id"], "to": "bobx"})
    assert ok.status_code == 201, ok.data
