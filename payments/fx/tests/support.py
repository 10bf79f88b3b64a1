"""Helpers for the FX tests: people, funded wallets and stored rate tables.

People come from the sign-up service, money from a ledger entry shaped like a succeeded card
top-up, and rates from a stored snapshot (exactly what the beat task writes).
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import token_create, user_signup
from core.money import Money
from ledger import chart
from ledger.models import Entry
from ledger.services import credit, debit, entry_post
from payments.fx.models import FxRateSnapshot
from payments.fx.services import fx_home_currency_set

_counter = itertools.count(1)
PASSWORD = "correct horse battery staple"

# Mid-market rates per 1 EUR used by the worked examples (round numbers on purpose).
WORKED_RATES = {
    "USD": "1.0800",
    "GBP": "0.8600",
    "CHF": "0.9400",
    "JPY": "162.50",
    "BRL": "5.9000",
    "INR": "90.2000",
    "KWD": "0.3320",
}


def make_person(handle: str | None = None, *, home_currency: str = "USD"):
    handle = handle or f"fx{next(_counter)}p{timezone.now().microsecond}"
    user = user_signup(handle=handle, email=f"{handle}@example.com", password=PASSWORD)
    return fx_home_currency_set(user=user, currency=home_currency)


def fund(user, amount: int, currency: str) -> Entry:
    """Credit a wallet the way a succeeded card top-up does."""
    money = Money(amount, currency)
    return entry_post(
        code="topup",
        idempotency_key=f"test-topup:{user.pk}:{currency}:{next(_counter)}",
        postings=[
            debit(chart.processor_clearing_key("sandbox", currency), money),
            credit(chart.wallet_key(user.pk, currency), money),
        ],
        reference=f"topup:{user.pk}",
    )


def store_rates(
    rates: dict[str, str] | None = None,
    *,
    as_of: datetime | None = None,
    source: str = "sandbox",
) -> FxRateSnapshot:
    as_of = as_of or timezone.now() - timedelta(seconds=5)
    rates = rates or WORKED_RATES
    assert all(isinstance(Decimal(v), Decimal) for v in rates.values())
    return FxRateSnapshot.objects.create(source=source, base="EUR", as_of=as_of, rates=rates)


@contextmanager
def deliver_tasks_inline():
    """Run Celery tasks (receipts) in-process as they are queued, with Celery's own eager
    mode: the task code runs for real, without a worker. The suite's shared session worker
    would otherwise also pick up other tests' queued tasks while their tables are flushed."""
    from socialpay.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


def client_for(user) -> APIClient:
    client = APIClient()
    _, secret = token_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def postings_of(entry: Entry) -> list[tuple[str, str, int, str]]:
    return sorted(
        (p.account.key, p.direction, p.amount, p.currency)
        for p in entry.postings.select_related("account")
    )
