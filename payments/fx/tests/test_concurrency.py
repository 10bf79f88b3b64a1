"""Ten concurrent executions of one quote, through the service and through the API with ten
different Idempotency-Keys: one ledger entry, one success, nine ``quote_used``.

Transactional tests: every service call commits, as in production.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from ledger import chart
from ledger.models import Entry
from ledger.selectors import balance_of, ledger_verify
from payments.fx import services
from payments.fx.models import FxQuote
from payments.fx.tests.support import client_for, fund, make_person, store_rates

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.many_connections]


def in_threads(n: int, work):
    barrier = threading.Barrier(n)

    def run(i: int):
        try:
            barrier.wait(timeout=30)
            return work(i)
        except Exception as exc:  # collected and asserted on by the test
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_ten_concurrent_transfers_of_one_quote_book_one_entry():
    store_rates()
    alice = make_person(home_currency="EUR")
    bob = make_person(home_currency="USD")
    fund(alice, 10_000, "EUR")
    quote = services.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=1000
    )

    results = in_threads(
        10, lambda i: services.fx_transfer_execute(user=alice, quote_id=quote.pk, to=bob.handle)
    )

    wins = [r for r in results if isinstance(r, FxQuote)]
    losses = [r for r in results if not isinstance(r, FxQuote)]
    assert len(wins) == 1, results
    assert all(getattr(r, "code", None) == "quote_used" for r in losses), losses
    assert Entry.objects.filter(idempotency_key=quote.ledger_key).count() == 1
    assert balance_of(account=chart.wallet_key(alice.pk, "EUR")).available.amount == 9000
    assert balance_of(account=chart.wallet_key(bob.pk, "USD")).available.amount == 1074
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []


def test_ten_concurrent_api_conversions_with_different_keys_book_one_entry():
    store_rates()
    carol = make_person(home_currency="USD")
    fund(carol, 10_000, "USD")
    quote = services.fx_quote_create(
        user=carol, source_currency="USD", target_currency="JPY", source_amount=10_000
    )
    clients = [client_for(carol) for _ in range(10)]

    responses = in_threads(
        10,
        lambda i: clients[i].post(
            "/api/v1/fx/conversions",
            {"quote": str(quote.pk)},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"concurrent-{i:04d}",
        ),
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9, [getattr(r, "data", r) for r in responses]
    assert {r.data["error"]["code"] for r in responses if r.status_code == 409} == {"quote_used"}
    assert Entry.objects.filter(idempotency_key=quote.ledger_key).count() == 1
    assert balance_of(account=chart.wallet_key(carol.pk, "JPY")).available.amount == 14970
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []
