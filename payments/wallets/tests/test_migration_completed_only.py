"""Migration ``wallets.0002_transfer_completed_only`` on a database that still holds rows of
the older two-step transfer flow: a booked one is completed, an unbooked one is removed and
its limit reservation given back, and afterwards the database refuses any other status."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core.money import Money
from ledger import chart
from ledger.services import credit, debit, entry_post
from payments.wallets.limits import reserve_params
from payments.wallets.tests.support import fund, person

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("wallets", "0001_initial")]
AFTER = [("wallets", "0002_transfer_completed_only")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def insert_pending(sender, recipient, amount: int, key: str) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO payments_transfer (sender_id, recipient_id, amount, currency,"
            " limit_amount, note, visibility, status, failure_code, client_key, created_at)"
            " VALUES (%s, %s, %s, 'USD', %s, '', 'private', 'pending', '', %s, %s) RETURNING id",
            [sender.pk, recipient.pk, amount, amount, key, timezone.now()],
        )
        return cur.fetchone()[0]


def test_unfinished_transfers_are_settled_before_the_check_is_added():
    alice, bob = person(), person()
    fund(alice, 1000)
    migrate(BEFORE)
    try:
        booked = insert_pending(alice, bob, 300, "old-booked")
        unbooked = insert_pending(alice, bob, 200, "old-unbooked")
        params = reserve_params(user_id=alice.pk, amount=500)
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO payments_sendlimit (user_id, week_start, week_used, minute_start,"
                " minute_count) VALUES (%s, %s, 500, %s, 2)",
                [alice.pk, params["week"], params["now"]],
            )
        money = Money(300, "USD")
        entry = entry_post(
            code="transfer",
            idempotency_key=f"transfer:{booked}",
            postings=[
                debit(chart.wallet_key(alice.pk, "USD"), money),
                credit(chart.wallet_key(bob.pk, "USD"), money),
            ],
            reference=f"transfer:{booked}",
        )
    finally:
        migrate(AFTER)

    with connection.cursor() as cur:
        cur.execute("SELECT id, status, entry_id FROM payments_transfer ORDER BY id")
        assert cur.fetchall() == [(booked, "completed", entry.pk)]
        cur.execute("SELECT week_used FROM payments_sendlimit WHERE user_id = %s", [alice.pk])
        assert cur.fetchone() == (300,)
    assert unbooked != booked
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE payments_transfer SET status = 'pending' WHERE id = %s", [booked])
