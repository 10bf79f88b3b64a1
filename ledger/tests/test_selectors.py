"""Balances, statements and the verification behind ledger_verify."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from core.exceptions import DomainError
from core.money import Money
from ledger import chart
from ledger.selectors import balance_of, balances_of_owner, ledger_verify, statement
from ledger.services import credit, debit, entry_post, hold_create
from ledger.tests.conftest import new_key, top_up

pytestmark = pytest.mark.django_db

A, B = chart.wallet_key(1, "USD"), chart.wallet_key(2, "USD")


def usd(amount: int) -> Money:
    return Money(amount, "USD")


def pay(amount: int, src: str = A, dst: str = B):
    return entry_post(
        code="transfer",
        idempotency_key=new_key(),
        postings=[debit(src, usd(amount)), credit(dst, usd(amount))],
        reference=f"transfer:{amount}",
    )


def test_balance_of_reports_posted_pending_and_available():
    top_up(1, 1000)
    hold_create(
        code="payout",
        idempotency_key=new_key(),
        postings=[debit(A, usd(300)), credit(chart.payouts_in_transit_key("USD"), usd(300))],
    )
    balance = balance_of(account=A)
    assert (balance.posted, balance.pending_out, balance.pending_in) == (
        usd(1000),
        usd(300),
        usd(0),
    )
    assert balance.available == usd(700)
    assert balance.currency == "USD"
    with pytest.raises(DomainError) as exc:
        balance_of(account="wallet:user:999:USD")
    assert (exc.value.code, exc.value.status) == ("account_not_found", 404)


def test_balances_of_owner_lists_wallets_by_currency():
    top_up(1, 500, "USD")
    top_up(1, 700, "EUR")
    top_up(2, 1, "USD")
    balances = balances_of_owner(owner_id=1)
    assert [(b.currency, b.available.amount) for b in balances] == [("EUR", 700), ("USD", 500)]


def test_statement_has_running_balances_newest_first_and_paginates():
    top_up(1, 1000)
    for amount in (100, 200, 50):
        pay(amount)
    pay(25, src=B, dst=A)
    page = statement(account=A, limit=3)
    assert [(line.code, line.change.amount, line.balance_after.amount) for line in page.lines] == [
        ("transfer", 25, 675),
        ("transfer", -50, 650),
        ("transfer", -200, 700),
    ]
    assert page.lines[0].direction == "C" and page.lines[0].amount == usd(25)
    older = statement(account=A, before=page.next_cursor, limit=3)
    assert [(line.change.amount, line.balance_after.amount) for line in older.lines] == [
        (-100, 900),
        (1000, 1000),
    ]
    assert older.next_cursor is None
    assert older.lines[-1].code == "topup"


def test_statement_of_a_debit_normal_account_and_limits():
    top_up(1, 1000)
    clearing = chart.processor_clearing_key("sandbox", "USD")
    (line,) = statement(account=clearing).lines
    assert (line.change, line.balance_after) == (usd(1000), usd(1000))
    for bad in ({"limit": 0}, {"limit": 201}, {"before": 0}, {"before": "1"}):
        with pytest.raises(ValueError):
            statement(account=A, **bad)
    with pytest.raises(DomainError):
        statement(account="nope")


def test_verify_passes_on_a_healthy_ledger_and_counts_what_it_checked():
    top_up(1, 1000)
    pay(400)
    report = ledger_verify(hold_max_age=timedelta(days=1))
    assert report.ok
    assert report.checked["entries"] == 2 and report.checked["postings"] == 4
    assert report.totals == {"USD": 1400}


def test_verify_finds_balance_drift():
    top_up(1, 1000)
    with connection.cursor() as cur:
        cur.execute("UPDATE ledger_account SET balance = balance + 5 WHERE key = %s", [A])
    findings = ledger_verify(hold_max_age=timedelta(days=1)).findings
    assert findings == [f"balance drift: {A} cached 1005 but postings sum to 1000"]


def test_verify_finds_reservation_drift_and_stale_holds():
    top_up(1, 1000)
    hold = hold_create(
        code="payout",
        idempotency_key=new_key(),
        postings=[debit(A, usd(300)), credit(chart.payouts_in_transit_key("USD"), usd(300))],
    )
    report = ledger_verify(hold_max_age=timedelta(0))
    assert report.findings[0].startswith(f"stale hold: #{hold.pk} (payout)")
    with connection.cursor() as cur:
        cur.execute("UPDATE ledger_account SET pending_out = 0 WHERE key = %s", [A])
    findings = ledger_verify(hold_max_age=timedelta(days=1)).findings
    assert findings == [
        f"hold drift or overdraft: {A} pending_out 0, open holds reserve 300, folded balance 1000"
    ]


# --- reads other apps need ------------------------------------------------------------------
def test_wallet_currencies_used_lists_wallets_money_moved_through():
    top_up(1, 500, "USD")
    top_up(1, 700, "EUR")
    hold_create(  # a reservation moves nothing yet; an unused GBP wallet is not listed
        code="payout",
        idempotency_key=new_key(),
        postings=[debit(A, usd(100)), credit(chart.payouts_in_transit_key("USD"), usd(100))],
    )
    from ledger.selectors import wallet_currencies_used
    from ledger.services import account_get_or_create

    account_get_or_create(
        key=chart.wallet_key(1, "GBP"), kind="liability", currency="GBP", no_overdraft=True,
        owner_id=1,
    )  # fmt: skip
    assert wallet_currencies_used(owner_id=1) == {"USD", "EUR"}
    assert wallet_currencies_used(owner_id=3) == set()


def test_an_entry_and_its_postings_by_key():
    from ledger.selectors import PostingLine, entry_by_key, entry_postings

    top_up(1, 1000)
    entry = pay(250)
    assert entry_by_key(idempotency_key=entry.idempotency_key).pk == entry.pk
    assert entry_postings(entry_id=entry.pk) == [
        PostingLine(A, "D", usd(250)),
        PostingLine(B, "C", usd(250)),
    ]


def test_processor_clearing_postings_by_processor_and_window():
    from django.utils import timezone

    from ledger.selectors import processor_clearing_postings
    from ledger.services import entry_reverse

    start = timezone.now()
    first = top_up(1, 1000, "USD")
    top_up(1, 300, "EUR")
    top_up(2, 50, "USD", processor="stripe")
    undo = entry_reverse(entry=first, idempotency_key=new_key())
    end = timezone.now() + timedelta(seconds=1)

    lines = list(processor_clearing_postings(processor="sandbox", start=start, end=end))
    assert [(p.direction, p.amount, p.currency) for p in lines] == [
        ("D", 1000, "USD"),
        ("D", 300, "EUR"),
        ("C", 1000, "USD"),
    ]
    assert lines[2].entry_id == undo.pk and lines[2].reversed_metadata == first.metadata
    assert lines[0].reversed_metadata is None
    assert list(processor_clearing_postings(processor="sandbox", start=end, end=end)) == []


def test_key_prefixes_come_from_the_chart():
    assert chart.wallet_key(7, "USD").startswith(chart.WALLET_PREFIX)
    assert chart.processor_clearing_key("sandbox", "EUR") == (
        chart.processor_clearing_prefix("sandbox") + "EUR"
    )
    with pytest.raises(ValueError):
        chart.processor_clearing_prefix("Not A Name")
