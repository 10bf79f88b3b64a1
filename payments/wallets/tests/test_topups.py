"""Top-ups: the worked example (credit + processor fee as its own entry), declines,
authentication, bad input, and webhooks that come twice, early or out of order."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from ledger.models import Entry
from ledger.selectors import balance_of, ledger_verify
from payments.processors import signing
from payments.processors.sandbox import models as sandbox_models
from payments.processors.sandbox.adapter import SandboxProcessor
from payments.wallets import topups, webhook_handlers
from payments.wallets.models import TopUp
from payments.wallets.tests.support import api, generous_throttles, key, person, postings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _throttles(monkeypatch):
    generous_throttles(monkeypatch)


def topup(client, body, idem=None):
    return client.post("/api/v1/topups", body, format="json", HTTP_IDEMPOTENCY_KEY=idem or key())


def events(payment_id: str, event_type: str):
    """The sandbox's signed events for a payment, verified as the intake would."""
    processor = SandboxProcessor()
    rows = sandbox_models.Event.objects.filter(object_id=payment_id, type=event_type)
    result = []
    for row in rows.order_by("seq"):
        body = row.body.encode()
        headers = {"Stripe-Signature": signing.signature_header(body, processor.webhook_secret)}
        result.append(processor.parse_webhook(body, headers))
    return result


def deliver(payment_id: str, event_type: str = "payment_intent.succeeded") -> None:
    handler = {
        "payment_intent.succeeded": webhook_handlers.topup_succeeded,
        "payment_intent.payment_failed": webhook_handlers.topup_failed,
    }[event_type]
    for event in events(payment_id, event_type):
        handler(event)


def test_worked_example_topup_50_00_with_its_fee():
    fan = person()
    client = api(fan)
    res = topup(client, {"amount": 5000, "currency": "USD", "payment_method": "pm_card_visa"})
    assert res.status_code == 201, res.json()
    assert res.json()["status"] == "pending"
    assert client.get("/api/v1/wallet").json()["balances"] == [
        {
            "object": "balance",
            "currency": "USD",
            "available": {"amount": 0, "currency": "USD"},
            "pending": {"amount": 5000, "currency": "USD"},
        }
    ]
    row = TopUp.objects.get(pk=res.json()["id"])

    deliver(row.payment_id)

    row.refresh_from_db()
    assert (row.status, row.fee) == ("succeeded", 175)  # 2.9 % + 0.30
    credit = Entry.objects.get(idempotency_key=f"topup:{row.pk}:credit")
    fee = Entry.objects.get(idempotency_key=f"topup:{row.pk}:fee")
    assert postings(credit.pk) == [
        ("platform:processor_clearing:sandbox:USD", "D", 5000),
        (f"wallet:user:{fan.pk}:USD", "C", 5000),
    ]
    assert postings(fee.pk) == [
        ("platform:processor_fees:USD", "D", 175),
        ("platform:processor_clearing:sandbox:USD", "C", 175),
    ]
    assert client.get("/api/v1/wallet").json()["balances"] == [
        {
            "object": "balance",
            "currency": "USD",
            "available": {"amount": 5000, "currency": "USD"},
            "pending": {"amount": 0, "currency": "USD"},
        }
    ]
    statement = client.get("/api/v1/wallet/statement?currency=USD").json()
    assert [
        (x["description"], x["amount"]["amount"], x["balance_after"]["amount"])
        for x in statement["data"]
    ] == [("Top-up by card", 5000, 5000)]
    assert statement["data"][0]["amount"]["currency"] == "USD"
    assert statement["data"][0]["entry_id"] == credit.pk


def test_duplicate_and_out_of_order_webhooks_credit_once():
    fan = person()
    res = topup(api(fan), {"amount": 1000, "currency": "USD", "payment_method": "pm_card_visa"})
    row = TopUp.objects.get(pk=res.json()["id"])
    deliver(row.payment_id)
    deliver(row.payment_id)
    # A stale failure notice after the success changes nothing.
    webhook_handlers.topup_failed(
        events(row.payment_id, "payment_intent.succeeded")[0].__class__(
            id="evt_late",
            type="payment_intent.payment_failed",
            created=row.created_at,
            data={"id": row.payment_id, "metadata": {"topup_id": str(row.pk)}},
            processor="sandbox",
        )
    )
    row.refresh_from_db()
    assert row.status == "succeeded"
    assert balance_of(account=f"wallet:user:{fan.pk}:USD").available.amount == 1000
    assert Entry.objects.filter(reference=f"topup:{row.pk}").count() == 2
    assert ledger_verify(hold_max_age=timedelta(days=1)).ok


