"""Checkpointed ``ledger_verify``: a clean run records a checkpoint, an incremental run reads
only what came after it, and still finds a tampered balance."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction

from core.money import Money
from ledger import chart, checkpoints, tasks
from ledger.models import Posting, VerifyCheckpoint, VerifyCheckpointSum
from ledger.selectors import ledger_verify
from ledger.services import credit, debit, entry_post
from ledger.tests.conftest import new_key, top_up

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
ALICE = chart.wallet_key(1, "USD")
BOB = chart.wallet_key(2, "USD")
CLEARING = chart.processor_clearing_key("sandbox", "USD")


def pay(amount: int, src: str = ALICE, dst: str = BOB):
    return entry_post(
        code="transfer",
        idempotency_key=new_key(),
        postings=[debit(src, Money(amount, "USD")), credit(dst, Money(amount, "USD"))],
    )


def run(sql: str, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params)


def verify(*, incremental: bool):
    return checkpoints.ledger_verify_run(hold_max_age=DAY, incremental=incremental)


def test_a_clean_full_run_records_what_it_established():
    top_up(1, 1000)
    pay(400)
    report = verify(incremental=False)
    assert report.ok and report.scope == "full"
    checkpoint = VerifyCheckpoint.objects.get()
    last_posting = Posting.objects.order_by("-id").first().pk
    assert checkpoint.full and checkpoint.posting_upto == last_posting
    assert checkpoint.postings == 4
    assert checkpoint.totals == {"USD": {"debits": 1400, "net": 0}}
    sums = dict(
        VerifyCheckpointSum.objects.filter(checkpoint=checkpoint).values_list("account__key", "net")
    )
    assert sums == {CLEARING: 1000, ALICE: -600, BOB: -400}


def test_an_incremental_run_reads_only_what_came_after_and_agrees_with_a_full_one():
    top_up(1, 1000)
    pay(400)
    verify(incremental=False)
    pay(100)
    pay(50, src=BOB, dst=ALICE)
    report = verify(incremental=True)
    first = VerifyCheckpoint.objects.order_by("id").first()
    assert report.ok and report.scope == f"incremental from checkpoint #{first.pk}"
    assert report.checked["postings"] == 4 and report.checked["entries"] == 2
    assert report.totals == ledger_verify(hold_max_age=DAY).totals == {"USD": 1550}
    latest = VerifyCheckpoint.objects.order_by("-id").first()
    assert not latest.full and latest.postings == 8
    sums = dict(
        VerifyCheckpointSum.objects.filter(checkpoint=latest).values_list("account__key", "net")
    )
    assert sums == {CLEARING: 1000, ALICE: -550, BOB: -450}
    # Nothing new: an empty increment, still clean.
    assert verify(incremental=True).checked["postings"] == 0


def test_an_incremental_run_finds_a_cached_balance_edited_after_the_checkpoint():
    top_up(1, 1000)
    pay(400)
    verify(incremental=False)
    # Bob's account has no posting after the checkpoint: only the identity catches it.
    run("UPDATE ledger_account SET balance = balance + 5 WHERE key = %s", [BOB])
    pay(10)
    report = verify(incremental=True)
    assert report.findings == [f"balance drift: {BOB} cached 415 but postings sum to 410"]
    # No checkpoint is recorded over a finding: the next run starts from the same one.
    assert VerifyCheckpoint.objects.count() == 1


def test_what_an_incremental_run_cannot_see_cannot_be_written():
    """A posting below the checkpoint is never read again by an incremental run. Rewriting
    one is refused by the append-only triggers (on every partition); only the tables'
    owner disabling them could, and the periodic full run recomputes from everything."""
    top_up(1, 1000)
    verify(incremental=False)
    posting = Posting.objects.order_by("id").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        run("UPDATE ledger_posting SET amount = amount + 1 WHERE id = %s", [posting.pk])


def test_incremental_without_a_checkpoint_is_a_full_run():
    top_up(1, 1000)
    report = verify(incremental=True)
    assert report.scope == "full" and VerifyCheckpoint.objects.get().full


def test_only_the_newest_checkpoints_and_the_last_full_one_are_kept():
    top_up(1, 1000)
    verify(incremental=False)
    full = VerifyCheckpoint.objects.get()
    for _ in range(checkpoints.CHECKPOINTS_KEPT + 1):
        pay(1)
        verify(incremental=True)
    kept = list(VerifyCheckpoint.objects.order_by("id").values_list("pk", flat=True))
    assert len(kept) == checkpoints.CHECKPOINTS_KEPT + 1 and kept[0] == full.pk
    with_sums = set(VerifyCheckpointSum.objects.values_list("checkpoint_id", flat=True))
    assert with_sums == set(kept[1:])


def test_the_command_runs_full_by_default_and_incremental_on_request():
    top_up(1, 1000)
    out = io.StringIO()
    call_command("ledger_verify", stdout=out)
    assert "Scope: full" in out.getvalue() and "OK: every invariant holds." in out.getvalue()
    pay(10)
    out = io.StringIO()
    call_command("ledger_verify", "--incremental", stdout=out)
    assert "Scope: incremental from checkpoint" in out.getvalue()
    assert "postings: 2" in out.getvalue()


def test_the_nightly_task_is_incremental_between_full_runs(settings):
    top_up(1, 1000)
    assert tasks.ledger_verify()["ok"]
    assert VerifyCheckpoint.objects.get().full
    pay(10)
    assert tasks.ledger_verify()["checked"]["postings"] == 2
    assert not VerifyCheckpoint.objects.order_by("-id").first().full
    settings.LEDGER_VERIFY_FULL_EVERY_DAYS = 0
    assert tasks.ledger_verify()["checked"]["postings"] == 4


@pytest.mark.django_db(transaction=True)
def test_a_run_waits_for_transactions_that_could_still_commit_below_its_horizon(monkeypatch):
    top_up(1, 1000)
    monkeypatch.setattr(checkpoints, "HORIZON_WAIT_SECONDS", 0.3)
    started, release = threading.Event(), threading.Event()

    def open_transaction():
        other = connections.create_connection("default")
        with other.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT txid_current()")
            started.set()
            release.wait(10)
            cur.execute("ROLLBACK")
        other.close()

    thread = threading.Thread(target=open_transaction)
    thread.start()
    try:
        assert started.wait(10)
        report = verify(incremental=False)
        # Checked, but nothing recorded: that transaction could still commit postings.
        assert report.ok and "no checkpoint recorded" in report.scope
        assert not VerifyCheckpoint.objects.exists()
    finally:
        release.set()
        thread.join()
    assert verify(incremental=False).ok
    assert VerifyCheckpoint.objects.count() == 1


def test_an_incremental_run_finds_a_payment_credited_again_after_the_checkpoint():
    def credit_payment(user: int):
        money = Money(500, "USD")
        return entry_post(
            code="topup",
            idempotency_key=new_key(),
            postings=[debit(CLEARING, money), credit(chart.wallet_key(user, "USD"), money)],
            metadata={"payment": "pi_twice"},
        )

    first = credit_payment(1)
    assert verify(incremental=False).ok
    second = credit_payment(2)
    report = verify(incremental=True)
    assert report.findings == [
        f"payment credited twice: sandbox payment pi_twice is booked by entries"
        f" #{first.pk}, #{second.pk}"
    ]
