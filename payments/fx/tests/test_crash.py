"""A crash at any step of an FX execution leaves nothing half-done.

Each test lets one step of the transaction (module docstring of ``payments.fx.services``)
do its work and then fails, as a process dying there would. Afterwards: no ledger entry,
the quote unused (and still executable), no limit reservation, no receipt in the outbox,
every balance as before. Transactional tests: the service's transaction really commits or
really rolls back, as in production.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction

from ledger import chart
from ledger.errors import InsufficientFunds
from ledger.models import Entry
from ledger.selectors import balance_of, ledger_verify
from payments.fx import services
from payments.fx.models import FxQuote
from payments.fx.tests.support import (
    deliver_tasks_inline,
    fund,
    make_person,
    postings_of,
    store_rates,
)
from payments.wallets.models import Receipt, ReceiptOutbox, SendLimit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _inline_tasks():
    """The outbox is drained in this process right after each commit (Celery's eager mode),
    never by a shared worker while the tables are being emptied after the test."""
    with deliver_tasks_inline():
        yield


CONVERSION_STEPS = ["_quote_lock", "payer_check", "entry_post", "_quote_mark", "receipts_send"]
# A send's payer check also reserves its limits: a crash after it has reserved them.
TRANSFER_STEPS = CONVERSION_STEPS


class Crash(Exception):
    """The process dies right after the step ran."""


def crash_after(monkeypatch, step: str) -> None:
    original = getattr(services, step)

    def step_then_crash(*args, **kwargs):
        original(*args, **kwargs)
        raise Crash(step)

    monkeypatch.setattr(services, step, step_then_crash)


def available(user, currency: str) -> int:
    return balance_of(account=chart.wallet_key(user.pk, currency)).available.amount


def week_used(user) -> int:
    row = SendLimit.objects.filter(user=user).first()
    return 0 if row is None else row.week_used


def assert_nothing_happened(quote: FxQuote) -> None:
    quote.refresh_from_db()
    assert (quote.entry_id, quote.executed_at, quote.kind) == (None, None, "")
    assert not Entry.objects.filter(idempotency_key=quote.ledger_key).exists()
    assert not ReceiptOutbox.objects.exists() and not Receipt.objects.exists()
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []


@pytest.fixture
def people():
    store_rates()
    alice = make_person(home_currency="EUR")
    bob = make_person(home_currency="USD")
    fund(alice, 5000, "EUR")
    return alice, bob


@pytest.mark.parametrize("step", TRANSFER_STEPS)
def test_a_crash_at_any_step_of_a_cross_border_send_leaves_nothing(monkeypatch, people, step):
    alice, bob = people
    quote = services.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=1000
    )
    crash_after(monkeypatch, step)

    with pytest.raises(Crash):
        services.fx_transfer_execute(user=alice, quote_id=quote.pk, to=bob.handle)

    assert_nothing_happened(quote)
    assert available(alice, "EUR") == 5000 and week_used(alice) == 0
    monkeypatch.undo()
    done = services.fx_transfer_execute(user=alice, quote_id=quote.pk, to=bob.handle)
    assert postings_of(done.entry) == sorted(
        [
            (f"wallet:user:{alice.pk}:EUR", "D", 1000, "EUR"),
            ("platform:fx:EUR", "C", 1000, "EUR"),
            ("platform:fx:USD", "D", 1080, "USD"),
            (f"wallet:user:{bob.pk}:USD", "C", 1074, "USD"),
            ("platform:fees:USD", "C", 6, "USD"),
        ]
    )
    assert week_used(alice) == 1080
    assert sorted(Receipt.objects.values_list("kind", flat=True)) == ["fx_received", "fx_sent"]


@pytest.mark.parametrize("step", CONVERSION_STEPS)
def test_a_crash_at_any_step_of_a_conversion_leaves_nothing(monkeypatch, people, step):
    alice, _ = people
    quote = services.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=1000
    )
    crash_after(monkeypatch, step)

    with pytest.raises(Crash):
        services.fx_conversion_execute(user=alice, quote_id=quote.pk)

    assert_nothing_happened(quote)
    assert available(alice, "EUR") == 5000
    monkeypatch.undo()
    done = services.fx_conversion_execute(user=alice, quote_id=quote.pk)
    assert done.entry.code == "fx_conversion" and available(alice, "USD") == 1074
    assert list(Receipt.objects.values_list("kind", flat=True)) == ["fx_converted"]


def test_the_execution_joins_the_callers_transaction(people):
    """Inside a caller's transaction (the API's idempotency record) the execution is a
    savepoint: when the caller fails after it, the payment goes too."""
    alice, bob = people
    quote = services.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=1000
    )

    with pytest.raises(Crash), transaction.atomic(durable=True):
        services.fx_transfer_execute(user=alice, quote_id=quote.pk, to=bob.handle)
        raise Crash("the response could not be stored")

    assert_nothing_happened(quote)
    assert available(alice, "EUR") == 5000 and week_used(alice) == 0


def test_a_refusal_inside_the_transaction_gives_everything_back(people):
    """Insufficient funds is found by the ledger after the quote was locked and the limit
    reserved: both are undone, and the quote can be used once the money is there."""
    alice, bob = people
    quote = services.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=6000
    )
    with pytest.raises(InsufficientFunds):
        services.fx_transfer_execute(user=alice, quote_id=quote.pk, to=bob.handle)
    assert_nothing_happened(quote)
    assert week_used(alice) == 0
    fund(alice, 1000, "EUR")
    services.fx_transfer_execute(user=alice, quote_id=quote.pk, to=bob.handle)
    assert available(alice, "EUR") == 0
