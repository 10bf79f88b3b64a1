"""Disputes: worked examples with exact postings (withdrawn with and without a shortfall,
reinstated), duplicates and reordering, and the owner lookup."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from core.money import Money
from ledger import chart
from ledger.models import Entry
from ledger.selectors import ledger_verify
from ledger.services import credit, debit, entry_post
from payments.disputes import services as disputes
from payments.disputes.models import Dispute
from payments.payouts.tests.support import (
    available,
    deliver_events,
    fund,
    legs_of,
    make_user,
    posted,
)
from payments.processors.base import PaymentRequest
from payments.processors.sandbox import engine
from payments.processors.sandbox import models as sandbox_models
from payments.processors.sandbox.adapter import SandboxProcessor

pytestmark = pytest.mark.django_db

CLEARING = "platform:processor_clearing:sandbox:USD"
LOSSES = "platform:losses:USD"


def disputed_topup(user, amount: int) -> str:
    """A card top-up the cardholder will dispute; returns the payment id."""
    payment = SandboxProcessor().create_payment(
        PaymentRequest(
            amount=amount,
            currency="USD",
            payment_method="pm_card_createDispute",
            idempotency_key=f"topup:{uuid.uuid4().hex}",
            metadata={"user_id": str(user.pk)},
        )
    )
    fund(user, amount)
    return payment.id


def open_dispute(payment_id: str) -> str:
    engine.dispute_open(payment_id)
    return sandbox_models.Dispute.objects.get(payment_intent_id=payment_id).id


def spend(user, amount: int) -> None:
    entry_post(
        code="transfer",
        idempotency_key=f"spend:{uuid.uuid4().hex}",
        postings=[
            debit(chart.wallet_key(user.pk, "USD"), Money(amount, "USD")),
            credit(chart.wallet_key(make_user().pk, "USD"), Money(amount, "USD")),
        ],
    )


def verify_ok():
    report = ledger_verify(hold_max_age=timedelta(days=365))
    assert report.ok, report.findings


def test_dispute_created_moves_no_money():
    fan = make_user()
    payment_id = disputed_topup(fan, 5000)
    dispute_id = open_dispute(payment_id)
    deliver_events(dispute_id, "charge.dispute.created")

    dispute = Dispute.objects.get()
    assert (dispute.processor_dispute_id, dispute.user_id) == (dispute_id, fan.pk)
    assert dispute.funds == "none"
    assert available(f"wallet:user:{fan.pk}:USD") == 5000


def test_funds_withdrawn_from_a_wallet_that_covers_it():
    fan = make_user()
    payment_id = disputed_topup(fan, 5000)
    dispute_id = open_dispute(payment_id)
    deliver_events(dispute_id)
    deliver_events(dispute_id)  # duplicates

    dispute = Dispute.objects.get()
    assert (dispute.funds, dispute.wallet_debited, dispute.shortfall) == ("withdrawn", 5000, 0)
    assert legs_of(dispute.withdrawn_entry) == [
        ("C", CLEARING, 5000),
        ("D", f"wallet:user:{fan.pk}:USD", 5000),
    ]
    assert Entry.objects.filter(code="dispute_withdrawal").count() == 1
    fan.refresh_from_db()
    assert not fan.is_frozen and not dispute.needs_review
    verify_ok()


def test_funds_withdrawn_with_a_shortfall_books_a_loss_and_freezes():
    fan = make_user()
    payment_id = disputed_topup(fan, 5000)
    spend(fan, 3000)
    dispute_id = open_dispute(payment_id)
    deliver_events(dispute_id)

    dispute = Dispute.objects.get()
    assert (dispute.wallet_debited, dispute.shortfall) == (2000, 3000)
    assert legs_of(dispute.withdrawn_entry) == [
        ("C", CLEARING, 5000),
        ("D", LOSSES, 3000),
        ("D", f"wallet:user:{fan.pk}:USD", 2000),
    ]
    assert available(f"wallet:user:{fan.pk}:USD") == 0
    fan.refresh_from_db()
    assert fan.is_frozen and "dispute" in fan.frozen_reason.lower()
    assert dispute.needs_review
    verify_ok()


def test_funds_reinstated_reverses_the_withdrawal_once():
    fan = make_user()
    payment_id = disputed_topup(fan, 5000)
    spend(fan, 3000)
    dispute_id = open_dispute(payment_id)
    deliver_events(dispute_id)
    engine.dispute_submit_evidence(dispute_id, text="winning_evidence")
    engine.dispute_close(dispute_id)
    deliver_events(dispute_id)
    deliver_events(dispute_id)

    dispute = Dispute.objects.get()
    assert dispute.funds == "reinstated" and dispute.status == "won"
    assert legs_of(dispute.reinstated_entry) == [
        ("C", LOSSES, 3000),
        ("C", f"wallet:user:{fan.pk}:USD", 2000),
        ("D", CLEARING, 5000),
    ]
    assert posted(LOSSES) == 0
    assert available(f"wallet:user:{fan.pk}:USD") == 2000
    assert Entry.objects.filter(reverses=dispute.withdrawn_entry).count() == 1
    verify_ok()


def test_reinstatement_before_withdrawal_ends_the_same():
    fan = make_user()
    payment_id = disputed_topup(fan, 5000)
    dispute_id = open_dispute(payment_id)
    engine.dispute_submit_evidence(dispute_id, text="winning_evidence")
    engine.dispute_close(dispute_id)
    deliver_events(dispute_id, "charge.dispute.funds_reinstated")
    deliver_events(dispute_id, "charge.dispute.funds_withdrawn")
    deliver_events(dispute_id, "charge.dispute.created")

    dispute = Dispute.objects.get()
    assert dispute.funds == "reinstated"
    assert available(f"wallet:user:{fan.pk}:USD") == 5000
    assert Entry.objects.filter(code__in=["dispute_withdrawal", "reversal"]).count() == 2
    verify_ok()


def test_lost_dispute_keeps_the_withdrawal():
    fan = make_user()
    payment_id = disputed_topup(fan, 5000)
    dispute_id = open_dispute(payment_id)
    engine.dispute_submit_evidence(dispute_id, text="losing_evidence")
    engine.dispute_close(dispute_id)
    deliver_events(dispute_id)
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.funds) == ("lost", "withdrawn")
    assert available(f"wallet:user:{fan.pk}:USD") == 0


def test_unknown_owner_is_a_platform_loss_for_review():
    payment = SandboxProcessor().create_payment(
        PaymentRequest(
            amount=4000,
            currency="USD",
            payment_method="pm_card_createDispute",
            idempotency_key=f"topup:{uuid.uuid4().hex}",
        )
    )
    dispute_id = open_dispute(payment.id)
    deliver_events(dispute_id)
    dispute = Dispute.objects.get()
    assert dispute.user_id is None and dispute.needs_review
    assert legs_of(dispute.withdrawn_entry) == [("C", CLEARING, 4000), ("D", LOSSES, 4000)]


def test_owner_resolvers_are_asked_in_order(settings):
    fan = make_user()
    settings.PAYMENTS_DISPUTE_OWNER_RESOLVERS = [
        "payments.disputes.tests.test_services.resolver_none",
        "payments.disputes.tests.test_services.resolver_fixed",
    ]
    resolver_fixed.user_id = fan.pk
    assert disputes.dispute_owner_resolve(processor="sandbox", payment_id="pi_x") == fan.pk


def resolver_none(processor, payment_id):
    return None


def resolver_fixed(processor, payment_id):
    return resolver_fixed.user_id


def test_topup_resolver_finds_nobody_for_an_unknown_payment():
    # Without the wallet's TopUp table installed, or with no such row, it answers None
    # and the next resolver is asked.
    assert disputes.owner_from_topup("sandbox", "pi_nothing") is None
