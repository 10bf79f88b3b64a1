"""The nightly checks record their outcome (for the metrics), mail ADMINS about findings,
run under limits of their own; the nightly pruning deletes expired sessions and old login
records. Real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.services import user_signup
from core.models import NightlyCheck
from core.money import Money
from ledger import services as ledger
from ledger.chart import processor_clearing_key, wallet_key
from ledger.tasks import ledger_verify
from payments.payouts import reconciliation
from payments.payouts.tasks import reconciliation_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admins(settings):
    settings.ADMINS = ["ops@example.com"]


def _funded_wallet(amount: int = 5000):
    handle = f"n{uuid.uuid4().hex[:10]}"
    user = user_signup(handle=handle, email=f"{handle}@example.com", password="a long pass 42x")
    ledger.entry_post(
        code="test_topup",
        idempotency_key=f"nightly-topup-{handle}",
        postings=[
            ledger.debit(processor_clearing_key("sandbox", "USD"), Money(amount, "USD")),
            ledger.credit(wallet_key(user.pk, "USD"), Money(amount, "USD")),
        ],
    )
    return user


def test_a_clean_ledger_verify_is_recorded_and_mails_nobody(admins, mailoutbox):
    _funded_wallet()
    result = ledger_verify.apply().get()
    assert result["ok"] is True
    run = NightlyCheck.objects.filter(name="ledger_verify").latest("finished_at")
    assert run.ok is True and run.findings == 0
    assert run.summary["entries"] >= 1
    assert mailoutbox == []


def test_ledger_verify_findings_are_recorded_and_mailed_to_admins(admins, mailoutbox, settings):
    user = _funded_wallet()
    ledger.hold_create(
        code="test_hold",
        idempotency_key=f"nightly-hold-{user.pk}",
        postings=[
            ledger.debit(wallet_key(user.pk, "USD"), Money(100, "USD")),
            ledger.credit("platform:payouts_in_transit:USD", Money(100, "USD")),
        ],
    )
    settings.LEDGER_HOLD_MAX_AGE_HOURS = -1  # every pending hold is "too old"
    result = ledger_verify.apply().get()

    assert result["ok"] is False
    run = NightlyCheck.objects.filter(name="ledger_verify").latest("finished_at")
    assert run.ok is False and run.findings == len(result["findings"]) >= 1
    [mail] = mailoutbox
    assert mail.to == ["ops@example.com"]
    assert "ledger_verify" in mail.subject and "finding" in mail.subject
    assert result["findings"][0] in mail.body


def test_findings_without_admins_are_still_recorded(mailoutbox, settings):
    from core.nightly import nightly_check_record

    settings.ADMINS = []
    run = nightly_check_record(name="ledger_verify", ok=False, findings=["x"] * 60)
    assert run.findings == 60
    assert mailoutbox == []


def test_the_mail_lists_a_bounded_number_of_findings(admins, mailoutbox):
    from core.nightly import MAIL_MAX_FINDINGS, nightly_check_record

    nightly_check_record(name="reconciliation", ok=False, findings=["f"] * 5, total=500)
    [mail] = mailoutbox
    assert "500 problem(s)" in mail.body
    assert f"... and {500 - 5} more." in mail.body
    assert MAIL_MAX_FINDINGS >= 5


def test_reconciliation_differences_are_recorded_and_mailed(admins, mailoutbox):
    user = _funded_wallet()
    # Money booked as arrived at the processor for an object the processor never saw.
    ledger.entry_post(
        code="test_topup",
        idempotency_key=f"nightly-ghost-{user.pk}",
        postings=[
            ledger.debit(processor_clearing_key("sandbox", "USD"), Money(777, "USD")),
            ledger.credit(wallet_key(user.pk, "USD"), Money(777, "USD")),
        ],
        metadata={"processor_object": "ch_never_at_the_processor"},
    )
    now = timezone.now()
    report = reconciliation.reconciliation_run_and_record(
        start=now - timedelta(hours=1), end=now + timedelta(minutes=1)
    )
    assert report.difference_count >= 1
    run = NightlyCheck.objects.filter(name="reconciliation").latest("finished_at")
    assert run.ok is False and run.findings == report.difference_count
    assert run.summary["report_id"] == report.pk
    [mail] = mailoutbox
    assert "ch_never_at_the_processor" in mail.body


def test_the_nightly_tasks_have_their_own_time_limits():
    for task in (ledger_verify, reconciliation_task):
        assert task.soft_time_limit == settings.NIGHTLY_TASK_SOFT_TIME_LIMIT
        assert task.time_limit == settings.NIGHTLY_TASK_TIME_LIMIT
        assert task.time_limit > settings.CELERY_TASK_TIME_LIMIT
    # A task still running at the visibility timeout would be delivered a second time.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > settings.NIGHTLY_TASK_TIME_LIMIT


def test_nightly_pruning_deletes_expired_sessions_and_old_login_records(settings):
    from axes.models import AccessLog

    from core.tasks import sessions_clear_expired

    settings.AUTH_LOG_RETENTION_DAYS = 30
    Session.objects.create(
        session_key=f"old{uuid.uuid4().hex}", session_data="x", expire_date=timezone.now()
        - timedelta(days=1),
    )  # fmt: skip
    fresh = Session.objects.create(
        session_key=f"new{uuid.uuid4().hex}", session_data="x", expire_date=timezone.now()
        + timedelta(days=1),
    )  # fmt: skip
    old_log = AccessLog.objects.create(username="someone", ip_address="10.0.0.1", user_agent="t")
    AccessLog.objects.filter(pk=old_log.pk).update(attempt_time=timezone.now() - timedelta(days=31))
    recent = AccessLog.objects.create(username="someone", ip_address="10.0.0.1", user_agent="t")

    removed = sessions_clear_expired.apply().get()

    assert removed >= 1
    assert list(Session.objects.filter(expire_date__lt=timezone.now())) == []
    assert Session.objects.filter(pk=fresh.pk).exists()
    assert not AccessLog.objects.filter(pk=old_log.pk).exists()
    assert AccessLog.objects.filter(pk=recent.pk).exists()
    assert "sessions-clear-expired" in settings.CELERY_BEAT_SCHEDULE
