"""One test per row of the worked-examples table in ARCHITECTURE.md (10% platform fee)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from core.money import Money
from ledger import chart
from ledger.selectors import balance_of, ledger_verify
from ledger.services import credit, debit, entry_post, hold_create, hold_post, hold_void
from ledger.tests.conftest import new_key, postings_of, top_up

pytestmark = pytest.mark.django_db

FAN, ALICE, BOB, CREATOR, BUYER, SELLER = 1, 2, 3, 4, 5, 6
USD = "USD"
CLEARING = chart.processor_clearing_key("sandbox", USD)


def usd(amount: int) -> Money:
    return Money(amount, USD)


def wallet(user_id: int, currency: str = USD) -> str:
    return chart.wallet_key(user_id, currency)


def available(key: str) -> int:
    return balance_of(account=key).available.amount


@pytest.fixture(autouse=True)
def _ledger_still_consistent():
    yield
    report = ledger_verify(hold_max_age=timedelta(days=1))
    assert report.findings == []


def test_top_up_by_card():
    entry = top_up(FAN, 5000)
    assert postings_of(entry) == [(CLEARING, "D", 5000, USD), (wallet(FAN), "C", 5000, USD)]
    assert available(wallet(FAN)) == 5000
    assert balance_of(account=CLEARING).posted == usd(5000)


def test_processor_fee_on_a_top_up():
    top_up(FAN, 5000)
    entry = entry_post(
        code="processor_fee",
        idempotency_key=new_key(),
        postings=[debit(chart.processor_fees_key(USD), usd(175)), credit(CLEARING, usd(175))],
    )
    assert postings_of(entry) == [
        (chart.processor_fees_key(USD), "D", 175, USD),
        (CLEARING, "C", 175, USD),
    ]
    assert balance_of(account=CLEARING).posted == usd(4825)
    assert balance_of(account=chart.processor_fees_key(USD)).posted == usd(175)


def test_p2p_transfer():
    top_up(ALICE, 2000)
    entry = entry_post(
        code="transfer",
        idempotency_key=new_key(),
        postings=[debit(wallet(ALICE), usd(2000)), credit(wallet(BOB), usd(2000))],
    )
    assert postings_of(entry) == [(wallet(ALICE), "D", 2000, USD), (wallet(BOB), "C", 2000, USD)]
    assert available(wallet(ALICE)) == 0
    assert available(wallet(BOB)) == 2000


def _fee_split(code: str, price: int, payer: int, payee: int):
    net, fee = usd(price).allocate(9, 1)
    return entry_post(
        code=code,
        idempotency_key=new_key(),
        postings=[
            debit(wallet(payer), usd(price)),
            credit(wallet(payee), net),
            credit(chart.fees_key(USD), fee),
        ],
    )


def test_tip():
    top_up(FAN, 500)
    entry = _fee_split("tip", 500, FAN, CREATOR)
    assert postings_of(entry) == [
        (wallet(FAN), "D", 500, USD),
        (wallet(CREATOR), "C", 450, USD),
        (chart.fees_key(USD), "C", 50, USD),
    ]
    assert available(wallet(CREATOR)) == 450
    assert balance_of(account=chart.fees_key(USD)).posted == usd(50)


def test_unlock_paid_post():
    top_up(FAN, 1000)
    entry = _fee_split("unlock", 300, FAN, CREATOR)
    assert postings_of(entry) == [
        (wallet(FAN), "D", 300, USD),
        (wallet(CREATOR), "C", 270, USD),
        (chart.fees_key(USD), "C", 30, USD),
    ]
    assert available(wallet(FAN)) == 700


def test_order_escrow_then_delivery():
    top_up(BUYER, 2000)
    escrow = chart.escrow_key(USD)
    order = entry_post(
        code="order",
        idempotency_key=new_key(),
        postings=[debit(wallet(BUYER), usd(2000)), credit(escrow, usd(2000))],
    )
    assert postings_of(order) == [(wallet(BUYER), "D", 2000, USD), (escrow, "C", 2000, USD)]
    assert balance_of(account=escrow).posted == usd(2000)
    delivered = entry_post(
        code="order_release",
        idempotency_key=new_key(),
        postings=[
            debit(escrow, usd(2000)),
            credit(wallet(SELLER), usd(1800)),
            credit(chart.fees_key(USD), usd(200)),
        ],
    )
    assert postings_of(delivered) == [
        (escrow, "D", 2000, USD),
        (wallet(SELLER), "C", 1800, USD),
        (chart.fees_key(USD), "C", 200, USD),
    ]
    assert balance_of(account=escrow).posted == usd(0)
    assert available(wallet(SELLER)) == 1800


def test_order_refund_before_delivery():
    top_up(BUYER, 2000)
    escrow = chart.escrow_key(USD)
    entry_post(
        code="order",
        idempotency_key=new_key(),
        postings=[debit(wallet(BUYER), usd(2000)), credit(escrow, usd(2000))],
    )
    refund = entry_post(
        code="order_refund",
        idempotency_key=new_key(),
        postings=[debit(escrow, usd(2000)), credit(wallet(BUYER), usd(2000))],
    )
    assert postings_of(refund) == [(escrow, "D", 2000, USD), (wallet(BUYER), "C", 2000, USD)]
    assert available(wallet(BUYER)) == 2000


def _payout_hold():
    top_up(CREATOR, 10000)
    return hold_create(
        code="payout",
        idempotency_key=new_key(),
        postings=[
            debit(wallet(CREATOR), usd(10000)),
            credit(chart.payouts_in_transit_key(USD), usd(10000)),
        ],
        reference="payout:1",
    )


def test_payout_requested_is_a_pending_hold():
    hold = _payout_hold()
    legs = [(leg.account.key, leg.direction, leg.amount) for leg in hold.legs.order_by("id")]
    assert legs == [
        (wallet(CREATOR), "D", 10000),
        (chart.payouts_in_transit_key(USD), "C", 10000),
    ]
    balance = balance_of(account=wallet(CREATOR))
    assert (balance.posted, balance.pending_out, balance.available) == (
        usd(10000),
        usd(10000),
        usd(0),
    )
    assert balance_of(account=chart.payouts_in_transit_key(USD)).pending_in == usd(10000)


def test_payout_paid_posts_the_hold_then_settles():
    hold = _payout_hold()
    posted = hold_post(hold=hold, idempotency_key=new_key())
    assert postings_of(posted) == [
        (wallet(CREATOR), "D", 10000, USD),
        (chart.payouts_in_transit_key(USD), "C", 10000, USD),
    ]
    settled = entry_post(
        code="payout_settled",
        idempotency_key=new_key(),
        postings=[
            debit(chart.payouts_in_transit_key(USD), usd(10000)),
            credit(CLEARING, usd(10000)),
        ],
    )
    assert postings_of(settled) == [
        (chart.payouts_in_transit_key(USD), "D", 10000, USD),
        (CLEARING, "C", 10000, USD),
    ]
    balance = balance_of(account=wallet(CREATOR))
    assert (balance.posted, balance.pending_out) == (usd(0), usd(0))
    assert balance_of(account=CLEARING).posted == usd(0)


def test_payout_failed_voids_the_hold():
    hold = _payout_hold()
    hold_void(hold=hold)
    balance = balance_of(account=wallet(CREATOR))
    assert (balance.posted, balance.pending_out, balance.available) == (
        usd(10000),
        usd(0),
        usd(10000),
    )
    assert hold.legs.count() == 2
    assert not hold.legs.first().hold.posted_entry


def test_cross_border_transfer_postings_shape():
    # 10.00 EUR at 1.0800 is 10.80 USD; the 0.5% FX fee stays in the FX position.
    top_up(ALICE, 1000, "EUR")
    eur = Money(1000, "EUR")
    converted = usd(eur.amount).scale(Decimal("1.0800"))
    to_bob = converted - converted.scale(Decimal("0.005"))
    assert to_bob == usd(1075)
    entry = entry_post(
        code="fx_transfer",
        idempotency_key=new_key(),
        postings=[
            debit(wallet(ALICE, "EUR"), eur),
            credit(chart.fx_key("EUR"), eur),
            debit(chart.fx_key(USD), usd(1075)),
            credit(wallet(BOB, USD), to_bob),
        ],
    )
    assert postings_of(entry) == [
        (wallet(ALICE, "EUR"), "D", 1000, "EUR"),
        (chart.fx_key("EUR"), "C", 1000, "EUR"),
        (chart.fx_key(USD), "D", 1075, USD),
        (wallet(BOB, USD), "C", 1075, USD),
    ]
    assert available(wallet(BOB, USD)) == 1075
    assert available(wallet(ALICE, "EUR")) == 0
