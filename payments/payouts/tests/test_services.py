"""Payout worked examples with their exact postings, and the state machine."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.money import Money
from ledger.errors import InsufficientFunds
from ledger.models import Entry, Hold
from ledger.selectors import ledger_verify
from payments.payouts import services
from payments.payouts.errors import (
    AccountFrozen,
    IllegalPayoutTransition,
    InvalidBankAccount,
    NoPayoutDestination,
    PayoutDestinationOnHold,
    VerificationRequired,
)
from payments.payouts.models import Payout, PayoutEvent, PayoutStatus
from payments.payouts.tests.support import (
    available,
    card_payee,
    deliver_events,
    fund,
    legs_of,
    make_user,
    payee,
    posted,
    settle,
)
from payments.processors.sandbox import models as sandbox_models
from payments.wallets.models import ReceiptOutbox
from payments.wallets.receipts import receipts_outbox_drain

pytestmark = pytest.mark.django_db

WALLET = "wallet:user:{}:USD"
TRANSIT = "platform:payouts_in_transit:USD"
CLEARING = "platform:processor_clearing:sandbox:USD"
FEES = "platform:fees:USD"


@pytest.fixture(autouse=True)
def _no_destination_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    settings.PAYOUT_INSTANT_FEE_BPS = 150
    settings.PAYOUT_INSTANT_FEE_MIN = 50


def request(user, amount, method="standard", key=None):
    return services.payout_request(
        user=user,
        amount=Money(amount, "USD"),
        method=method,
        request_key=key or f"k-{amount}-{method}",
    )


def verify_ok():
    report = ledger_verify(hold_max_age=timedelta(days=365))
    assert report.ok, report.findings


def test_requested_payout_holds_the_wallet_and_submits_once():
    creator = payee(15000)
    payout = request(creator, 10000)

    assert payout.status == PayoutStatus.REQUESTED
    hold = Hold.objects.get(pk=payout.hold_id)
    assert sorted((leg.direction, leg.account.key, leg.amount) for leg in hold.legs.all()) == [
        ("C", TRANSIT, 10000),
        ("D", WALLET.format(creator.pk), 10000),
    ]
    assert available(WALLET.format(creator.pk)) == 5000
    assert services.payout_submit(payout_id=payout.pk).status == PayoutStatus.PENDING
    # A second delivery of the task is a no-op; the processor holds one payout.
    assert services.payout_submit(payout_id=payout.pk).status == PayoutStatus.PENDING
    assert sandbox_models.Payout.objects.count() == 1
    assert sandbox_models.Payout.objects.get().id == Payout.objects.get().processor_payout_id
    verify_ok()


def test_paid_payout_posts_the_hold_then_moves_money_out_of_clearing(
    mailoutbox, django_capture_on_commit_callbacks
):
    creator = payee(15000)
    payout = request(creator, 10000)
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id

    assert settle(remote_id) == "paid"
    deliver_events(remote_id, "payout.paid")

    payout.refresh_from_db()
    assert payout.status == payout.ledger_status == PayoutStatus.PAID
    paid = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:paid")
    assert legs_of(paid) == [("C", TRANSIT, 10000), ("D", WALLET.format(creator.pk), 10000)]
    settle_entry = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:settle")
    assert legs_of(settle_entry) == [("C", CLEARING, 10000), ("D", TRANSIT, 10000)]
    assert posted(WALLET.format(creator.pk)) == 5000
    assert posted(TRANSIT) == 0
    assert posted(CLEARING) == 15000 - 10000
    # Duplicate webhook: nothing new.
    deliver_events(remote_id, "payout.paid")
    assert Entry.objects.filter(reference=f"payout:{payout.pk}").count() == 1
    assert [e.to_status for e in payout.events.filter(accepted=True)] == [
        "requested",
        "submitting",
        "pending",
        "paid",
    ]
    # The receipt waits in the outbox, written with the status change; delivered once.
    (outbox,) = ReceiptOutbox.objects.all()
    assert [spec["key"] for spec in outbox.payload] == [f"payout:{payout.pk}:paid:owner"]
    assert creator.notifications.filter(kind="payout_paid").exists() is False
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail leaves on commit
        assert receipts_outbox_drain() == 1
    assert receipts_outbox_drain() == 0
    note = creator.notifications.get(kind="payout_paid")
    assert (note.target_type, note.target_id) == ("payout", payout.pk)
    assert note.data["text"] == "Your payout of $100.00 was paid."
    (mail,) = mailoutbox
    assert mail.subject == "Your payout was paid" and f"Payout #{payout.pk}." in mail.body
    verify_ok()


def test_a_crash_between_the_hold_and_the_payout_row_leaves_nothing(monkeypatch):
    """The hold, the payout row and its event commit together: a request that dies after
    the hold leaves no reservation behind, and its retry with the same key pays once."""
    creator = payee(15000)
    original = services.hold_create

    def hold_then_crash(**kwargs):
        original(**kwargs)
        raise RuntimeError("the process died after the hold")

    monkeypatch.setattr(services, "hold_create", hold_then_crash)
    with pytest.raises(RuntimeError):
        request(creator, 10000, key="crash-key-1")
    assert not Hold.objects.exists() and not Payout.objects.exists()
    assert available(WALLET.format(creator.pk)) == 15000

    monkeypatch.undo()
    payout = request(creator, 10000, key="crash-key-1")
    assert request(creator, 10000, key="crash-key-1").pk == payout.pk
    assert available(WALLET.format(creator.pk)) == 5000
    verify_ok()


def test_a_status_change_and_its_receipt_commit_together(monkeypatch):
    """A failure after the receipt was written undoes the status change, its event and the
    receipt alike: the retried change then writes exactly one receipt."""
    creator = payee(15000)
    payout = request(creator, 10000)
    services.payout_submit(payout_id=payout.pk)
    events = PayoutEvent.objects.filter(payout=payout).count()
    original = services.payment_receipts

    def send_then_crash(**kwargs):
        original(**kwargs)
        raise RuntimeError("crash after the receipt was written")

    monkeypatch.setattr(services, "payment_receipts", send_then_crash)
    with pytest.raises(RuntimeError):
        services.payout_transition(payout_id=payout.pk, to_status="paid", source="test")
    assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.PENDING
    assert PayoutEvent.objects.filter(payout=payout).count() == events
    assert not ReceiptOutbox.objects.exists()

    monkeypatch.undo()
    services.payout_transition(payout_id=payout.pk, to_status="paid", source="test")
    services.payout_transition(payout_id=payout.pk, to_status="paid", source="test")  # repeat
    (outbox,) = ReceiptOutbox.objects.all()
    assert [spec["key"] for spec in outbox.payload] == [f"payout:{payout.pk}:paid:owner"]


def test_failed_payout_voids_the_hold_and_says_why():
    creator = payee(15000, bank="000111111116")
    payout = request(creator, 10000)
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id

    assert settle(remote_id) == "failed"
    deliver_events(remote_id, "payout.failed")

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED
    assert payout.failure_code == "no_account"
    assert "incorrect" in payout.failure_message
    assert Hold.objects.get(pk=payout.hold_id).status == "voided"
    assert available(WALLET.format(creator.pk)) == 15000
    assert not Entry.objects.filter(idempotency_key__startswith=f"payout:{payout.pk}:").exists()
    # The receipt was written to the outbox with the status; the worker delivers it.

    assert receipts_outbox_drain() == 1
    note = creator.notifications.get(kind="payout_failed")
    assert note.data["failure_message"] == payout.failure_message
    verify_ok()


def test_paid_then_failed_reverses_once():
    creator = payee(15000, bank="000888888883")
    payout = request(creator, 10000)
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    assert settle(remote_id) == "paid"
    deliver_events(remote_id, "payout.paid")
    assert settle(remote_id) == "failed"
    deliver_events(remote_id, "payout.failed")
    deliver_events(remote_id)  # everything again, in order: no second reversal

    payout.refresh_from_db()
    assert payout.status == payout.ledger_status == PayoutStatus.REVERSED
    settle_entry = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:settle")
    paid_entry = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:paid")
    unsettle = Entry.objects.get(reverses=settle_entry)
    unpay = Entry.objects.get(reverses=paid_entry)
    assert legs_of(unsettle) == [("C", TRANSIT, 10000), ("D", CLEARING, 10000)]
    assert legs_of(unpay) == [("C", WALLET.format(creator.pk), 10000), ("D", TRANSIT, 10000)]
    assert Entry.objects.filter(reverses__isnull=False).count() == 2
    assert posted(WALLET.format(creator.pk)) == 15000
    assert posted(TRANSIT) == 0
    assert posted(CLEARING) == 15000
    # The late duplicate "paid" was refused and logged, not applied.
    assert payout.events.filter(accepted=False, to_status="paid").exists()
    verify_ok()


def test_instant_payout_fee_is_its_own_posting_and_refunded_when_returned():
    creator = card_payee(20000)
    quote = services.payout_quote(amount=Money(10000, "USD"), method="instant")
    assert (quote.fee.amount, quote.total.amount) == (150, 10150)
    assert quote.arrival_estimate == timezone.now().date()
    payout = request(creator, 10000, "instant")
    assert payout.fee == 150
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    settle(remote_id)
    deliver_events(remote_id, "payout.paid")

    paid = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:paid")
    assert legs_of(paid) == [
        ("C", FEES, 150),
        ("C", TRANSIT, 10000),
        ("D", WALLET.format(creator.pk), 10150),
    ]
    assert posted(WALLET.format(creator.pk)) == 20000 - 10150
    assert posted(FEES) == 150
    assert sandbox_models.Payout.objects.get().amount == 10000
    verify_ok()


def test_small_instant_payout_pays_the_minimum_fee():
    assert services.payout_quote(amount=Money(100, "USD"), method="instant").fee.amount == 50
    assert services.payout_quote(amount=Money(100, "USD"), method="standard").fee.amount == 0


def test_illegal_transitions_are_refused_and_logged():
    creator = payee(15000)
    payout = request(creator, 10000)
    with pytest.raises(IllegalPayoutTransition):
        services.payout_transition(payout_id=payout.pk, to_status="paid", source="staff")
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.REQUESTED
    refused = payout.events.get(accepted=False)
    assert (refused.from_status, refused.to_status) == ("requested", "paid")
    services.payout_transition(payout_id=payout.pk, to_status="failed", source="staff")
    for to_status in ("submitting", "pending", "paid", "requested"):
        with pytest.raises(IllegalPayoutTransition):
            services.payout_transition(payout_id=payout.pk, to_status=to_status, source="staff")
    assert Hold.objects.get(pk=payout.hold_id).status == "voided"
    verify_ok()


def test_payout_events_are_append_only():
    creator = payee(15000)
    payout = request(creator, 10000)
    event = PayoutEvent.objects.get(payout=payout)
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutEvent.objects.filter(pk=event.pk).update(to_status="paid")
    with pytest.raises(IntegrityError), transaction.atomic():
        PayoutEvent.objects.filter(pk=event.pk).delete()


def test_same_request_key_returns_the_same_payout():
    creator = payee(15000)
    first = request(creator, 10000, key="same-key-123")
    again = request(creator, 10000, key="same-key-123")
    assert first.pk == again.pk
    assert Hold.objects.count() == 1
    assert available(WALLET.format(creator.pk)) == 5000


def test_two_requests_for_the_whole_balance_one_wins():
    creator = payee(10000)
    request(creator, 10000, key="first-key-1")
    with pytest.raises(InsufficientFunds):
        request(creator, 10000, key="second-key-2")
    assert Payout.objects.count() == 1


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (
            lambda u: type(u).objects.filter(pk=u.pk).update(verification_tier="unverified"),
            VerificationRequired,
        ),
        (lambda u: type(u).objects.filter(pk=u.pk).update(is_frozen=True), AccountFrozen),
    ],
)
def test_only_verified_unfrozen_people_are_paid_out(setup, error):
    creator = payee(15000)
    setup(creator)
    creator.refresh_from_db()
    with pytest.raises(error):
        request(creator, 1000)
    assert available(WALLET.format(creator.pk)) == 15000
    assert not Hold.objects.exists()


def test_no_destination_and_destination_hold(settings):
    nobody = make_user()
    fund(nobody, 5000)
    with pytest.raises(NoPayoutDestination):
        request(nobody, 1000)
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 72
    creator = payee(5000)
    with pytest.raises(PayoutDestinationOnHold):
        request(creator, 1000)
    # Changing the bank account starts the hold again, and only one destination is active.
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    services.payout_destination_add(
        user=creator, account_number="000123456789", routing_number="110000000"
    )
    assert creator.payout_destinations.filter(status="active").count() == 1
    assert creator.payout_destinations.filter(status="replaced").count() == 1


def test_bad_bank_accounts_are_refused():
    creator = make_user()
    for number in ("12", "abc123456", "0001234567890123456789", "١٢٣٤٥٦٧٨٩"):
        with pytest.raises(InvalidBankAccount):
            services.payout_destination_add(
                user=creator, account_number=number, routing_number="110000000"
            )
    with pytest.raises(InvalidBankAccount):
        services.payout_destination_add(
            user=creator, account_number="999999999999", routing_number="110000000"
        )
    assert not creator.payout_destinations.filter(status="active").exists()


def test_transient_errors_retry_then_permanent_ones_end_the_payout(monkeypatch):
    from payments.processors.base import PermanentProcessorError, TransientProcessorError
    from payments.processors.sandbox.adapter import SandboxProcessor

    creator = payee(15000)
    payout = request(creator, 10000)
    calls = []

    def flaky(self, req):
        calls.append(req.idempotency_key)
        if len(calls) == 1:
            raise TransientProcessorError("timeout")
        raise PermanentProcessorError("no", code="account_invalid")

    monkeypatch.setattr(SandboxProcessor, "create_payout", flaky)
    outcome = services.payout_submit(payout_id=payout.pk)
    assert outcome.status == PayoutStatus.SUBMITTING and outcome.retry_in == 5
    outcome = services.payout_submit(payout_id=payout.pk)
    assert outcome.status == PayoutStatus.FAILED
    assert calls == [f"payout:{payout.pk}", f"payout:{payout.pk}"]
    payout.refresh_from_db()
    assert payout.failure_code == "account_invalid"
    assert Hold.objects.get(pk=payout.hold_id).status == "voided"
    verify_ok()


def test_sweeper_redrives_stuck_payouts():
    creator = payee(30000)
    stuck = request(creator, 10000, key="stuck-key-1")
    # A pending payout whose webhook was lost.
    lost = request(creator, 5000, key="lost-key-1")
    services.payout_submit(payout_id=lost.pk)
    settle(Payout.objects.get(pk=lost.pk).processor_payout_id)

    # Seven hours later (past every threshold), the sweeper runs.
    report = services.payouts_sweep(now=timezone.now() + timedelta(hours=7))

    assert report.resubmitted == 1
    assert report.checked >= 1
    assert Payout.objects.get(pk=stuck.pk).status == PayoutStatus.PENDING
    assert Payout.objects.get(pk=lost.pk).status == PayoutStatus.PAID
    assert available(WALLET.format(creator.pk)) == 30000 - 10000 - 5000
    verify_ok()


def test_sweeper_books_ledger_effects_a_crash_left_out():
    creator = payee(15000)
    payout = request(creator, 10000)
    services.payout_submit(payout_id=payout.pk)
    settle(Payout.objects.get(pk=payout.pk).processor_payout_id)
    # The status changed but the process died before the ledger: simulate by writing it.
    Payout.objects.filter(pk=payout.pk).update(status="paid")
    assert services.payouts_sweep().ledger_synced == 1
    assert Payout.objects.get(pk=payout.pk).ledger_status == "paid"
    assert posted(TRANSIT) == 0
    verify_ok()


def test_weekly_schedule_pays_out_the_balance_once_a_week():
    weekly = payee(7000)
    services.payout_schedule_set(user=weekly, schedule="weekly")
    manual = payee(5000)
    empty = payee()
    services.payout_schedule_set(user=empty, schedule="weekly")

    monday = timezone.now().date() - timedelta(days=timezone.now().date().weekday())
    assert services.payouts_scheduled_run(today=monday) == 1
    assert services.payouts_scheduled_run(today=monday) == 0  # funds are reserved already
    payout = Payout.objects.get()
    assert (payout.user_id, payout.amount, payout.method) == (weekly.pk, 7000, "standard")
    assert available(WALLET.format(manual.pk)) == 5000


def test_reordered_failure_before_paid_ends_failed_with_the_money_back():
    creator = payee(15000, bank="000888888883")
    payout = request(creator, 10000)
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    settle(remote_id)
    settle(remote_id)
    # The failure overtakes the earlier "paid" event.
    deliver_events(remote_id, "payout.failed")
    deliver_events(remote_id, "payout.paid")

    payout.refresh_from_db()
    assert payout.status == payout.ledger_status == PayoutStatus.FAILED
    assert payout.events.filter(accepted=False, to_status="paid").exists()
    assert available(WALLET.format(creator.pk)) == 15000
    assert posted(TRANSIT) == 0 and posted(CLEARING) == 15000
    verify_ok()


def test_onboarding_link_creates_the_connected_account_once():
    creator = make_user()
    url = services.payout_onboarding_link(
        user=creator, refresh_url="https://x.test/r", return_url="https://x.test/back"
    )
    assert url == "https://x.test/back"  # the sandbox has no hosted page
    services.payout_onboarding_link(
        user=creator, refresh_url="https://x.test/r", return_url="https://x.test/back"
    )
    assert sandbox_models.Account.objects.count() == 1
    assert creator.payout_account.account_id == sandbox_models.Account.objects.get().id


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_for_the_whole_balance_one_wins(settings):
    import threading

    # The race is between the two requests; their submission tasks go to a queue no worker
    # consumes, so a session worker cannot still be running one when the tables are flushed.
    settings.PAYOUTS_QUEUE = f"unconsumed-{settings.CELERY_TASK_DEFAULT_QUEUE}"

    from django.db import connection as conn

    creator = payee(10000)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(key: str) -> None:
        try:
            barrier.wait()
            request(creator, 10000, key=key)
            outcomes.append("ok")
        except InsufficientFunds:
            outcomes.append("insufficient_funds")
        finally:
            conn.close()

    threads = [threading.Thread(target=attempt, args=(f"race-key-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["insufficient_funds", "ok"]
    assert Payout.objects.count() == 1
    assert available(WALLET.format(creator.pk)) == 0
    verify_ok()