def test_a_webhook_that_arrives_before_the_api_answer(monkeypatch):
    fan = person()
    original = topups._record_payment

    def webhook_first(row, payment):
        deliver(payment.id)  # the processor's webhook wins the race
        return original(row, payment)

    monkeypatch.setattr(topups, "_record_payment", webhook_first)
    res = topup(api(fan), {"amount": 700, "currency": "USD", "payment_method": "pm_card_visa"})
    assert res.status_code == 201
    assert res.json()["status"] == "succeeded"  # not moved back to pending
    assert balance_of(account=f"wallet:user:{fan.pk}:USD").available.amount == 700


@pytest.mark.parametrize(
    ("method", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
def test_declines_are_402_and_credit_nothing(method, decline_code):
    fan = person()
    client, idem = api(fan), key()
    body = {"amount": 1000, "currency": "USD", "payment_method": method}
    res = topup(client, body, idem)
    assert res.status_code == 402
    assert res.json()["error"]["code"] == "card_declined"
    assert res.json()["error"]["details"]["decline_code"] == decline_code
    row = TopUp.objects.get(user=fan)
    assert row.status == "failed"
    deliver(row.payment_id, "payment_intent.payment_failed")
    assert not Entry.objects.filter(reference=f"topup:{row.pk}").exists()
    assert topup(client, body, idem).json() == res.json()  # replayed, not charged again


def test_authentication_required_then_confirm():
    fan = person()
    client = api(fan)
    res = topup(
        client,
        {"amount": 2000, "currency": "USD", "payment_method": "pm_card_authenticationRequired"},
    )
    assert (res.status_code, res.json()["status"]) == (201, "requires_action")
    tid = res.json()["id"]
    other = api(person()).post(
        f"/api/v1/topups/{tid}/confirm", {}, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert other.status_code == 404
    res = client.post(
        f"/api/v1/topups/{tid}/confirm", {}, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert (res.status_code, res.json()["status"]) == (200, "pending")
    deliver(TopUp.objects.get(pk=tid).payment_id)
    assert balance_of(account=f"wallet:user:{fan.pk}:USD").available.amount == 2000


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"amount": 1000, "currency": "USD", "payment_method": "4242424242424242"},
            "invalid_payment_method",
        ),
        (
            {"amount": 1000, "currency": "USD", "payment_method": "pm_card_doesNotExist"},
            "invalid_payment_method",
        ),
        ({"amount": 1000, "currency": "USD"}, "validation_error"),
        (
            {"amount": 0, "currency": "USD", "payment_method": "pm_card_visa"},
            "amount_must_be_positive",
        ),
        (
            {"amount": 10.5, "currency": "USD", "payment_method": "pm_card_visa"},
            "amount_too_precise",
        ),
        ({"amount": "10", "currency": "USD", "payment_method": "pm_card_visa"}, "invalid_amount"),
        ({"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa"}, "invalid_currency"),
        (
            {"amount": 1000, "currency": "USD", "payment_method": "pm_card_visa", "cvc": "1"},
            "unknown_field",
        ),
    ],
)
def test_bad_topups_are_400_and_record_nothing(body, code):
    fan = person()
    res = topup(api(fan), body)
    assert (res.status_code, res.json()["error"]["code"]) == (400, code)
    assert not TopUp.objects.filter(user=fan).exists()


def test_topups_of_others_are_not_found():
    fan, eve = person(), person()
    res = topup(api(fan), {"amount": 1000, "currency": "USD", "payment_method": "pm_card_visa"})
    tid = res.json()["id"]
    assert api(fan).get(f"/api/v1/topups/{tid}").status_code == 200
    assert api(eve).get(f"/api/v1/topups/{tid}").json() == api(eve).get("/api/v1/topups/0").json()


def test_no_card_number_is_stored():
    fan = person()
    topup(api(fan), {"amount": 1000, "currency": "USD", "payment_method": "4242424242424242"})
    stored = json.dumps(list(TopUp.objects.values()), default=str)
    assert "4242424242424242" not in stored
