"""The pricing rule (payments.fx.quotes): exact worked numbers and a property over every
pair of supported currencies, random amounts and random rates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import EXPONENTS, AmountTooLarge, Money
from payments.fx.quotes import (
    BPS,
    AmountTooSmall,
    price_for_target,
    price_from_source,
    rate_to_int,
    ratio,
)

CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY", "BRL", "INR", "KWD"]


def test_architecture_worked_example_rounds_the_arrival_down_and_the_fee_up():
    p = price_from_source(
        source=Money(1000, "EUR"), target_currency="USD", mid_rate=Decimal("1.08"), fee_bps=50
    )
    # G = 1080 cents exactly; fee = ceil(5.4) = 6; arrives 1074.
    assert (p.value, p.fee, p.target) == (
        Money(1080, "USD"),
        Money(6, "USD"),
        Money(1074, "USD"),
    )
    assert p.our_rate == Decimal("1.074600")
    assert p.fee_in_source == Money(6, "EUR")  # 0.06 USD / 1.08 = 0.0556 EUR, half up


def test_usd_to_jpy_crosses_exponents():
    # 100.00 USD at 150.4629629630 JPY/USD = 15046.296 yen: value 15046, fee ceil(75.23) = 76.
    p = price_from_source(
        source=Money(10000, "USD"),
        target_currency="JPY",
        mid_rate=Decimal("150.4629629630"),
        fee_bps=50,
    )
    assert (p.value.amount, p.fee.amount, p.target.amount) == (15046, 76, 14970)


def test_kwd_has_three_decimals():
    # 25.00 EUR at 0.332 = 8.300 KWD = 8300 fils; fee ceil(41.5) = 42; arrives 8.258 KWD.
    p = price_from_source(
        source=Money(2500, "EUR"), target_currency="KWD", mid_rate=Decimal("0.332"), fee_bps=50
    )
    assert (p.value.amount, p.fee.amount, p.target.amount) == (8300, 42, 8258)


def test_target_amount_arrives_exactly_and_the_surplus_is_fee():
    # 1000 JPY from KWD at 489.4578313253 JPY/KWD: 2055 fils deliver only 999 yen after the
    # fee; 2056 fils are worth 1006.325 yen, so 1006 - 1000 = 6 yen of fee (>= ceil(5.03)).
    p = price_for_target(
        target=Money(1000, "JPY"),
        source_currency="KWD",
        mid_rate=Decimal("489.4578313253"),
        fee_bps=50,
    )
    assert (p.source, p.target, p.fee) == (Money(2056, "KWD"), Money(1000, "JPY"), Money(6, "JPY"))


def test_nothing_to_convert_is_refused():
    with pytest.raises(AmountTooSmall) as exc:
        price_from_source(
            source=Money(1, "JPY"), target_currency="USD", mid_rate=Decimal("0.0066"), fee_bps=50
        )
    assert exc.value.code == "amount_too_small"


def test_a_target_that_needs_more_than_the_largest_amount_is_refused():
    with pytest.raises(AmountTooLarge):
        price_for_target(
            target=Money(10**15, "KWD"),
            source_currency="INR",
            mid_rate=Decimal("0.0036807095"),
            fee_bps=50,
        )


def test_rates_with_more_than_ten_decimals_are_refused():
    with pytest.raises(ValueError):
        rate_to_int(Decimal("1.00000000001"))
    with pytest.raises(ValueError):
        rate_to_int(Decimal("0"))


pairs = st.sampled_from([(a, b) for a in CURRENCIES for b in CURRENCIES if a != b])
rates = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal("2000"), places=10, allow_nan=False
)
fees = st.sampled_from([0, 1, 25, 50, 99, 150, 300])


def _check(p, fee_bps):
    num, den = ratio(p.source.currency, p.target.currency, p.mid_rate)
    gross = p.source.amount * num  # G = gross / den, exactly
    # Conservation per currency of the five postings (fee leg omitted when zero).
    legs = [
        (p.source.currency, +p.source.amount),  # D wallet
        (p.source.currency, -p.source.amount),  # C fx:SRC
        (p.target.currency, +p.value.amount),  # D fx:TGT
        (p.target.currency, -p.target.amount),  # C wallet
        (p.target.currency, -p.fee.amount),  # C fees
    ]
    for currency in {c for c, _ in legs}:
        assert sum(a for c, a in legs if c == currency) == 0
    assert p.target.amount >= 1 and p.fee.amount >= 0
    # The FX position never pays out more than the mid-rate value: value <= G.
    assert p.value.amount * den <= gross
    # The recipient never receives more than the mid-rate value minus the fee.
    assert p.target.amount * den * BPS <= gross * (BPS - fee_bps)
    # The fee is at least the fee rate applied to the mid-rate value, rounded up.
    assert p.fee.amount * den * BPS >= gross * fee_bps


@settings(max_examples=400, deadline=None)
@given(pair=pairs, rate=rates, amount=st.integers(min_value=1, max_value=10**12), fee_bps=fees)
def test_property_source_amount_never_creates_money(pair, rate, amount, fee_bps):
    source, target = pair
    try:
        p = price_from_source(
            source=Money(amount, source), target_currency=target, mid_rate=rate, fee_bps=fee_bps
        )
    except AmountTooSmall:
        num, den = ratio(source, target, rate)
        assert (amount * num) // den - (-(-amount * num * fee_bps // (den * BPS))) < 1
        return
    except AmountTooLarge:
        num, den = ratio(source, target, rate)
        assert amount * num // den > 10**15  # worth more than any amount we hold
        return
    assert p.source == Money(amount, source)
    _check(p, fee_bps)


@settings(max_examples=400, deadline=None)
@given(pair=pairs, rate=rates, amount=st.integers(min_value=1, max_value=10**9), fee_bps=fees)
def test_property_target_amount_arrives_exactly_and_never_creates_money(
    pair, rate, amount, fee_bps
):
    source, target = pair
    try:
        p = price_for_target(
            target=Money(amount, target), source_currency=source, mid_rate=rate, fee_bps=fee_bps
        )
    except AmountTooLarge:
        return  # a target worth more than 10**15 minor units of the source currency
    assert p.target == Money(amount, target)
    _check(p, fee_bps)
    # Minimal-ish: one unit less of the source would not deliver (searched, not guessed),
    # unless the forward price dips by a unit there (the fee rounding can do that).
    if p.source.amount > 1:
        try:
            less = price_from_source(
                source=Money(p.source.amount - 1, source),
                target_currency=target,
                mid_rate=rate,
                fee_bps=fee_bps,
            )
            assert less.target.amount <= amount + 1
        except AmountTooSmall:
            pass


def test_every_supported_currency_has_its_exponent_from_the_one_table(settings):
    assert {c: EXPONENTS[c] for c in settings.SUPPORTED_CURRENCIES} == {
        "USD": 2,
        "EUR": 2,
        "GBP": 2,
        "CHF": 2,
        "JPY": 0,
        "BRL": 2,
        "INR": 2,
        "KWD": 3,
        "CAD": 2,
        "AUD": 2,
    }
