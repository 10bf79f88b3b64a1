"""Webhooks an attacker would send: a signed success whose metadata names another top-up
(even a declined one), an event of another processor account, a success for a failed
top-up, a flood of unsigned junk bodies, and the same from rotating addresses; and
``ledger_verify`` noticing a processor payment credited twice."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from core.money import Money
from ledger import chart
from ledger.errors import AccountNotFound
from ledger.selectors import balance_of, ledger_verify
from ledger.services import credit, debit, entry_post
from payments.processors import signing
from payments.processors.base import Event
from payments.wallets import topups, webhook_handlers
from payments.wallets.models import TopUp
from payments.wallets.tests.support import generous_throttles, person
from payments.webhooks import services as webhook_services
from payments.webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _throttles(monkeypatch):
    generous_throttles(monkeypatch)


def charged(user, amount: int = 1000, method: str = "pm_card_visa") -> TopUp:
    """A top-up charged at the sandbox and not yet credited (its webhook not delivered)."""
    try:
        return topups.topup_create(
            user=user,
            money=Money(amount, "USD"),
            payment_method=method,
            client_key=uuid.uuid4().hex,
        )
    except topups.CardDeclined:
        return TopUp.objects.filter(user=user).latest("pk")


def event(payment_id: str, topup_id: int, *, kind="payment_intent.succeeded", account=None):
    return Event(
        id=f"evt_{uuid.uuid4().hex}",
        type=kind,
        created=timezone.now(),
        data={
            "id": payment_id,
            "object": "payment_intent",
            "metadata": {"topup_id": str(topup_id)},
        },
        processor="sandbox",
        account=account,
    )


def wallet(user) -> int:
    try:
        return balance_of(account=f"wallet:user:{user.pk}:USD").available.amount
    except AccountNotFound:  # no wallet yet is an empty one
        return 0


def test_a_payment_cannot_credit_a_top_up_it_was_not_made_for():
    alice, mallory = person(), person()
    real = charged(alice, 1000)
    declined = charged(mallory, 1000, "pm_card_chargeDeclined")
    pending = charged(mallory, 1000)
    assert declined.status == "failed" and pending.status == "pending"

    for target in (declined, pending):
        with pytest.raises(topups.TopUpPaymentMismatch):
            webhook_handlers.topup_succeeded(event(real.payment_id, target.pk))
    webhook_handlers.topup_succeeded(event(real.payment_id, real.pk))
    webhook_handlers.topup_succeeded(event(real.payment_id, real.pk))  # a duplicate

    assert wallet(alice) == 1000 and wallet(mallory) == 0
    assert TopUp.objects.get(pk=declined.pk).status == "failed"
    assert TopUp.objects.get(pk=pending.pk).status == "pending"
    assert ledger_verify(hold_max_age=timedelta(days=1)).ok


def test_an_event_that_overtakes_the_charge_answer_must_still_be_the_top_ups_own():
    """Before the processor's answer is recorded the top-up has no payment id yet: the
    processor's own record of the payment (its metadata) must name this top-up."""
    alice, mallory = person(), person()
    real = charged(alice, 1000)
    racing = TopUp.objects.create(
        user=mallory,
        amount=1000,
        currency="USD",
        payment_method="pm_card_visa",
        processor="sandbox",
        client_key=uuid.uuid4().hex,
    )
    with pytest.raises(topups.TopUpPaymentMismatch):
        webhook_handlers.topup_succeeded(event(real.payment_id, racing.pk))
    assert TopUp.objects.get(pk=racing.pk).status == "created" and wallet(mallory) == 0


def test_an_event_of_a_connected_account_credits_no_top_up():
    alice = person()
    real = charged(alice, 1000)
    with pytest.raises(topups.TopUpPaymentMismatch):
        webhook_handlers.topup_succeeded(event(real.payment_id, real.pk, account="acct_other"))
    assert wallet(alice) == 0


def test_a_failed_top_up_never_succeeds_later():
    alice = person()
    row = charged(alice, 1000)
    webhook_handlers.topup_failed(
        event(row.payment_id, row.pk, kind="payment_intent.payment_failed")
    )
    assert TopUp.objects.get(pk=row.pk).status == "failed"
    with pytest.raises(topups.TopUpPaymentMismatch):
        webhook_handlers.topup_succeeded(event(row.payment_id, row.pk))
    assert TopUp.objects.get(pk=row.pk).status == "failed" and wallet(alice) == 0


