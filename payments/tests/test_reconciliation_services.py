"""Reconciliation finds every planted difference between our clearing account and the
processor's balance transactions, and nothing else."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from core.money import Money
from payments.models.payouts import Payout
from payments.models.reconciliation import ReconciliationDifference
from payments.payouts import services
from payments.payouts.reconciliation import reconciliation_run
from payments.processors.base import PaymentRequest
from payments.processors.sandbox.adapter import SandboxProcessor
from payments.tests.payouts_support import deliver_events, fund, payee, settle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_destination_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0


def charge(amount: int):
    return SandboxProcessor().create_payment(
        PaymentRequest(
            amount=amount,
            currency="USD",
            payment_method="pm_card_visa",
            idempotency_key=f"topup:{uuid.uuid4().hex}",
        )
    )


def run():
    now = timezone.now()
    return reconciliation_run(
        processor="sandbox", start=now - timedelta(hours=1), end=now + timedelta(hours=1)
    )


def test_matching_books_report_no_difference():
    creator = payee()
    topup = charge(15000)
    fund(creator, 15000, source=topup.charge_id)
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
    ok = charge(1000)
    fund(creator, 1000, source=ok.charge_id)
    unbooked = charge(2000)  # the processor has it, we never booked it
    fund(creator, 3000, source="ch_we_invented_this")  # we booked it, the processor did not
    wrong = charge(4000)
    fund(creator, 4100, source=wrong.charge_id)  # booked with another amount

    report = run()

    found = {
        (d.kind, d.source, d.processor_amount, d.ledger_amount) for d in report.differences.all()
    }
    assert found == {
        (ReconciliationDifference.Kind.MISSING_IN_LEDGER, unbooked.charge_id, 2000, None),
        (ReconciliationDifference.Kind.MISSING_AT_PROCESSOR, "ch_we_invented_this", None, 3000),
        (ReconciliationDifference.Kind.AMOUNT_MISMATCH, wrong.charge_id, 4000, 4100),
    }
    assert report.difference_count == 3


def test_a_paid_then_returned_payout_nets_out_on_both_sides():
    creator = payee(bank="000888888883")
    topup = charge(15000)
    fund(creator, 15000, source=topup.charge_id)
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
    from payments.models.reconciliation import ReconciliationReport

    report = ReconciliationReport.objects.get(pk=report_id)
    assert report.window_end - report.window_start == timedelta(days=1)
    assert report.window_end <= timezone.now()
