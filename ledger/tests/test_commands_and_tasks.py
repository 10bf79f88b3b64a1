"""manage.py ledger_verify and the Celery tasks (called in-process; they are thin)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from ledger import chart, tasks
from ledger.models import BalanceDelta
from ledger.tests.conftest import top_up

pytestmark = pytest.mark.django_db


def run_verify() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ledger_verify", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_ledger_verify_prints_what_it_checked_and_exits_0():
    top_up(1, 1000)
    code, out, err = run_verify()
    assert code == 0
    assert "entries: 1" in out and "postings: 2" in out and "USD: 1000" in out
    assert "OK: every invariant holds." in out
    assert err == ""


def test_ledger_verify_exits_1_on_a_finding():
    top_up(1, 1000)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE ledger_account SET balance = balance - 1 WHERE key = %s",
            [chart.processor_clearing_key("sandbox", "USD")],
        )
    code, out, err = run_verify()
    assert code == 1
    assert "Checked:" in out
    assert "FINDING: balance drift: platform:processor_clearing:sandbox:USD" in err
    assert "1 finding(s)." in err


def test_verify_task_reports_findings():
    top_up(1, 1000)
    result = tasks.ledger_verify()
    assert result["ok"] is True and result["checked"]["entries"] == 1


def test_fold_task_folds_every_delta():
    for user in range(1, 6):
        top_up(user, 10)
    assert tasks.balance_deltas_fold() == 6
    assert not BalanceDelta.objects.exists()


def test_beat_schedules_the_ledger_tasks(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["ledger-verify"]["task"] == "ledger.tasks.ledger_verify"
    assert schedule["ledger-fold-balance-deltas"]["task"] == "ledger.tasks.balance_deltas_fold"
