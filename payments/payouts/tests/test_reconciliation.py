"""Reconciliation finds every planted difference between our clearing account and the
processor's balance transactions, and nothing else."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from core.money import Money
from ledger.services import credit, debit, entry_post
from payments.payouts import services
from payments.payouts.models import Payout, ReconciliationDifference
from payments.payouts.reconciliation import reconciliation_run
from payments.payouts.tests.support import deliver_events, fund, payee, settle
from payments.processors.base import PaymentRequest
from payments.processors.sandbox import engine
from payments.processors.sandbox import models as sandbox_models
from payments.processors.sandbox.adapter import SandboxProcessor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_destination_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0


def charge(amount: int, method: str = "pm_card_visa", **metadata):
    return SandboxProcessor().create_payment(
        PaymentRequest(
            amount=amount,
            currency="USD",
            payment_method=method,
            idempotency_key=f"topup:{uuid.uuid4().hex}",
            metadata=metadata,
        )
    )


def book_topup(user, payment, amount: int | None = None) -> None:
    """Book a card top-up the way the wallet does: the gross credit, then the processor's
    fee as its own entry, both naming the payment id."""
    gross = Money(amount or payment.amount, "USD")
    clearing = "platform:processor_clearing:sandbox:USD"
    entry_post(
        code="topup",
        idempotency_key=f"t:{uuid.uuid4().hex}",
        postings=[debit(clearing, gross), credit(f"wallet:user:{user.pk}:USD", gross)],
        metadata={"payment": payment.id},
    )
    fee = Money(payment.fee, "USD")
    entry_post(
        code="processor_fee",
        idempotency_key=f"t:{uuid.uuid4().hex}",
        postings=[debit("platform:processor_fees:USD", fee), credit(clearing, fee)],
        metadata={"payment": payment.id},
    )


def run():
    now = timezone.now()
    return reconciliation_run(
        processor="sandbox", start=now - timedelta(hours=1), end=now + timedelta(hours=1)
    )


def test_matching_books_report_no_difference():
    creator = payee()
    book_topup(creator, charge(15000))
    payout = services.payout_request(
        user=creator, amount=Money(10000, "USD"), method="standard", request_key="rec-key-1"
    )
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    settle(remote_id)
    deliver_events(remote_id)

    report = run()

    assert report.difference_count == 0, list(report.differences.values())
    assert report.processor_rows == report.ledger_rows == 2


def test_planted_differences_are_all_reported():
    creator = payee()
    book_topup(creator, charge(1000))  # matches
    unbooked = charge(2000)  # the processor has it, we never booked it
    fund(creator, 3000, source="ch_we_invented_this")  # we booked it, the processor did not
    wrong = charge(4000)
    book_topup(creator, wrong, amount=4100)  # booked with another amount
    # A lost chargeback: the processor also took its dispute fee, which we never booked.
    disputed = charge(500, "pm_card_createDispute", user_id=str(creator.pk))
    book_topup(creator, disputed)
    engine.dispute_open(disputed.id)
    dispute_id = sandbox_models.Dispute.objects.get(payment_intent_id=disputed.id).id
    deliver_events(dispute_id)

    report = run()

    rows = report.differences.all()
    found = {(d.kind, d.source, d.processor_amount, d.ledger_amount) for d in rows}
    kind = ReconciliationDifference.Kind
    assert found == {
        (kind.MISSING_IN_LEDGER, unbooked.charge_id, 2000 - unbooked.fee, None),
        (kind.MISSING_AT_PROCESSOR, "ch_we_invented_this", None, 3000),
        (kind.AMOUNT_MISMATCH, wrong.charge_id, 4000 - wrong.fee, 4100 - wrong.fee),
        (kind.AMOUNT_MISMATCH, dispute_id, -500 - 1500, -500),
    }
    assert report.difference_count == 4


def test_a_paid_then_returned_payout_nets_out_on_both_sides():
    creator = payee(bank="000888888883")
    book_topup(creator, charge(15000))
    payout = services.payout_request(
        user=creator, amount=Money(10000, "USD"), method="standard", request_key="rec-key-2"
    )
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    settle(remote_id)
    settle(remote_id)
    deliver_events(remote_id)
    assert Payout.objects.get(pk=payout.pk).status == "reversed"

    assert run().difference_count == 0


def test_the_nightly_task_reports_the_previous_day():
    from payments.payouts.tasks import reconciliation_task

    report_id = reconciliation_task.run()
    from payments.payouts.models import ReconciliationReport

    report = ReconciliationReport.objects.get(pk=report_id)
    assert report.window_end - report.window_start == timedelta(days=1)
    assert report.window_end <= timezone.now()
