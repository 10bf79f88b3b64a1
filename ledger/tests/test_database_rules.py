"""Raw SQL cannot break the ledger: every rule holds in PostgreSQL itself."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from core.money import Money
from ledger import chart
from ledger.models import Account, Entry
from ledger.services import credit, debit, hold_create, hold_void
from ledger.tests.conftest import new_key, top_up

pytestmark = pytest.mark.django_db

WALLET = chart.wallet_key(1, "USD")
CLEARING = chart.processor_clearing_key("sandbox", "USD")


def run(sql: str, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params)


def rejected(sql: str, params=None, *, immediate: bool = False):
    """Run ``sql`` in a savepoint and expect PostgreSQL to refuse it."""
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        run(sql, params)
        if immediate:
            # Deferred constraint triggers otherwise wait for COMMIT.
            run("SET CONSTRAINTS ALL IMMEDIATE")
    return str(exc.value)


@pytest.fixture
def ids():
    top_up(1, 1000)
    return Account.objects.get(key=WALLET).pk, Account.objects.get(key=CLEARING).pk


def insert_entry(key: str) -> str:
    return (
        "INSERT INTO ledger_entry (code, idempotency_key, reference, metadata, fingerprint)"
        f" VALUES ('raw', '{key}', '', '{{}}', 'x')"
    )


def test_unbalanced_entry_cannot_commit(ids):
    wallet, clearing = ids
    message = rejected(
        f"""
        WITH e AS ({insert_entry("raw-unbalanced")} RETURNING id)
        INSERT INTO ledger_posting (entry_id, account_id, direction, amount, currency)
        SELECT e.id, a, d, m, 'USD' FROM e,
            (VALUES ({clearing}, 'D', 100), ({wallet}, 'C', 90)) AS v (a, d, m)
        """,
        immediate=True,
    )
    assert "does not sum to zero" in message


def test_single_posting_entry_cannot_commit(ids):
    wallet, _ = ids
    message = rejected(
        f"""
        WITH e AS ({insert_entry("raw-single")} RETURNING id)
        INSERT INTO ledger_posting (entry_id, account_id, direction, amount, currency)
        SELECT e.id, {wallet}, 'C', 0 + 100, 'USD' FROM e
        """,
        immediate=True,
    )
    assert "at least two are required" in message


def test_entry_without_postings_cannot_commit(ids):
    message = rejected(insert_entry("raw-empty"), immediate=True)
    assert "has 0 posting(s)" in message


def test_posting_added_later_to_a_balanced_entry_is_rejected(ids):
    wallet, _ = ids
    entry = Entry.objects.get()
    rejected(
        "INSERT INTO ledger_posting (entry_id, account_id, direction, amount, currency)"
        " VALUES (%s, %s, 'C', 1, 'USD')",
        [entry.pk, wallet],
        immediate=True,
    )


def test_postings_and_entries_are_append_only(ids):
    entry = Entry.objects.get()
    assert "append-only" in rejected("UPDATE ledger_posting SET amount = amount + 1")
    assert "append-only" in rejected("DELETE FROM ledger_posting")
    assert "append-only" in rejected("UPDATE ledger_entry SET code = 'other'")
    assert "append-only" in rejected("DELETE FROM ledger_entry WHERE id = %s", [entry.pk])


def test_no_session_setting_switches_the_append_only_rule_off(ids):
    """What a session may set (a custom setting such as django-pgtrigger's bypass list) does
    not reach these triggers; only the table's owner could disable them."""
    run("SET LOCAL pgtrigger.ignore = '{ledger_posting_append_only,ledger_entry_append_only}'")
    assert "append-only" in rejected("UPDATE ledger_posting SET amount = amount + 1")
    assert "append-only" in rejected("DELETE FROM ledger_entry")


@pytest.mark.parametrize(
    "table", ["ledger_posting", "ledger_entry", "ledger_account", "ledger_hold", "ledger_holdleg"]
)
def test_truncate_is_rejected(table):
    # Test databases allow TRUNCATE (Django flushes them); every other database does not.
    run("SET LOCAL ledger.allow_truncate = off")
    assert "TRUNCATE" in rejected(f"TRUNCATE {table} CASCADE")


def test_wallet_cannot_go_negative(ids):
    wallet, _ = ids
    message = rejected("UPDATE ledger_account SET balance = -1 WHERE id = %s", [wallet])
    assert "ledger_account_no_overdraft" in message


def test_reservations_cannot_exceed_the_balance(ids):
    wallet, _ = ids
    rejected("UPDATE ledger_account SET pending_out = 1001 WHERE id = %s", [wallet])


def test_platform_accounts_may_go_negative(ids):
    _, clearing = ids
    run("UPDATE ledger_account SET balance = balance - 1 WHERE id = %s", [clearing])
    run("UPDATE ledger_account SET balance = balance + 1 WHERE id = %s", [clearing])


def test_account_identity_is_immutable_and_accounts_are_never_deleted(ids):
    wallet, _ = ids
    assert "identity" in rejected(
        "UPDATE ledger_account SET currency = 'EUR' WHERE id = %s", [wallet]
    )
    rejected("UPDATE ledger_account SET no_overdraft = false WHERE id = %s", [wallet])
    assert "cannot be deleted" in rejected("DELETE FROM ledger_account WHERE id = %s", [wallet])


def test_posting_currency_must_be_the_account_currency(ids):
    wallet, clearing = ids
    message = rejected(
        f"""
        WITH e AS ({insert_entry("raw-currency")} RETURNING id)
        INSERT INTO ledger_posting (entry_id, account_id, direction, amount, currency)
        SELECT e.id, a, d, 100, 'EUR'
        FROM e, (VALUES ({clearing}, 'D'), ({wallet}, 'C')) AS v (a, d)
        """
    )
    assert "ledger_posting_account_currency_fk" in message


def test_posting_amount_must_be_positive(ids):
    wallet, clearing = ids
    rejected(
        f"""
        WITH e AS ({insert_entry("raw-zero")} RETURNING id)
        INSERT INTO ledger_posting (entry_id, account_id, direction, amount, currency)
        SELECT e.id, a, d, 0, 'USD'
        FROM e, (VALUES ({clearing}, 'D'), ({wallet}, 'C')) AS v (a, d)
        """
    )


def test_idempotency_key_is_unique(ids):
    entry = Entry.objects.get()
    rejected(insert_entry(entry.idempotency_key))


def test_hold_moves_once_from_pending(ids):
    hold = hold_create(
        code="payout",
        idempotency_key=new_key(),
        postings=[
            debit(WALLET, Money(100, "USD")),
            credit(chart.payouts_in_transit_key("USD"), Money(100, "USD")),
        ],
    )
    hold_void(hold=hold)
    assert "only move once" in rejected(
        "UPDATE ledger_hold SET status = 'pending', resolved_at = NULL WHERE id = %s", [hold.pk]
    )
    rejected("DELETE FROM ledger_hold WHERE id = %s", [hold.pk])
    rejected("UPDATE ledger_holdleg SET amount = 1")
