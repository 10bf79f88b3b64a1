"""Transfers through the API: the worked example, every bad input class, authorisation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.services import block_create, user_suspend
from ledger.selectors import balance_of, ledger_verify
from payments.wallets.models import Transfer
from payments.wallets.tests.support import api, fund, generous_throttles, key, person, postings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _throttles(monkeypatch):
    generous_throttles(monkeypatch)


def send(client, body, idem=None):
    return client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY=idem or key())


def test_worked_example_transfer_20_00():
    alice, bob = person("alice"), person("bob")
    fund(alice, 5000)

    res = send(api(alice), {"to": "@bob", "amount": 2000, "currency": "USD", "note": "🍕 pizza"})

    assert res.status_code == 201, res.json()
    body = res.json()
    assert (body["object"], body["from"], body["to"], body["status"]) == (
        "transfer",
        "alice",
        "bob",
        "completed",
    )
    assert body["amount"] == {"amount": 2000, "currency": "USD"}
    assert body["fee"] == {"amount": 0, "currency": "USD"}
    assert "currency" not in body
    assert postings(body["entry_id"]) == [
        (f"wallet:user:{alice.pk}:USD", "D", 2000),
        (f"wallet:user:{bob.pk}:USD", "C", 2000),
    ]
    assert balance_of(account=f"wallet:user:{alice.pk}:USD").available.amount == 3000
    assert balance_of(account=f"wallet:user:{bob.pk}:USD").available.amount == 2000
    wallet = api(bob).get("/api/v1/wallet").json()
    assert wallet == {
        "balances": [
            {
                "object": "balance",
                "currency": "USD",
                "available": {"amount": 2000, "currency": "USD"},
                "pending": {"amount": 0, "currency": "USD"},
            }
        ]
    }
    assert ledger_verify(hold_max_age=__import__("datetime").timedelta(days=1)).ok


def test_replay_returns_the_same_transfer():
    alice, bob = person(), person()
    fund(alice, 1000)
    client, idem = api(alice), key()
    first = send(client, {"to": bob.handle, "amount": 100, "currency": "USD"}, idem)
    again = send(client, {"to": bob.handle, "amount": 100, "currency": "USD"}, idem)
    other = send(client, {"to": bob.handle, "amount": 101, "currency": "USD"}, idem)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_mismatch"
    assert Transfer.objects.filter(sender=alice).count() == 1


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (0, "amount_must_be_positive"),
        (-100, "amount_must_be_positive"),
        (Decimal("10.5"), "amount_too_precise"),
        (Decimal("100.0"), "invalid_amount"),
        (Decimal("1E+2"), "invalid_amount"),
        (True, "invalid_amount"),
        ("100", "invalid_amount"),
        ("\uff11\uff10\uff10", "invalid_amount"),
        (" 100", "invalid_amount"),
        (10**16, "amount_too_large"),
        (None, "invalid_amount"),
        ([100], "invalid_amount"),
    ],
)
def test_bad_amounts_are_400_with_stable_codes(amount, code):
    alice, bob = person(), person()
    fund(alice, 1000)
    res = send(api(alice), {"to": bob.handle, "amount": amount, "currency": "USD"})
    assert res.status_code == 400, res.json()
    assert res.json()["error"]["code"] == code
    assert not Transfer.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"to": "x", "amount": NaN, "currency": "USD"}',
        b'{"to": "x", "amount": Infinity, "currency": "USD"}',
        b'{"to": "x", "amount": 1, "amount": 1000, "currency": "USD"}',
        b'{"to": "x", "amount": 1e400, "currency": "USD"',
        b"\xff\xfe",
    ],
)
def test_unparseable_bodies_are_400(raw):
    alice = person()
    res = api(alice).post(
        "/api/v1/transfers", raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "malformed_request"


def test_missing_amount_and_jpy_fraction():
    alice, bob = person(), person()
    res = send(api(alice), {"to": bob.handle, "currency": "USD"})
    assert (res.status_code, res.json()["error"]["code"]) == (400, "invalid_amount")
    res = send(api(alice), {"to": bob.handle, "amount": Decimal("1.5"), "currency": "JPY"})
    assert (res.status_code, res.json()["error"]["code"]) == (400, "amount_too_precise")


@pytest.mark.parametrize(
    ("currency", "status", "code"),
    [
        ("usd", 400, "invalid_currency"),
        ("XYZ", 400, "invalid_currency"),
        ("US", 400, "invalid_currency"),
        (None, 400, "invalid_currency"),
        (840, 400, "invalid_currency"),
        ("SEK", 422, "unsupported_currency"),  # valid ISO 4217, not one we hold
    ],
)
def test_bad_currencies(currency, status, code):
    alice, bob = person(), person()
    fund(alice, 1000)
    res = send(api(alice), {"to": bob.handle, "amount": 100, "currency": currency})
    assert (res.status_code, res.json()["error"]["code"]) == (status, code)


def test_unknown_fields_and_wrong_shapes():
    alice, bob = person(), person()
    client = api(alice)
    res = send(client, {"to": bob.handle, "amount": 1, "currency": "USD", "sender": "bob"})
    assert (res.status_code, res.json()["error"]["code"]) == (400, "unknown_field")
    res = send(client, [1, 2])
    assert res.status_code == 400
    res = send(client, {"to": bob.handle, "amount": 1, "currency": "USD", "visibility": "all"})
    assert res.status_code == 400
    res = send(client, {"to": bob.handle, "amount": 1, "currency": "USD", "note": "x" * 141})
    assert (res.status_code, res.json()["error"]["code"]) == (400, "invalid_note")
    res = send(client, {"to": bob.handle, "amount": 1, "currency": "USD", "note": "a\x07b"})
    assert (res.status_code, res.json()["error"]["code"]) == (400, "invalid_note")
    assert not Transfer.objects.exists()


def test_idempotency_key_required_and_well_formed():
    alice, bob = person(), person()
    client = api(alice)
    body = {"to": bob.handle, "amount": 1, "currency": "USD"}
    res = client.post("/api/v1/transfers", body, format="json")
    assert (res.status_code, res.json()["error"]["code"]) == (400, "idempotency_key_required")
    res = client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY="short")
    assert (res.status_code, res.json()["error"]["code"]) == (400, "idempotency_key_invalid")


def test_parties():
    alice, bob, carol, dave = person(), person(), person(), person()
    fund(alice, 1000)
    client = api(alice)
    res = send(client, {"to": alice.handle, "amount": 1, "currency": "USD"})
    assert (res.status_code, res.json()["error"]["code"]) == (422, "accounts_must_be_different")

    block_create(blocker=bob, blocked=alice)
    user_suspend(user=carol, actor=dave, reason="test")
    answers = [
        send(client, {"to": who, "amount": 1, "currency": "USD"})
        for who in (bob.handle, carol.handle, "nobody_here", "@" + bob.handle.upper())
    ]
    assert {(r.status_code, r.json()["error"]["code"]) for r in answers} == {
        (404, "recipient_not_found")
    }
    assert len({r.json()["error"]["message"] for r in answers}) == 1
    block_create(blocker=alice, blocked=dave)
    res = send(client, {"to": dave.handle, "amount": 1, "currency": "USD"})
    assert (res.status_code, res.json()["error"]["code"]) == (404, "recipient_not_found")


def test_insufficient_funds_writes_nothing_and_frees_the_key():
    alice, bob = person(), person()
    fund(alice, 100)
    client, idem = api(alice), key()
    res = send(client, {"to": bob.handle, "amount": 101, "currency": "USD"}, idem)
    assert (res.status_code, res.json()["error"]["code"]) == (422, "insufficient_funds")
    assert not Transfer.objects.exists()
    assert api(alice).get("/api/v1/limits").json()["weekly_used"]["amount"] == 0


def test_currency_without_a_wallet_is_a_mismatch():
    alice, bob = person(), person()
    fund(alice, 1000, "EUR")
    res = send(api(alice), {"to": bob.handle, "amount": 100, "currency": "USD"})
    assert (res.status_code, res.json()["error"]["code"]) == (422, "currency_mismatch")


def test_frozen_sender_sends_nothing():
    alice, bob = person(), person()
    fund(alice, 1000)
    alice.is_frozen = True
    alice.save(update_fields=["is_frozen"])
    res = send(api(alice), {"to": bob.handle, "amount": 100, "currency": "USD"})
    assert (res.status_code, res.json()["error"]["code"]) == (403, "account_frozen")
    assert not Transfer.objects.exists()


def test_only_the_two_parties_see_a_transfer():
    alice, bob, eve = person(), person(), person()
    fund(alice, 1000)
    res = send(api(alice), {"to": bob.handle, "amount": 100, "currency": "USD"})
    tid = res.json()["id"]
    assert api(alice).get(f"/api/v1/transfers/{tid}").status_code == 200
    assert api(bob).get(f"/api/v1/transfers/{tid}").status_code == 200
    foreign = api(eve).get(f"/api/v1/transfers/{tid}")
    missing = api(eve).get("/api/v1/transfers/999999999")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


def test_limits_per_transfer_weekly_and_reauth(settings):
    settings.WALLET_REAUTH_ABOVE = 10**9
    alice, bob = person(), person()
    fund(alice, 100_000)
    client = api(alice)
    res = send(client, {"to": bob.handle, "amount": 25_001, "currency": "USD"})
    assert (res.status_code, res.json()["error"]["code"]) == (422, "limit_exceeded")
    assert res.json()["error"]["details"]["limit"] == "per_transfer"
    assert send(client, {"to": bob.handle, "amount": 25_000, "currency": "USD"}).status_code == 201
    assert send(client, {"to": bob.handle, "amount": 20_000, "currency": "USD"}).status_code == 201
    res = send(client, {"to": bob.handle, "amount": 5_001, "currency": "USD"})
    assert (res.status_code, res.json()["error"]["details"]["limit"]) == (422, "weekly_send")
    limits = client.get("/api/v1/limits").json()
    assert limits["weekly_used"]["amount"] == 45_000
    assert limits["weekly_remaining"]["amount"] == 5_000
    assert limits["tier"] == "unverified" and limits["payouts_allowed"] is False


def test_large_transfers_need_recent_reauthentication(settings):
    from accounts.models import ApiToken

    alice, bob = person(), person()
    fund(alice, 100_000)
    client = api(alice)
    ApiToken.objects.filter(user=alice).update(reauthenticated_at=None)
    res = send(client, {"to": bob.handle, "amount": 20_001, "currency": "USD"})
    assert (res.status_code, res.json()["error"]["code"]) == (403, "reauthentication_required")
    assert send(client, {"to": bob.handle, "amount": 20_000, "currency": "USD"}).status_code == 201


def test_velocity_limit(settings):
    settings.WALLET_TRANSFERS_PER_MINUTE = 3
    alice, bob = person(), person()
    fund(alice, 1000)
    client = api(alice)
    codes = [
        send(client, {"to": bob.handle, "amount": 1, "currency": "USD"}).status_code
        for _ in range(4)
    ]
    assert codes == [201, 201, 201, 429]


def test_money_endpoints_have_their_own_rate(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates["money"] = "2/min"
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    alice, bob = person(), person()
    fund(alice, 1000)
    client = api(alice)
    codes = [
        send(client, {"to": bob.handle, "amount": 1, "currency": "USD"}).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]
    assert Transfer.objects.filter(sender=alice).count() == 2


def test_a_transfer_by_api_is_a_fixed_short_list_of_statements(monkeypatch):
    """The hot path: token, claim, recipient, row + limit, ledger (resolve, entry, lock
    and apply in one message), completion, receipts outbox, stored response. A lazy load
    sneaking in (a deferred field read while writing the receipt, say) shows up here."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    generous_throttles(monkeypatch)
    alice, bob = person(), person()
    fund(alice, 1000)
    client = api(alice)
    body = {"to": bob.handle, "amount": 1, "currency": "USD"}
    client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY=key())

    with CaptureQueriesContext(connection) as captured:
        res = client.post("/api/v1/transfers", body, format="json", HTTP_IDEMPOTENCY_KEY=key())

    assert res.status_code == 201
    statements = [
        q["sql"].split()[0] + " " + q["sql"].split()[1]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
        # The once-per-session prepare probe repeats here: a test's transaction never commits.
        and "pg_prepared_statements" not in q["sql"]
    ]
    assert len(statements) == 10, statements
    # Two savepoints: the idempotent transaction's (a savepoint here only because the test
    # runs inside a transaction of its own) and the ledger's (it retries inside its
    # caller's transaction); the transfer adds none inside the idempotent transaction.
    savepoints = [q for q in captured.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 2, savepoints
