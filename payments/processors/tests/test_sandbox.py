"""What only the sandbox does: disputes on demand, determinism, Stripe's idempotency under
concurrency, and refusing to run inside a caller's transaction."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from django.db import connection, transaction

from payments.processors.base import (
    BankAccountRequest,
    CardDeclined,
    ConnectedAccountRequest,
    PaymentRequest,
    PermanentProcessorError,
)
from payments.processors.sandbox import engine
from payments.processors.sandbox import models as m
from payments.processors.sandbox.adapter import SandboxProcessor


def visa(key: str, **overrides) -> PaymentRequest:
    return PaymentRequest(
        **{
            "amount": 5000,
            "currency": "USD",
            "payment_method": "pm_card_visa",
            "idempotency_key": key,
            **overrides,
        }
    )


def event_types(object_id: str) -> list[str]:
    return list(
        m.Event.objects.filter(object_id=object_id).order_by("seq").values_list("type", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("evidence", "status"), [("winning_evidence", "won"), ("losing_evidence", "lost")]
)
def test_a_disputed_card_is_disputed_then_won_or_lost(evidence, status):
    sandbox = SandboxProcessor()
    payment = sandbox.create_payment(
        visa(f"t:{uuid.uuid4()}", payment_method="pm_card_createDispute")
    )
    assert payment.status == "succeeded"

    engine.dispute_open(payment.id)  # what the scheduled task does
    dispute_row = m.Dispute.objects.get(payment_intent_id=payment.id)
    dispute = sandbox.retrieve_dispute(dispute_row.id)
    assert (dispute.status, dispute.amount, dispute.payment_id) == (
        "needs_response",
        5000,
        payment.id,
    )
    assert event_types(dispute.id) == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    withdrawal = m.BalanceTransaction.objects.get(source=dispute.id)
    assert (withdrawal.amount, withdrawal.fee, withdrawal.net) == (-5000, 1500, -6500)

    assert sandbox.submit_dispute_evidence(dispute.id, text=evidence).status == "under_review"
    engine.dispute_close(dispute.id)

    assert sandbox.retrieve_dispute(dispute.id).status == status
    expected = ["charge.dispute.closed"] + (
        ["charge.dispute.funds_reinstated"] if status == "won" else []
    )
    assert event_types(dispute.id)[3:] == expected
    movements = sorted(
        m.BalanceTransaction.objects.filter(source=dispute.id).values_list("amount", flat=True)
    )
    assert movements == ([-5000, 5000] if status == "won" else [-5000])
    engine.dispute_close(dispute.id)  # a second run of the task changes nothing
    assert len(event_types(dispute.id)) == 3 + len(expected)


@pytest.mark.django_db
def test_the_same_calls_give_the_same_ids_and_events():
    sandbox = SandboxProcessor()
    first = sandbox.create_payment(visa("topup:1"))
    assert first.id == engine._derive("pi", "topup:1")
    (body,) = m.Event.objects.filter(object_id=first.id).values_list("body", flat=True)
    assert json.loads(body)["id"] == engine._derive("evt", first.id, "payment_intent.succeeded", "")


@pytest.mark.django_db
def test_a_validation_failure_stores_nothing_and_the_key_can_be_reused():
    sandbox = SandboxProcessor()
    with pytest.raises(PermanentProcessorError):
        sandbox.create_payment(visa("topup:7", payment_method="pm_card_nonsense"))
    assert not m.IdempotencyKey.objects.filter(key="topup:7").exists()

    assert sandbox.create_payment(visa("topup:7")).status == "succeeded"


@pytest.mark.django_db
def test_an_unknown_bank_account_number_is_refused():
    sandbox = SandboxProcessor()
    account = sandbox.create_connected_account(
        ConnectedAccountRequest(idempotency_key="acct:1", email="a@example.com")
    )
    with pytest.raises(PermanentProcessorError) as caught:
        sandbox.attach_bank_account(
            BankAccountRequest(
                account_id=account.id,
                idempotency_key="bank:1",
                account_number="12345678",
                routing_number="110000000",
            )
        )
    assert caught.value.code == "account_number_invalid"


@pytest.mark.django_db
def test_a_call_inside_a_transaction_of_ours_is_refused():
    with transaction.atomic(), pytest.raises(RuntimeError):
        SandboxProcessor().create_payment(visa("topup:in-tx"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.many_connections
def test_concurrent_calls_with_one_key_make_one_payment():
    key = f"topup:{uuid.uuid4()}"
    results: list = []
    barrier = threading.Barrier(8)

    def call():
        try:
            barrier.wait()
            results.append(SandboxProcessor().create_payment(visa(key)).id)
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(results) == 8 and len(set(results)) == 1, results
    assert m.PaymentIntent.objects.filter(id=results[0]).count() == 1
    assert m.BalanceTransaction.objects.filter(type="charge", source__startswith="ch_").count() == 1


@pytest.mark.django_db
def test_declines_emit_payment_failed_and_no_balance():
    with pytest.raises(CardDeclined) as caught:
        SandboxProcessor().create_payment(
            visa("topup:d", payment_method="pm_card_chargeDeclinedExpiredCard")
        )
    assert event_types(caught.value.payment_id) == ["payment_intent.payment_failed"]
    assert not m.BalanceTransaction.objects.exists()


@pytest.mark.django_db
def test_resend_command_queues_named_or_undelivered_events(django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import CommandError, call_command

    payment = SandboxProcessor().create_payment(visa("topup:resend"))
    (event_id,) = m.Event.objects.filter(object_id=payment.id).values_list("id", flat=True)
    out = StringIO()

    with django_capture_on_commit_callbacks() as callbacks:
        call_command("sandbox_resend_webhooks", event_id, stdout=out)
        call_command("sandbox_resend_webhooks", "--undelivered", stdout=out)

    assert len(callbacks) == 2
    assert out.getvalue().splitlines() == ["1 event(s) queued for delivery"] * 2
    with pytest.raises(CommandError):
        call_command("sandbox_resend_webhooks", "evt_missing")
    with pytest.raises(CommandError):
        call_command("sandbox_resend_webhooks")
