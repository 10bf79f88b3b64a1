"""Ledger services: idempotency, domain errors, holds, reversals, folding."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.exceptions import DomainError
from core.money import Money
from ledger import chart
from ledger.models import Account, AuditEvent, BalanceDelta, Entry, Hold, HoldStatus, Posting
from ledger.selectors import balance_of, ledger_verify
from ledger.services import (
    Leg,
    account_get_or_create,
    balance_deltas_fold,
    credit,
    debit,
    entry_post,
    entry_reverse,
    hold_create,
    hold_post,
    hold_void,
)
from ledger.tests.conftest import new_key, top_up

pytestmark = pytest.mark.django_db

A, B = chart.wallet_key(1, "USD"), chart.wallet_key(2, "USD")
FEES = chart.fees_key("USD")


def usd(amount: int) -> Money:
    return Money(amount, "USD")


def transfer(amount: int, *, key: str | None = None, src: str = A, dst: str = B) -> Entry:
    return entry_post(
        code="transfer",
        idempotency_key=key or new_key(),
        postings=[debit(src, usd(amount)), credit(dst, usd(amount))],
        reference="transfer:1",
        metadata={"note": "rent"},
    )


def available(key: str) -> int:
    return balance_of(account=key).available.amount


@pytest.fixture(autouse=True)
def _consistent_afterwards():
    yield
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []


# --- idempotency ---------------------------------------------------------------------------
def test_replay_with_same_content_returns_the_original_entry():
    top_up(1, 1000)
    first = transfer(300, key="t-1")
    again = transfer(300, key="t-1")
    assert again.pk == first.pk
    assert Posting.objects.filter(entry=first).count() == 2
    assert available(A) == 700
    assert available(B) == 300


def test_replay_is_independent_of_posting_order():
    top_up(1, 1000)
    first = transfer(300, key="t-order")
    again = entry_post(
        code="transfer",
        idempotency_key="t-order",
        postings=[credit(B, usd(300)), debit(A, usd(300))],
        reference="transfer:1",
        metadata={"note": "rent"},
    )
    assert again.pk == first.pk


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 301},
        {"dst": chart.wallet_key(3, "USD")},
    ],
)
def test_same_key_other_content_is_an_error(change):
    top_up(1, 1000)
    transfer(300, key="t-2")
    with pytest.raises(DomainError) as exc:
        transfer(change.get("amount", 300), key="t-2", dst=change.get("dst", B))
    assert (exc.value.code, exc.value.status) == ("idempotency_key_reused", 422)
    assert available(A) == 700


def test_a_replay_after_the_money_was_spent_still_returns_the_original():
    top_up(1, 300)
    first = transfer(300, key="t-3")
    assert transfer(300, key="t-3").pk == first.pk


# --- domain errors --------------------------------------------------------------------------
def _expect(code: str, status: int, **kwargs):
    before = Entry.objects.count()
    with pytest.raises(DomainError) as exc:
        entry_post(code="transfer", idempotency_key=new_key(), **kwargs)
    assert (exc.value.code, exc.value.status) == (code, status)
    assert Entry.objects.count() == before
    return exc.value


def test_insufficient_funds_writes_nothing():
    top_up(1, 100)
    error = _expect("insufficient_funds", 422, postings=[debit(A, usd(101)), credit(B, usd(101))])
    assert error.details == {"account": A, "available": 100}
    assert available(A) == 100
    assert not Account.objects.filter(key=B, balance__gt=0).exists()


def test_unfolded_credits_are_spendable():
    top_up(1, 60)
    top_up(1, 40)
    assert BalanceDelta.objects.filter(account__key=A).count() == 2
    transfer(100)
    assert available(A) == 0
    assert not BalanceDelta.objects.filter(account__key=A).exists()  # folded under the lock


def test_currency_mismatch():
    top_up(1, 1000)
    _expect(
        "currency_mismatch",
        422,
        postings=[
            debit(A, Money(100, "EUR")),
            credit(chart.wallet_key(2, "EUR"), Money(100, "EUR")),
        ],
    )


def test_unbalanced_entry():
    top_up(1, 1000)
    _expect("unbalanced_entry", 422, postings=[debit(A, usd(100)), credit(B, usd(99))])
    _expect("unbalanced_entry", 422, postings=[debit(A, usd(100))])
    _expect("unbalanced_entry", 422, postings=[])
    _expect(
        "unbalanced_entry",
        422,
        postings=[
            debit(A, usd(100)),
            credit(chart.wallet_key(2, "EUR"), Money(100, "EUR")),
        ],
    )


def test_accounts_must_be_different():
    top_up(1, 1000)
    _expect("accounts_must_be_different", 422, postings=[debit(A, usd(5)), credit(A, usd(5))])


@pytest.mark.parametrize("amount", [0, -5])
def test_amount_must_be_positive(amount):
    _expect(
        "amount_must_be_positive", 422, postings=[debit(A, usd(amount)), credit(B, usd(amount))]
    )


def test_unknown_account():
    _expect("account_not_found", 404, postings=[debit("nowhere:USD", usd(5)), credit(B, usd(5))])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", "Not A Code"),
        ("code", ""),
        ("idempotency_key", ""),
        ("idempotency_key", "x" * 129),
        ("idempotency_key", "with space"),
        ("reference", "r" * 201),
        ("metadata", {"x": 1.5}),
        ("metadata", ["not", "a", "dict"]),
        ("metadata", {"x": "y" * 5000}),
    ],
)
def test_malformed_entries(field, value):
    top_up(1, 1000)
    kwargs = {
        "code": "transfer",
        "idempotency_key": new_key(),
        "postings": [debit(A, usd(1)), credit(B, usd(1))],
        field: value,
    }
    with pytest.raises(DomainError) as exc:
        entry_post(**kwargs)
    assert exc.value.code == "invalid_entry"


def test_postings_must_be_legs_of_money():
    with pytest.raises(TypeError):
        entry_post(
            code="transfer",
            idempotency_key=new_key(),
            postings=[("A", "D", 1), ("B", "C", 1)],
        )
    with pytest.raises(TypeError):
        Leg(account=A, direction="D", money=Money(1.5, "USD"))


def test_limit_on_legs():
    legs = [debit(chart.wallet_key(i, "USD"), usd(1)) for i in range(1, 17)]
    _expect("unbalanced_entry", 422, postings=[*legs, credit(FEES, usd(16))])


def test_unsupported_currency_accounts_are_not_created(settings):
    settings.SUPPORTED_CURRENCIES = ["USD"]
    _expect(
        "unsupported_currency",
        422,
        postings=[
            debit("platform:processor_clearing:sandbox:EUR", Money(5, "EUR")),
            credit("wallet:user:1:EUR", Money(5, "EUR")),
        ],
    )


# --- accounts -------------------------------------------------------------------------------
def test_account_get_or_create_is_idempotent_and_detects_conflicts():
    one = account_get_or_create(
        key="platform:reserve:USD", kind="equity", currency="USD", no_overdraft=False
    )
    two = account_get_or_create(
        key="platform:reserve:USD", kind="equity", currency="USD", no_overdraft=False
    )
    assert one.pk == two.pk
    with pytest.raises(DomainError) as exc:
        account_get_or_create(
            key="platform:reserve:USD", kind="equity", currency="USD", no_overdraft=True
        )
    assert (exc.value.code, exc.value.status) == ("account_conflict", 409)
    with pytest.raises(DomainError):
        account_get_or_create(key="x", kind="nonsense", currency="USD", no_overdraft=False)


def test_chart_accounts_are_created_with_their_attributes():
    top_up(7, 10)
    wallet = Account.objects.get(key=chart.wallet_key(7, "USD"))
    assert (wallet.kind, wallet.no_overdraft, wallet.owner_id) == ("liability", True, 7)
    clearing = Account.objects.get(key=chart.processor_clearing_key("sandbox", "USD"))
    assert (clearing.kind, clearing.no_overdraft, clearing.owner_id) == ("asset", False, None)
    assert chart.account_spec(chart.losses_key("USD")).kind == "expense"
    assert chart.account_spec(chart.fx_key("EUR")).kind == "equity"
    assert chart.account_spec(chart.escrow_key("USD")).kind == "liability"
    assert chart.account_spec("platform:unknown:USD") is None
    with pytest.raises(ValueError):
        chart.wallet_key(0, "USD")


# --- holds ----------------------------------------------------------------------------------
def payout_hold(amount: int, *, key: str | None = None) -> Hold:
    return hold_create(
        code="payout",
        idempotency_key=key or new_key(),
        postings=[debit(A, usd(amount)), credit(chart.payouts_in_transit_key("USD"), usd(amount))],
        reference="payout:9",
    )


def test_hold_reserves_money():
    top_up(1, 1000)
    payout_hold(700)
    assert available(A) == 300
    with pytest.raises(DomainError) as exc:
        transfer(301)
    assert exc.value.code == "insufficient_funds"
    with pytest.raises(DomainError) as exc:
        payout_hold(301)
    assert exc.value.code == "insufficient_funds"
    transfer(300)
    assert available(A) == 0


def test_hold_create_is_idempotent():
    top_up(1, 1000)
    first = payout_hold(100, key="h-1")
    assert payout_hold(100, key="h-1").pk == first.pk
    assert available(A) == 900
    with pytest.raises(DomainError) as exc:
        payout_hold(200, key="h-1")
    assert exc.value.code == "idempotency_key_reused"


def test_hold_posts_exactly_once():
    top_up(1, 1000)
    hold = payout_hold(400)
    entry = hold_post(hold=hold, idempotency_key="post-1")
    assert hold_post(hold=hold.pk, idempotency_key="post-1").pk == entry.pk
    for attempt in (
        lambda: hold_post(hold=hold, idempotency_key="post-2"),
        lambda: hold_void(hold=hold),
    ):
        with pytest.raises(DomainError) as exc:
            attempt()
        assert (exc.value.code, exc.value.status) == ("hold_already_resolved", 409)
    hold.refresh_from_db()
    assert hold.status == HoldStatus.POSTED and hold.posted_entry_id == entry.pk
    balance = balance_of(account=A)
    assert (balance.posted, balance.pending_out) == (usd(600), usd(0))
    assert entry.code == "payout" and entry.reference == "payout:9"


def test_hold_void_is_idempotent_and_final():
    top_up(1, 1000)
    hold = payout_hold(400)
    hold_void(hold=hold)
    assert hold_void(hold=hold).status == HoldStatus.VOIDED
    assert available(A) == 1000
    with pytest.raises(DomainError) as exc:
        hold_post(hold=hold, idempotency_key=new_key())
    assert exc.value.code == "hold_already_resolved"


def test_hold_post_key_must_be_fresh():
    top_up(1, 1000)
    used = transfer(1).idempotency_key
    hold = payout_hold(10)
    with pytest.raises(DomainError) as exc:
        hold_post(hold=hold, idempotency_key=used)
    assert exc.value.code == "idempotency_key_reused"
    assert Hold.objects.get(pk=hold.pk).status == HoldStatus.PENDING


# --- reversals ------------------------------------------------------------------------------
def test_reversal_restores_balances_once_and_records_the_actor():
    top_up(1, 1000)
    original = entry_post(
        code="tip",
        idempotency_key=new_key(),
        postings=[debit(A, usd(500)), credit(B, usd(450)), credit(FEES, usd(50))],
    )
    reversal = entry_reverse(entry=original, idempotency_key="rev-1", actor_id=99, reason="bug")
    assert reversal.code == "reversal" and reversal.reverses_id == original.pk
    assert [(p.account.key, p.direction, p.amount) for p in reversal.postings.order_by("id")] == [
        (A, "C", 500),
        (B, "D", 450),
        (FEES, "D", 50),
    ]
    assert (available(A), available(B), balance_of(account=FEES).posted.amount) == (1000, 0, 0)
    event = AuditEvent.objects.get()
    assert (event.actor_id, event.action, event.entry_id) == (99, "entry_reverse", reversal.pk)
    assert event.details == {"reverses": original.pk, "reason": "bug"}

    assert entry_reverse(entry=original, idempotency_key="rev-1").pk == reversal.pk
    with pytest.raises(DomainError) as exc:
        entry_reverse(entry=original, idempotency_key="rev-2")
    assert (exc.value.code, exc.value.status) == ("entry_already_reversed", 409)
    with pytest.raises(DomainError) as exc:
        entry_reverse(entry=reversal, idempotency_key="rev-3")
    assert exc.value.code == "entry_not_reversible"


def test_reversal_cannot_overdraw_the_credited_wallet():
    top_up(1, 1000)
    original = transfer(1000)
    transfer(1000, src=B, dst=chart.wallet_key(3, "USD"))
    with pytest.raises(DomainError) as exc:
        entry_reverse(entry=original, idempotency_key=new_key())
    assert exc.value.code == "insufficient_funds"
    assert not Entry.objects.filter(reverses=original).exists()


# --- folding --------------------------------------------------------------------------------
def test_fold_moves_deltas_into_cached_balances_without_changing_any_balance():
    for user in (1, 2, 3):
        top_up(user, 100 * user)
    entry_post(
        code="tip",
        idempotency_key=new_key(),
        postings=[debit(A, usd(100)), credit(B, usd(90)), credit(FEES, usd(10))],
    )
    before = {k: balance_of(account=k).posted for k in (A, B, FEES)}
    assert BalanceDelta.objects.exists()
    assert balance_deltas_fold(limit=1000) >= 3
    assert not BalanceDelta.objects.exists()
    assert {k: balance_of(account=k).posted for k in (A, B, FEES)} == before
    assert Account.objects.get(key=FEES).balance == 10
    assert balance_deltas_fold() == 0
    with pytest.raises(ValueError):
        balance_deltas_fold(limit=0)


def test_a_session_that_lost_its_prepared_statements_prepares_again():
    from django.db import connection

    from ledger import services

    top_up(1, 100)
    with connection.cursor() as cur:
        cur.execute("DEALLOCATE ALL")
    raw = connection.connection
    services._prepared_on.add((id(raw), raw.get_backend_pid()))  # believed prepared
    transfer(10)  # EXECUTE fails; the service prepares again and retries
    assert available(B) == 10


def test_inside_a_callers_transaction_the_entry_commits_or_vanishes_with_it():
    from django.db import transaction

    top_up(1, 100)
    with transaction.atomic():
        with pytest.raises(DomainError):
            transfer(1000)  # a domain error leaves the caller's transaction usable
        kept = transfer(10)
    with pytest.raises(RuntimeError), transaction.atomic():
        lost = transfer(20)
        raise RuntimeError("the caller's business write failed")
    assert Entry.objects.filter(pk=kept.pk).exists()
    assert not Entry.objects.filter(pk=lost.pk).exists()
    assert available(A) == 90
