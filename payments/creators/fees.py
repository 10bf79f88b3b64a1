"""The platform fee on creator payments, from ``settings.CREATOR_FEE_SCHEDULE``.

Rule (integer arithmetic only): ``fee = (gross * bps + 5000) // 10000 + fixed`` — the
percentage part is rounded half up to a whole minor unit — then capped at ``gross`` so the
creator's net is never negative. ``net = gross - fee``. The fee is always its own ledger
posting (``C platform:fees``) and is shown line by line before the payer confirms.

Worked examples at 10% (1000 bps), no fixed part: 5.00 → fee 0.50, net 4.50;
0.05 → fee 0.01 (0.005 rounds up), net 0.04; 0.01 → fee 0.00 (0.001 rounds down).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from core.money import Money

KINDS = ("tip", "unlock", "sale", "membership")
_BPS_DENOMINATOR = 10_000


@dataclass(frozen=True, slots=True)
class FeeQuote:
    """What the payer pays (``gross``), what the platform keeps (``fee``), what the creator
    receives (``net``). ``gross == fee + net`` always."""

    kind: str
    gross: Money
    fee: Money
    net: Money
    bps: int

    def lines(self) -> list[tuple[str, Money]]:
        """The lines shown before confirming (the payer pays the total, nothing else)."""
        # Display only (the arithmetic above is integer), in the page's number format.
        pct = number_format(self.bps / 100, decimal_pos=None if self.bps % 100 else 0)
        return [
            (_("Amount"), self.gross),
            (
                _("Platform fee (%(percent)s%%, kept from the creator's share)") % {"percent": pct},
                self.fee,
            ),
            (_("Creator receives"), self.net),
            (_("You pay"), self.gross),
        ]

    def as_dict(self) -> dict:
        return {
            "gross": self.gross.as_dict(),
            "fee": self.fee.as_dict(),
            "net": self.net.as_dict(),
        }


def fee_quote(*, kind: str, gross: Money) -> FeeQuote:
    """Split ``gross`` into fee and net for ``kind``. Raises ``ValueError`` for an unknown
    kind or a non-positive amount (callers validate amounts first)."""
    if kind not in KINDS:
        raise ValueError(f"unknown fee kind {kind!r}")
    if gross.amount <= 0:
        raise ValueError("the gross amount must be positive")
    schedule = settings.CREATOR_FEE_SCHEDULE[kind]
    bps = int(schedule.get("bps", 0))
    fixed = int(schedule.get("fixed", {}).get(gross.currency, 0))
    if not 0 <= bps <= _BPS_DENOMINATOR or fixed < 0:
        raise ValueError(f"bad fee schedule for {kind!r}")
    fee = (gross.amount * bps + _BPS_DENOMINATOR // 2) // _BPS_DENOMINATOR + fixed
    fee = min(fee, gross.amount)
    return FeeQuote(
        kind=kind,
        gross=gross,
        fee=Money(fee, gross.currency),
        net=Money(gross.amount - fee, gross.currency),
        bps=bps,
    )