def test_a_failure_notice_about_another_payment_changes_nothing():
    alice = person()
    mine, other = charged(alice, 1000), charged(alice, 1000)
    webhook_handlers.topup_failed(
        event(other.payment_id, mine.pk, kind="payment_intent.payment_failed")
    )
    assert TopUp.objects.get(pk=mine.pk).status == "pending"


def test_the_database_binds_a_payment_to_one_top_up():
    from django.db import IntegrityError, transaction

    alice = person()
    a, b = charged(alice, 1000), charged(alice, 1000)
    with pytest.raises(IntegrityError), transaction.atomic():
        TopUp.objects.filter(pk=b.pk).update(payment_id=a.payment_id)


def test_a_forged_binding_through_the_whole_pipeline_ends_failed_for_staff():
    alice, mallory = person(), person()
    real = charged(alice, 1000)
    victim = charged(mallory, 1000, "pm_card_chargeDeclined")
    forged = event(real.payment_id, victim.pk)
    row = WebhookEvent.objects.create(
        processor="sandbox",
        event_id=forged.id,
        type=forged.type,
        created_at_processor=forged.created,
        payload={},
        raw_body=json.dumps(
            {
                "id": forged.id,
                "type": forged.type,
                "created": int(time.time()),
                "data": {"object": dict(forged.data)},
            }
        ).encode(),
    )
    outcome = webhook_services.webhook_event_process(event_pk=row.pk)
    row.refresh_from_db()
    assert outcome.status == "failed" and "TopUpPaymentMismatch" in row.last_error
    assert wallet(mallory) == 0


def test_ledger_verify_finds_a_processor_payment_credited_twice():
    alice, bob = person(), person()
    real = charged(alice, 1000)
    webhook_handlers.topup_succeeded(event(real.payment_id, real.pk))
    assert ledger_verify(hold_max_age=timedelta(days=1)).ok
    # What the old handler did: the same payment booked into a second wallet.
    money = Money(1000, "USD")
    entry_post(
        code="topup",
        idempotency_key=f"topup:forged:{uuid.uuid4().hex}",
        postings=[
            debit(chart.processor_clearing_key("sandbox", "USD"), money),
            credit(chart.wallet_key(bob.pk, "USD"), money),
        ],
        metadata={"payment": real.payment_id},
    )
    report = ledger_verify(hold_max_age=timedelta(days=1))
    assert not report.ok
    assert any(
        f.startswith("payment credited twice: sandbox payment " + real.payment_id)
        for f in report.findings
    )


# --- the intake -------------------------------------------------------------------------------


def test_a_flood_of_unsigned_junk_keeps_a_kilobyte_per_delivery(client):
    junk = b'{"id": "evt_x", "pad": "' + b"x" * (250 * 1024 - 40) + b'"}'
    for _ in range(20):
        response = client.post("/webhooks/sandbox", data=junk, content_type="application/json")
        assert response.status_code == 400
    rows = WebhookDelivery.objects.filter(outcome="rejected")
    assert rows.count() == 20
    assert all(len(bytes(r.raw_body)) <= 1024 for r in rows)
    assert rows.first().headers["body-length"] == str(len(junk))
    assert not WebhookEvent.objects.exists()


def test_a_signed_delivery_is_still_stored_whole(client, settings):
    body = json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": "charge.updated",
            "created": int(time.time()),
            "data": {"object": {"id": "ch_1", "pad": "y" * 5000}},
        }
    ).encode()
    header = signing.signature_header(body, settings.SANDBOX_WEBHOOK_SECRET)
    response = client.post(
        "/webhooks/sandbox",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert response.status_code == 200
    assert bytes(WebhookDelivery.objects.get().raw_body) == body


def test_the_webhook_endpoint_is_rate_limited_per_client_address(client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates["webhook"] = "5/min"
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    address = f"2001:db8::{uuid.uuid4().hex[:4]}"  # fresh per run: counters live in Redis
    answers = [
        client.post(
            "/webhooks/sandbox",
            data=b"{}",
            content_type="application/json",
            REMOTE_ADDR=address,
            # Rotating the header buys nothing while no proxy is configured as trusted.
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        ).status_code
        for i in range(8)
    ]
    assert answers[:5] == [400] * 5 and answers[5:] == [429] * 3
    other = client.post(
        "/webhooks/sandbox",
        data=b"{}",
        content_type="application/json",
        REMOTE_ADDR=f"2001:db8:1::{uuid.uuid4().hex[:4]}",
    )
    assert other.status_code == 400  # another client has its own budget
    assert WebhookDelivery.objects.count() == 6
