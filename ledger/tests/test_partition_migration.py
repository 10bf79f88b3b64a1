"""Migration 0004 partitions a populated ledger in place: every posting and unfolded delta
keeps its id and values, the id sequences go on where they were, and every rule holds on
the partitioned tables."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from core.money import Money
from ledger import chart
from ledger.selectors import balance_of, ledger_verify
from ledger.services import credit, debit, entry_post
from ledger.tests.conftest import new_key, top_up

BEFORE = [("ledger", "0003_test_databases_allow_truncate")]


def rows(sql: str) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def relkinds() -> dict[str, str]:
    return dict(
        rows(
            "SELECT relname, relkind::text FROM pg_class"
            " WHERE relname IN ('ledger_posting', 'ledger_balancedelta')"
        )
    )


def tip(amount: int):
    money = Money(amount, "USD")
    fee = Money(amount // 10, "USD")
    return entry_post(
        code="tip",
        idempotency_key=new_key(),
        postings=[
            debit(chart.wallet_key(1, "USD"), money),
            credit(chart.wallet_key(2, "USD"), money - fee),
            credit(chart.fees_key("USD"), fee),
        ],
    )


@pytest.mark.django_db(transaction=True)
def test_a_populated_ledger_is_partitioned_in_place():
    MigrationExecutor(connection).migrate(BEFORE)
    assert relkinds() == {"ledger_posting": "r", "ledger_balancedelta": "r"}
    top_up(1, 5000)
    for amount in (100, 250, 990):
        tip(amount)
    postings = rows("SELECT * FROM ledger_posting ORDER BY id")
    deltas = rows("SELECT id, account_id, amount FROM ledger_balancedelta ORDER BY id")
    assert len(postings) == 11 and deltas

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert relkinds() == {"ledger_posting": "p", "ledger_balancedelta": "p"}
    assert rows("SELECT * FROM ledger_posting ORDER BY id") == postings
    assert deltas == rows("SELECT id, account_id, amount FROM ledger_balancedelta ORDER BY id")
    assert rows("SELECT count(*) FROM ledger_posting_p000000") == [(11,)]
    # The sequences go on where they were.
    entry = tip(10)
    new_ids = [r[0] for r in rows(f"SELECT id FROM ledger_posting WHERE entry_id = {entry.pk}")]
    assert min(new_ids) > postings[-1][0]
    assert balance_of(account=chart.wallet_key(2, "USD")).posted == Money(1215, "USD")
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []
    # The rules came along.
    with pytest.raises(IntegrityError), transaction.atomic():
        rows("UPDATE ledger_posting_p000000 SET amount = amount + 1")
    with pytest.raises(IntegrityError), transaction.atomic():
        rows(f"INSERT INTO ledger_balancedelta (account_id, amount) VALUES ({deltas[0][1]}, 0)")


@pytest.mark.django_db(transaction=True)
def test_the_partitioning_can_be_reversed_with_the_rows():
    top_up(1, 700)
    postings = rows("SELECT * FROM ledger_posting ORDER BY id")
    try:
        MigrationExecutor(connection).migrate(BEFORE)
        assert relkinds() == {"ledger_posting": "r", "ledger_balancedelta": "r"}
        assert rows("SELECT * FROM ledger_posting ORDER BY id") == postings
        with pytest.raises(IntegrityError), transaction.atomic():
            rows("DELETE FROM ledger_posting")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert relkinds() == {"ledger_posting": "p", "ledger_balancedelta": "p"}
