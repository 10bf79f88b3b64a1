"""Helpers for ledger tests. Test data is set up through the services only."""

from __future__ import annotations

import itertools

import pytest

from core.money import Money
from ledger import chart
from ledger.models import Entry
from ledger.services import credit, debit, entry_post

_keys = itertools.count(1)


def new_key(prefix: str = "test") -> str:
    return f"{prefix}:{next(_keys)}"


def top_up(user_id: int, amount: int, currency: str = "USD", *, processor: str = "sandbox"):
    """Credit a wallet the way a succeeded card top-up does."""
    money = Money(amount, currency)
    return entry_post(
        code="topup",
        idempotency_key=new_key("topup"),
        postings=[
            debit(chart.processor_clearing_key(processor, currency), money),
            credit(chart.wallet_key(user_id, currency), money),
        ],
        reference=f"topup:{user_id}",
    )


def postings_of(entry: Entry) -> list[tuple[str, str, int, str]]:
    return [
        (p.account.key, p.direction, p.amount, p.currency)
        for p in entry.postings.select_related("account").order_by("id")
    ]


@pytest.fixture
def immediate_constraints(django_db_setup):
    """Make the deferred ledger triggers fire at statement end inside the test transaction."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
