"""Receipts of FX payments, queued on commit and delivered by the receipts task (run
in-process): the recipient sees what arrived, what was sent and the rate; the sender sees
it too; once per side, even when the task runs twice."""

from __future__ import annotations

import pytest

from accounts.models import Notification
from payments.fx import services
from payments.fx.tests.support import deliver_tasks_inline, fund, make_person, store_rates

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _inline_tasks():
    with deliver_tasks_inline():
        yield


def wait_for(query, count: int):
    assert query.count() == count
    return list(query)


def test_both_sides_of_a_cross_border_transfer_get_one_receipt():
    store_rates()
    alice = make_person(home_currency="EUR")
    bob = make_person(home_currency="USD")
    fund(alice, 1000, "EUR")
    quote = services.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=1000
    )
    done = services.fx_transfer_execute(user=alice, quote_id=quote.pk, to=bob.handle)

    (received,) = wait_for(Notification.objects.filter(recipient=bob, kind="fx_received"), 1)
    (sent,) = wait_for(Notification.objects.filter(recipient=alice, kind="fx_sent"), 1)
    assert received.actor == alice and received.target_id == done.entry_id
    assert received.data["amount"] == {"amount": 1074, "currency": "USD"}
    assert received.data["source_amount"] == {"amount": 1000, "currency": "EUR"}
    assert received.data["mid_rate"] == "1.0800000000"
    assert received.data["text"] == ("sent you $10.74 (€10.00 at a mid rate of 1.08, fee $0.06)")
    assert "$10.74" in sent.data["text"] and "€10.00" in sent.data["text"]
    # A receipt delivered again (an outbox row whose deletion was lost) notifies nobody twice.
    from payments.wallets.receipts import ReceiptSpec, receipt_deliver

    spec = ReceiptSpec(
        key=f"fx:{quote.pk}:recipient",
        kind="fx_received",
        recipient_id=bob.pk,
        subject="again",
        body="again",
    )
    assert receipt_deliver(spec=spec) is False
    assert Notification.objects.filter(recipient=bob, kind="fx_received").count() == 1


def test_a_conversion_sends_its_payer_a_receipt():
    store_rates()
    carol = make_person(home_currency="USD")
    fund(carol, 10_000, "USD")
    quote = services.fx_quote_create(
        user=carol, source_currency="USD", target_currency="JPY", source_amount=10_000
    )
    services.fx_conversion_execute(user=carol, quote_id=quote.pk)
    (note,) = wait_for(Notification.objects.filter(recipient=carol, kind="fx_converted"), 1)
    assert note.data["amount"] == {"amount": 14970, "currency": "JPY"}
    assert "$100.00 to ¥14,970" in note.data["text"]
