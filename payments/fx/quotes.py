"""Pricing a conversion: the rounding rule that never creates money.

Integers only. A mid rate ``M`` (target major units per source major unit, at most 10
decimals) is held as the integer ``M * 10**10``; the exponents of both currencies come from
``core.money.EXPONENTS``. For a source amount ``S`` (source minor units) the exact value at
mid rate, in target minor units, is the fraction

    G = S * M * 10**(e_target - e_source)

The rule, with ``f`` the fee in basis points / 10 000:

1. ``value = floor(G)``  — the mid-rate value, rounded DOWN to the target's minor unit. It is
   what the FX position pays out in the target currency (``D platform:fx:TGT value``); the
   fraction below one minor unit stays with the platform, so the FX position never pays
   more than the mid-market value of what it took in.
2. ``fee = ceil(G * f)`` — the fee, rounded UP to the target's minor unit, booked as its own
   posting (``C platform:fees:TGT fee``).
3. ``arrives = value - fee`` (``C wallet:recipient:TGT arrives``). Hence
   ``arrives ≤ G * (1 - f)``: the recipient never receives more than the mid-rate value
   minus the fee, and ``arrives + fee ≤ G``.

When the client fixes the *target* amount instead, we look for the smallest source amount
``S`` whose forward price (rule above) delivers at least that amount; the requested amount
then arrives exactly and everything between it and ``floor(G)`` is fee (so the fee is still
at least ``ceil(G * f)``).

Worked example (ARCHITECTURE.md's cross-border row, made exact): 10.00 EUR → USD at mid
1.0800 with a 0.5% fee: ``G = 1000 * 1.08 = 1080`` cents, ``fee = ceil(5.4) = 6``,
``arrives = 1074``. Postings: D wallet:alice:EUR 1000 · C platform:fx:EUR 1000 ·
D platform:fx:USD 1080 · C wallet:bob:USD 1074 · C platform:fees:USD 6 — each currency sums to
zero. (Rounding the arrival half-up to 10.75 USD would pay out 0.4 cent more than the
mid-rate value minus the fee; this rule never does.)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError
from core.money import EXPONENTS, MAX_MINOR_UNITS, Money

RATE_DECIMALS = 10
RATE_SCALE = 10**RATE_DECIMALS
BPS = 10_000


class AmountTooSmall(DomainError):
    code = "amount_too_small"
    status = 422
    default_message = _("The amount is too small to convert: nothing would arrive after the fee.")


@dataclass(frozen=True, slots=True)
class Pricing:
    source: Money  # what the payer pays
    target: Money  # what arrives
    fee: Money  # target currency, to platform:fees
    mid_rate: Decimal
    fee_bps: int

    @property
    def value(self) -> Money:
        """What the FX position pays out in the target currency: ``target + fee``."""
        return self.target + self.fee

    @property
    def our_rate(self) -> Decimal:
        """The mid rate net of the fee, for display (target per source, major units)."""
        return (self.mid_rate * (BPS - self.fee_bps) / BPS).quantize(Decimal(1).scaleb(-6))

    @property
    def effective_rate(self) -> Decimal:
        """What the payer actually got: arrives / paid, in major units (display only)."""
        return (self.target.to_decimal() / self.source.to_decimal()).quantize(Decimal(1).scaleb(-6))

    @property
    def fee_in_source(self) -> Money:
        """The fee converted back at the mid rate, rounded half up (display only: the fee is
        booked in the target currency)."""
        num, den = ratio(self.source.currency, self.target.currency, self.mid_rate)
        value = Decimal(self.fee.amount * den) / Decimal(num)
        return Money(int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)), self.source.currency)


def rate_to_int(rate: Decimal) -> int:
    """``rate * 10**10`` as an exact int; refuses rates with more decimals or ≤ 0."""
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise ValueError("a mid rate is a positive finite Decimal")
    scaled = rate.scaleb(RATE_DECIMALS)
    if scaled != scaled.to_integral_value():
        raise ValueError("a mid rate has at most 10 decimals")
    return int(scaled)


def ratio(source_currency: str, target_currency: str, mid_rate: Decimal) -> tuple[int, int]:
    """``(num, den)`` with ``G = S * num / den`` (target minor units per source minor unit)."""
    shift = EXPONENTS[target_currency] - EXPONENTS[source_currency]
    num = rate_to_int(mid_rate) * 10 ** max(shift, 0)
    den = RATE_SCALE * 10 ** max(-shift, 0)
    return num, den


def _check_fee(fee_bps: int) -> None:
    if type(fee_bps) is not int or not 0 <= fee_bps < BPS:
        raise ValueError("fee_bps is an int in [0, 10000)")


def _forward(source_amount: int, num: int, den: int, fee_bps: int) -> tuple[int, int]:
    """``(value, fee)`` for a source amount: ``floor(G)`` and ``ceil(G * f)``."""
    gross = source_amount * num
    value = gross // den
    fee = -((-gross * fee_bps) // (den * BPS))
    return value, fee


def price_from_source(
    *, source: Money, target_currency: str, mid_rate: Decimal, fee_bps: int
) -> Pricing:
    """Price paying exactly ``source``. Raises ``AmountTooSmall`` when nothing would arrive."""
    _check_fee(fee_bps)
    if source.amount <= 0:
        raise AmountTooSmall()
    num, den = ratio(source.currency, target_currency, mid_rate)
    value, fee = _forward(source.amount, num, den, fee_bps)
    if value - fee < 1:
        raise AmountTooSmall(details={"minimum_arrival": 1})
    return Pricing(
        source=source,
        target=Money(value - fee, target_currency),
        fee=Money(fee, target_currency),
        mid_rate=mid_rate,
        fee_bps=fee_bps,
    )


def price_for_target(
    *, target: Money, source_currency: str, mid_rate: Decimal, fee_bps: int
) -> Pricing:
    """Price delivering exactly ``target``: the smallest source amount found by binary search
    whose forward price delivers at least ``target``; the surplus is fee."""
    _check_fee(fee_bps)
    if target.amount <= 0:
        raise AmountTooSmall()
    num, den = ratio(source_currency, target.currency, mid_rate)
    # forward(S) ≥ G(1-f) - 2, and each unit of S adds num/den to G: hi is always enough.
    hi = -((-(target.amount + 3) * den * BPS) // (num * (BPS - fee_bps))) + 1
    lo = 1
    if hi > MAX_MINOR_UNITS:
        Money(hi, source_currency)  # raises AmountTooLarge with the standard code
    while lo < hi:
        mid = (lo + hi) // 2
        value, fee = _forward(mid, num, den, fee_bps)
        if value - fee >= target.amount:
            hi = mid
        else:
            lo = mid + 1
    value, fee = _forward(lo, num, den, fee_bps)
    assert value - fee >= target.amount, "the search ends on a source amount that delivers"
    return Pricing(
        source=Money(lo, source_currency),
        target=target,
        fee=Money(value - target.amount, target.currency),
        mid_rate=mid_rate,
        fee_bps=fee_bps,
    )
