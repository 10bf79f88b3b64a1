"""The fee rule: integer arithmetic, round half up, never a negative net."""

from __future__ import annotations

import pytest
from django.test import override_settings

from core.money import Money
from payments.creators.fees import fee_quote


def usd(n: int) -> Money:
    return Money(n, "USD")


@pytest.mark.parametrize(
    ("gross", "fee", "net"),
    [(500, 50, 450), (300, 30, 270), (2000, 200, 1800), (5, 1, 4), (4, 0, 4), (1, 0, 1)],
)
def test_ten_percent_rounds_half_up(gross, fee, net):
    quote = fee_quote(kind="tip", gross=usd(gross))
    assert (quote.fee.amount, quote.net.amount) == (fee, net)
    assert quote.fee + quote.net == quote.gross


def test_fixed_part_is_capped_at_the_gross():
    schedule = {
        k: {"bps": 1000, "fixed": {"USD": 30}} for k in ("tip", "unlock", "sale", "membership")
    }
    with override_settings(CREATOR_FEE_SCHEDULE=schedule):
        assert fee_quote(kind="sale", gross=usd(1000)).fee == usd(130)
        small = fee_quote(kind="sale", gross=usd(20))
        assert small.fee == usd(20) and small.net == usd(0)


def test_lines_show_amount_fee_and_total():
    lines = dict(fee_quote(kind="unlock", gross=usd(300)).lines())
    assert lines["Amount"] == usd(300)
    assert lines["You pay"] == usd(300)
    assert lines["Creator receives"] == usd(270)


@pytest.mark.parametrize("gross", [0, -5])
def test_non_positive_or_unknown_kind_is_a_programming_error(gross):
    with pytest.raises(ValueError):
        fee_quote(kind="tip", gross=usd(gross))
    with pytest.raises(ValueError):
        fee_quote(kind="bribe", gross=usd(100))
