"""LEDGER_PREPARED_STATEMENTS: the same money flows with the hot path prepared once per
database session (direct or session-pooled connections) and sent as plain SQL (behind a
transaction pooler, where a session's prepared statements are not there for its next
transaction). Real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.money import Money
from ledger import chart, services
from ledger.errors import InsufficientFunds
from ledger.models import Hold, HoldStatus
from ledger.selectors import balance_of, ledger_verify
from ledger.services import credit, debit, entry_post, hold_create, hold_post, hold_void
from ledger.tests.conftest import new_key, top_up

A, B = chart.wallet_key(11, "USD"), chart.wallet_key(12, "USD")
FEES = chart.fees_key("USD")


def usd(amount: int) -> Money:
    return Money(amount, "USD")


@pytest.fixture(params=[True, False], ids=["prepared", "plain"])
def prepared(request, settings):
    settings.LEDGER_PREPARED_STATEMENTS = request.param
    # A fresh session, so that "prepared once per session" starts from nothing.
    connection.close()
    services._prepared_on.clear()
    return request.param


def _every_flow() -> None:
    """A top-up, a transfer with a fee (a hot-account credit), a refused overdraft, an
    idempotent replay, and a hold that is posted and one that is voided."""
    top_up(11, 1000)
    key = new_key("transfer")
    first = entry_post(
        code="transfer",
        idempotency_key=key,
        postings=[debit(A, usd(300)), credit(B, usd(270)), credit(FEES, usd(30))],
    )
    replay = entry_post(
        code="transfer",
        idempotency_key=key,
        postings=[debit(A, usd(300)), credit(B, usd(270)), credit(FEES, usd(30))],
    )
    assert replay.pk == first.pk
    with pytest.raises(InsufficientFunds):
        entry_post(
            code="transfer",
            idempotency_key=new_key("too-much"),
            postings=[debit(A, usd(5000)), credit(B, usd(5000))],
        )
    legs = [debit(A, usd(100)), credit(chart.payouts_in_transit_key("USD"), usd(100))]
    posted = hold_create(code="payout", idempotency_key=new_key("hold"), postings=legs)
    voided = hold_create(code="payout", idempotency_key=new_key("hold"), postings=legs)
    hold_post(hold=posted, idempotency_key=new_key("hold-post"))
    hold_void(hold=voided)
    assert Hold.objects.get(pk=posted.pk).status == HoldStatus.POSTED
    assert balance_of(account=A).available == usd(1000 - 300 - 100)
    assert balance_of(account=B).available == usd(270)


@pytest.mark.django_db(transaction=True)
def test_every_flow_books_the_same_either_way(prepared):
    with CaptureQueriesContext(connection) as queries:
        _every_flow()
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    if prepared:
        assert "EXECUTE ledger_insert_entry" in sql
        assert "EXECUTE ledger_apply" in sql
    else:
        assert "EXECUTE " not in sql
        assert "PREPARE " not in sql
        assert "plan_cache_mode" not in sql
    assert ledger_verify(hold_max_age=timedelta(days=1)).ok


@pytest.mark.django_db(transaction=True)
def test_plain_sql_leaves_no_state_in_the_database_session(prepared):
    top_up(11, 500)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'ledger%%'")
        statements = cur.fetchone()[0]
        cur.execute("SELECT current_setting('plan_cache_mode')")
        mode = cur.fetchone()[0]
    if prepared:
        assert statements == 4
        assert mode == "force_generic_plan"
    else:
        assert statements == 0
        assert mode == "auto"


@pytest.mark.django_db(transaction=True)
def test_plain_sql_survives_a_new_server_session_for_every_transaction(settings):
    """What a transaction pooler does: the next transaction may run on another server
    session. DISCARD ALL (a session reset) between transactions stands in for that."""
    settings.LEDGER_PREPARED_STATEMENTS = False
    top_up(11, 1000)
    for amount in (10, 20, 30):
        with connection.cursor() as cur:
            cur.execute("DISCARD ALL")
        with transaction.atomic():
            entry_post(
                code="transfer",
                idempotency_key=new_key("pooled"),
                postings=[debit(A, usd(amount)), credit(B, usd(amount))],
            )
    assert balance_of(account=B).available == usd(60)
