"""Amounts carried in a link: ``/wallet/send?to=ana&amount=12.50&currency=EUR``,
``/tip/ana?amount=5``. A link is anyone's to write, so the values are only a suggestion
shown in the form (nothing is paid before the review step) and anything unreadable is
dropped without an error page: the form simply opens empty."""

from __future__ import annotations

from core.exceptions import DomainError
from core.money import Money, currency_require_supported

#: A link suggests at most this much (minor units), like the largest creator payment.
PREFILL_MAX_MINOR = 1_000_000_00
_TEXT_MAX = 20


def amount_prefill(query, *, default_currency: str) -> Money | None:
    """The amount of ``?amount=`` (major units, a plain decimal such as ``7.50``, the same
    in every language) in ``?currency=`` or ``default_currency``; ``None`` when absent,
    unreadable, unsupported, not positive or too large."""
    text = query.get("amount", "")
    if not isinstance(text, str) or not text or len(text) > _TEXT_MAX:
        return None
    try:
        currency = currency_require_supported(query.get("currency") or default_currency)
        money = Money.parse(text.strip(), currency)
    except DomainError:
        return None
    if not 0 < money.amount <= PREFILL_MAX_MINOR:
        return None
    return money


def amount_text(money: Money) -> str:
    """The amount as the form's field shows it (a plain decimal: ``7.50``, ``500``)."""
    return format(money.to_decimal(), "f")
