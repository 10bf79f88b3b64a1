"""The partitioned posting and balance-delta tables (migration 0004): every rule of the
ledger holds on each partition addressed directly, entries cross partition boundaries, and
the ensure step keeps partitions ahead of the id sequence."""

from __future__ import annotations

import contextlib
import importlib
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from core.money import Money
from ledger import chart, partitions, tasks
from ledger.models import Account, Posting
from ledger.selectors import balance_of, ledger_verify
from ledger.services import credit, debit, entry_post
from ledger.tests.conftest import new_key, top_up

pytestmark = pytest.mark.django_db

WIDTH = partitions.POSTING_PARTITION_WIDTH
WALLET = chart.wallet_key(1, "USD")
OTHER = chart.wallet_key(2, "USD")
CLEARING = chart.processor_clearing_key("sandbox", "USD")


def run(sql: str, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def rejected(sql: str, params=None, *, immediate: bool = False) -> str:
    """Run ``sql`` in a savepoint and expect PostgreSQL to refuse it."""
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        run(sql, params)
        if immediate:
            run("SET CONSTRAINTS ALL IMMEDIATE")
    return str(exc.value)


def posting_partitions() -> list[str]:
    return [
        name
        for (name,) in run(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'ledger_posting'::regclass ORDER BY c.relname"
        )
    ]


def partition_of(posting_id: int) -> str:
    return f"ledger_posting_p{posting_id // WIDTH:06d}"


@contextlib.contextmanager
def sequence_at(value: int):
    """Move the posting id sequence (not transactional), and back afterwards: the rows
    the test writes are rolled back with its transaction."""
    (last, called), *_ = run("SELECT last_value, is_called FROM ledger_posting_id_seq")
    run("SELECT setval('ledger_posting_id_seq', %s)", [value])
    try:
        yield
    finally:
        run("SELECT setval('ledger_posting_id_seq', %s, %s)", [last, called])


@pytest.fixture
def funded():
    top_up(1, 1000)
    wallet = Account.objects.get(key=WALLET)
    clearing = Account.objects.get(key=CLEARING)
    return wallet, clearing


def test_the_tables_are_partitioned_with_the_documented_width():
    migration = importlib.import_module("ledger.migrations.0004_partitioned_postings_and_deltas")
    assert migration.POSTING_PARTITION_WIDTH == WIDTH
    kinds = dict(
        run(
            "SELECT relname, relkind FROM pg_class"
            " WHERE relname IN ('ledger_posting', 'ledger_balancedelta')"
        )
    )
    assert kinds == {"ledger_posting": "p", "ledger_balancedelta": "p"}
    bounds = run(
        "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c"
        " WHERE c.relname = 'ledger_posting_p000001'"
    )
    assert bounds == [(f"FOR VALUES FROM ('{WIDTH}') TO ('{2 * WIDTH}')",)]
    described = partitions.partitions_describe()
    assert sum(p.parent == "ledger_balancedelta" for p in described) == 8
    assert {p.table for p in described if p.parent == "ledger_posting"} == set(posting_partitions())


def test_every_posting_partition_carries_every_rule():
    rules = run(
        """
        SELECT c.relname, array_agg(t.tgname::text ORDER BY t.tgname)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
        WHERE i.inhparent = 'ledger_posting'::regclass GROUP BY c.relname
        """
    )
    assert len(rules) == len(posting_partitions()) >= 2
    for name, triggers in rules:
        assert triggers == sorted(
            ["ledger_posting_append_only", "ledger_posting_balanced", f"{name}_no_truncate"]
        )
    foreign_keys = run(
        "SELECT conrelid::regclass::text, count(*) FROM pg_constraint"
        " WHERE contype = 'f' AND conrelid::regclass::text LIKE 'ledger_posting_p%%'"
        " GROUP BY 1"
    )
    assert sorted(foreign_keys) == sorted((name, 2) for name in posting_partitions())


def test_update_delete_and_truncate_of_a_partition_are_refused(funded):
    posting = Posting.objects.order_by("id").first()
    table = partition_of(posting.pk)
    assert "append-only" in rejected(f"UPDATE {table} SET amount = amount + 1")
    assert "append-only" in rejected(f"DELETE FROM {table} WHERE id = %s", [posting.pk])
    # Test databases allow TRUNCATE (Django flushes them); every other database does not.
    # (TRUNCATE also needs the top-up's deferred checks to have run.)
    run("SET CONSTRAINTS ALL IMMEDIATE")
    run("SET LOCAL ledger.allow_truncate = off")
    assert "TRUNCATE" in rejected(f"TRUNCATE {table}")
    assert "TRUNCATE" in rejected("TRUNCATE ledger_posting CASCADE")
    assert Posting.objects.filter(pk=posting.pk, amount=posting.amount).exists()


def test_an_unbalanced_entry_written_into_a_partition_cannot_commit(funded):
    wallet, clearing = funded
    (next_id,) = run("SELECT nextval('ledger_posting_id_seq')")[0]
    table = partition_of(next_id + 1)
    message = rejected(
        f"""
        WITH e AS (
            INSERT INTO ledger_entry (code, idempotency_key, reference, metadata, fingerprint)
            VALUES ('raw', 'raw-partition', '', '{{}}', 'x') RETURNING id)
        INSERT INTO {table} (id, entry_id, account_id, direction, amount, currency)
        SELECT nextval('ledger_posting_id_seq'), e.id, a, d, 100, 'USD' FROM e,
            (VALUES ({clearing.pk}, 'D'), ({wallet.pk}, 'D')) AS v (a, d)
        """,
        immediate=True,
    )
    assert "does not sum to zero" in message


def test_a_posting_in_another_currency_is_refused_by_the_partition(funded):
    wallet, _ = funded
    entry = Posting.objects.order_by("id").first().entry_id
    (next_id,) = run("SELECT nextval('ledger_posting_id_seq')")[0]
    message = rejected(
        f"INSERT INTO {partition_of(next_id + 1)}"
        " (id, entry_id, account_id, direction, amount, currency)"
        " VALUES (nextval('ledger_posting_id_seq'), %s, %s, 'C', 5, 'EUR')",
        [entry, wallet.pk],
    )
    assert "ledger_posting_account_currency_fk" in message


def test_balance_delta_partitions_keep_their_rules(funded):
    wallet, _ = funded
    rows = run(
        "SELECT tableoid::regclass::text FROM ledger_balancedelta WHERE account_id = %s",
        [wallet.pk],
    )
    assert rows and rows[0][0].startswith("ledger_balancedelta_h")
    message = rejected(
        f"INSERT INTO {rows[0][0]} (id, account_id, amount)"
        " VALUES (nextval('ledger_balancedelta_id_seq'), %s, 0)",
        [wallet.pk],
    )
    assert "ledger_delta_not_zero" in message


def test_an_entry_crosses_a_partition_boundary_and_the_ledger_still_verifies(funded):
    fee = chart.fees_key("USD")
    # The next boundary above every id so far, with partitions ensured past it.
    (last,) = run("SELECT last_value FROM ledger_posting_id_seq")[0]
    boundary = (last // WIDTH + 1) * WIDTH
    with sequence_at(boundary - 2):
        partitions.posting_partitions_ensure()
        entry = entry_post(
            code="tip",
            idempotency_key=new_key(),
            postings=[
                debit(WALLET, Money(300, "USD")),
                credit(OTHER, Money(270, "USD")),
                credit(fee, Money(30, "USD")),
            ],
        )
        rows = run(
            "SELECT id, tableoid::regclass::text FROM ledger_posting WHERE entry_id = %s"
            " ORDER BY id",
            [entry.pk],
        )
        run("SET CONSTRAINTS ALL IMMEDIATE")  # the zero-sum check spans both partitions
    assert [pid for pid, _ in rows] == [boundary - 1, boundary, boundary + 1]
    assert {table for _, table in rows} == {partition_of(boundary - 1), partition_of(boundary)}
    assert balance_of(account=WALLET).posted == Money(700, "USD")
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []
    # And a tampered balance is still found across partitions.
    run("UPDATE ledger_account SET balance = balance + 7 WHERE key = %s", [OTHER])
    findings = ledger_verify(hold_max_age=timedelta(days=1)).findings
    assert findings == [f"balance drift: {OTHER} cached 277 but postings sum to 270"]


def test_ensure_creates_what_is_missing_and_is_idempotent():
    assert partitions.posting_partitions_ensure() == 0
    before = posting_partitions()
    (last,) = run("SELECT last_value FROM ledger_posting_id_seq")[0]
    top = (last // WIDTH + len(before)) * WIDTH + 5
    with sequence_at(top):
        created = partitions.posting_partitions_ensure(ahead=2)
        after = posting_partitions()
        assert created >= 1 and len(after) == len(before) + created
        # Partitions up to two widths above the sequence exist, and no more are made.
        assert partition_of(top + 2 * WIDTH) in after
        assert partitions.posting_partitions_ensure(ahead=2) == 0
        assert tasks.posting_partitions_ensure() == 1  # the default keeps three ahead
        assert posting_partitions() == sorted({*after, partition_of(top + 3 * WIDTH)})
    with pytest.raises(ValueError):
        partitions.posting_partitions_ensure(ahead=0)


def test_beat_keeps_the_partitions_ahead(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-posting-partitions-ensure"]
    assert entry["task"] == "ledger.tasks.posting_partitions_ensure"
    assert entry["schedule"] <= timedelta(minutes=5)
