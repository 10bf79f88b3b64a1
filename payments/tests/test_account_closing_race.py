"""Closing an account while its owner pays the balance away, on real threads and the real
PostgreSQL: the closing and the payment serialise on the person's row (the payer rule
share-locks it, closing locks it for update), so either the payment comes first and the
account closes with an empty wallet, or the closing comes first and is refused because
the wallet still holds money. Never a closed account with money in it."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection

from accounts.closing import AccountHoldsMoney, account_close
from accounts.models import User
from core.money import Money
from ledger.selectors import balances_of_owner
from payments.wallets.tests.support import fund, person
from payments.wallets.transfers import transfer_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.many_connections]


@pytest.mark.parametrize("round_", range(4))
def test_closing_races_a_payment_of_the_whole_balance(round_):
    ada, bob = person(), person()
    fund(ada, 1000)
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def pay():
        try:
            barrier.wait()
            transfer_create(
                sender=ada, to=bob, money=Money(1000, "USD"), client_key=uuid.uuid4().hex
            )
            outcome["pay"] = "paid"
        except Exception as exc:  # the payer rule refuses a closed (frozen) payer
            outcome["pay"] = getattr(exc, "code", repr(exc))
        finally:
            connection.close()

    def close():
        try:
            barrier.wait()
            account_close(user=ada, confirm_handle=ada.handle)
            outcome["close"] = "closed"
        except AccountHoldsMoney:
            outcome["close"] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=pay), threading.Thread(target=close)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    closed = User.objects.get(pk=ada.pk).closed_at is not None
    balance = {b.currency: b.posted.amount for b in balances_of_owner(owner_id=ada.pk)}
    assert outcome in (
        {"pay": "paid", "close": "closed"},
        {"pay": "paid", "close": "refused"},
    ), outcome
    assert closed == (outcome["close"] == "closed")
    # Whichever came first, the money left the wallet once and nothing is stranded.
    assert balance == {"USD": 0}
