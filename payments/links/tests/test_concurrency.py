"""A use-limited link is never over-used: real threads, real PostgreSQL, committed
transactions (the conditional UPDATE of the link row decides, a CHECK stands behind it)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from core.money import Money
from ledger.selectors import ledger_verify
from payments.creators.tests.factories import available, connect_with_retry, fund, key, make_user
from payments.links import errors, services
from payments.links.models import LinkPayment, PaymentLink

pytestmark = pytest.mark.django_db(transaction=True)

PAYERS = 12
USES = 3


@pytest.fixture(autouse=True)
def _no_receipts(monkeypatch):
    """Committed for real: on-commit wake-ups would reach another module's worker."""
    from payments.wallets import receipts

    monkeypatch.setattr(receipts, "receipts_send", lambda specs, **_: None)


def test_a_use_limited_link_is_never_over_used():
    owner = make_user()
    payers = [make_user() for _ in range(PAYERS)]
    for p in payers:
        fund(p, 1000)
    link = services.link_create(
        owner=owner, kind="fixed", currency="USD", amount=Money(400, "USD"), max_uses=USES
    )
    barrier = threading.Barrier(PAYERS)

    def pay(payer):
        try:
            connect_with_retry()
            barrier.wait()
            try:
                services.link_pay(payer=payer, slug=link.slug, request_key=key())
                return "paid"
            except errors.LinkUsedUp:
                return "used_up"
        finally:
            connection.close()

    with ThreadPoolExecutor(PAYERS) as pool:
        outcomes = list(pool.map(pay, payers))
    assert outcomes.count("paid") == USES and outcomes.count("used_up") == PAYERS - USES
    link = PaymentLink.objects.get(pk=link.pk)
    assert link.uses == USES
    assert LinkPayment.objects.filter(link=link, status="completed").count() == USES
    assert available(owner) == USES * 360
    assert sum(available(p) for p in payers) == PAYERS * 1000 - USES * 400
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []
