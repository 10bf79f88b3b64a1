"""Money: an integer count of a currency's minor unit plus its ISO 4217 code.

``Money(1050, "USD")`` is 10.50 USD; ``Money(500, "JPY")`` is 500 yen (JPY has no minor
unit); ``Money(1234, "KWD")`` is 1.234 dinars (three decimals). Each currency's exponent is
written down once, in ``EXPONENTS`` (taken from the CLDR data that babel ships).

Rules, all enforced here so that no caller has to remember them:

- No float ever: passing a ``float`` (or anything that is not an ``int``; ``bool`` included)
  as an amount raises ``TypeError``. Decimal input only enters through ``Money.parse``.
- Arithmetic and comparison across currencies raise ``CurrencyMismatch``.
- Multiplication only by ``int``; scaling by a rate is ``Money.scale`` with explicit
  rounding, splitting without losing a unit is ``Money.allocate``.
- ``abs(amount) <= MAX_MINOR_UNITS`` so every amount fits a PostgreSQL ``bigint`` with room
  for sums.

Entry points for other code:

``Money(amount, currency)``
    from trusted integers (database rows, constants). Raises ``TypeError`` for non-int
    amounts and ``InvalidCurrency`` for unknown or lower-case codes.
``Money.from_minor(value, currency)``
    from untrusted API input (``{"amount": 1050, "currency": "USD"}``): the amount must be a
    JSON integer; a ``Decimal`` (the strict JSON parser's fractional numbers), a string or
    a bool raise ``InvalidAmount`` with a stable code instead of ``TypeError``.
``Money.parse(text, currency)``
    from a decimal string in major units typed by a person (``"10.50"``). Strict: ASCII
    digits only, optional leading ``-``, at most the currency's number of decimals, no
    exponent, no spaces, no grouping separators, no NaN/Infinity.
``money.format()`` / ``money.format(locale="de")``
    for display, locale-aware through babel: in the active Django language when no locale
    is given (``"€12.50"`` in English, ``"12,50 €"`` in German), so ``{{ money.format }}``
    in a template follows the page's language.
``money.as_dict()``
    the API's wire shape ``{"amount": 1050, "currency": "USD"}``.

Errors are ``core.exceptions.DomainError`` subclasses with stable codes
(``invalid_amount``, ``amount_too_precise``, ``amount_too_large``, ``invalid_currency``,
``unsupported_currency``, ``currency_mismatch``); ``details["reason"]`` says more precisely
what was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from babel.numbers import format_currency, get_currency_precision, list_currencies
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError

# ISO 4217 codes that are not money one holds in a wallet: precious metals, SDR, bond-market
# units and the testing / "no currency" codes. ISO gives them no exponent.
_NOT_MONEY = frozenset(
    {"XAG", "XAU", "XPD", "XPT", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XTS", "XUA", "XXX"}
)

#: The one table of exponents (digits after the decimal point), per ISO 4217 code.
EXPONENTS: MappingProxyType[str, int] = MappingProxyType(
    {
        code: get_currency_precision(code)
        for code in sorted(list_currencies())
        if len(code) == 3 and code.isascii() and code.isupper() and code not in _NOT_MONEY
    }
)

#: 10**15 minor units: a hard limit far above any real amount (10 trillion dollars) that
#: keeps sums of many amounts far inside a signed 64-bit integer.
MAX_MINOR_UNITS = 10**15

_DECIMAL_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_MAX_TEXT_LENGTH = 40


class MoneyError(DomainError):
    status = 400


class InvalidAmount(MoneyError):
    code = "invalid_amount"
    default_message = _("The amount is not a valid number.")


class AmountTooPrecise(MoneyError):
    code = "amount_too_precise"
    default_message = _("The amount has more decimals than the currency allows.")


class AmountTooLarge(MoneyError):
    code = "amount_too_large"
    default_message = _("The amount is too large.")


class InvalidCurrency(MoneyError):
    code = "invalid_currency"
    default_message = _("Unknown currency: use an upper-case ISO 4217 code such as USD.")


class UnsupportedCurrency(MoneyError):
    code = "unsupported_currency"
    status = 422
    default_message = _("This currency is not supported.")


class CurrencyMismatch(MoneyError):
    code = "currency_mismatch"
    status = 422
    default_message = _("The amounts are in different currencies.")


def _locale() -> str:
    """The babel locale of the active Django language ("de", "en_GB")."""
    from django.conf import settings
    from django.utils import translation

    return translation.to_locale(translation.get_language() or settings.LANGUAGE_CODE)


_SPACES = str.maketrans("", "", " \u00a0\u202f")


def typed_amount_normalise(text: str, locale: str) -> str:
    """A typed amount in ``locale``'s format → the canonical ``"1234.56"`` that ``parse``
    reads; text it cannot read safely is returned unchanged, so ``parse`` refuses it.

    Group separators count only in whole groups of three ("1.234,56" in German); a German
    point followed by one or two digits ("7.50") is read as the decimal point people often
    type. "7.500" in German is seven thousand five hundred, as printed there — the review
    step shows the amount before anything is paid.
    """
    from babel.numbers import get_decimal_symbol, get_group_symbol

    if not text or text != text.strip():
        return text  # empty or padded: parse refuses it with its own reason
    decimal, group = get_decimal_symbol(locale), get_group_symbol(locale)
    if group.isspace():
        group = " "
    cleaned = text.strip()
    if group == " ":
        cleaned = cleaned.translate(_SPACES)
        group = ""
    # Whole groups of three after a first group without a leading zero ("0.001" is no group).
    grouped = re.compile(r"[1-9]\d{0,2}(?:" + re.escape(group) + r"\d{3})+") if group else None

    def integer(part: str) -> str | None:
        if part.isdigit():
            return part
        if grouped is not None and grouped.fullmatch(part):
            return part.replace(group, "")
        return None

    sign = ""
    if cleaned[:1] in ("+", "-"):  # not `in "+-"`: the empty string is in every string
        sign, cleaned = cleaned[0], cleaned[1:]
    if decimal != "." and cleaned.count(decimal) == 1:
        whole, fraction = cleaned.split(decimal)
        if fraction.isdigit() and (digits := integer(whole)) is not None:
            return f"{sign}{digits}.{fraction}"
        return text
    if decimal == "." and cleaned.count(".") <= 1:
        whole, dot, fraction = cleaned.partition(".")
        if (digits := integer(whole)) is not None and (not dot or fraction.isdigit()):
            return f"{sign}{digits}{dot}{fraction}"
        return text
    if group == "." and re.fullmatch(r"\d+\.\d{1,2}", cleaned):
        return sign + cleaned
    if (digits := integer(cleaned)) is not None:
        return sign + digits
    return text


def currency_exponent(currency: str) -> int:
    """The number of decimals of ``currency``; raises ``InvalidCurrency``."""
    return EXPONENTS[currency_validate(currency)]


def currency_validate(currency: Any) -> str:
    """Return ``currency`` if it is a known upper-case ISO 4217 code, else raise."""
    if type(currency) is not str:
        raise InvalidCurrency(details={"reason": "not_a_string"})
    if currency not in EXPONENTS:
        reason = "wrong_case" if currency.upper() in EXPONENTS else "unknown"
        raise InvalidCurrency(details={"reason": reason, "currency": currency[:8]})
    return currency


def supported_currencies() -> tuple[str, ...]:
    """The currencies wallets may hold (``settings.SUPPORTED_CURRENCIES``)."""
    from django.conf import settings

    return tuple(settings.SUPPORTED_CURRENCIES)


def currency_require_supported(currency: Any) -> str:
    """Validate ``currency`` and require it to be one the platform supports."""
    code = currency_validate(currency)
    if code not in supported_currencies():
        raise UnsupportedCurrency(details={"currency": code})
    return code


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency in integer minor units. Immutable and hashable."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        # type() and not isinstance(): bool is an int subclass, and True is not one cent.
        if type(self.amount) is not int:
            raise TypeError(
                f"Money amount must be int minor units, not {type(self.amount).__name__}"
            )
        currency_validate(self.currency)
        if abs(self.amount) > MAX_MINOR_UNITS:
            raise AmountTooLarge(details={"limit": MAX_MINOR_UNITS})

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_minor(cls, value: Any, currency: Any) -> Money:
        """Build from untrusted integer minor units (API input). Never raises TypeError."""
        code = currency_validate(currency)
        if isinstance(value, float):
            raise InvalidAmount(details={"reason": "float"})
        if type(value) is not int:
            reason = "not_an_integer" if isinstance(value, Decimal) else "wrong_type"
            raise InvalidAmount(details={"reason": reason})
        return cls(value, code)

    @classmethod
    def parse(cls, text: Any, currency: Any) -> Money:
        """Parse a decimal string in major units (``"10.50"`` USD → 1050).

        Raises ``InvalidAmount`` (``details.reason``: ``not_a_string``, ``empty`` (blank
        included), ``padded`` (leading or trailing spaces), ``too_long``, ``non_ascii``,
        ``exponent_notation``, ``not_a_number``, ``malformed``),
        ``AmountTooPrecise``, ``AmountTooLarge`` or ``InvalidCurrency``. A float raises
        ``TypeError``.
        """
        code = currency_validate(currency)
        if isinstance(text, float):
            raise TypeError("Money.parse does not accept float; pass a decimal string")
        if isinstance(text, Decimal):
            if not text.is_finite():
                raise InvalidAmount(details={"reason": "not_a_number"})
            text = format(text, "f")
        if type(text) is not str:
            raise InvalidAmount(details={"reason": "not_a_string"})
        if not text.strip():
            raise InvalidAmount(details={"reason": "empty"})
        if text != text.strip():
            # " 1" is refused, not trimmed: a field that reaches us padded was not typed
            # into our form as it is, and silently repairing input hides client bugs.
            raise InvalidAmount(details={"reason": "padded"})
        if len(text) > _MAX_TEXT_LENGTH:
            raise InvalidAmount(details={"reason": "too_long"})
        if not text.isascii():
            raise InvalidAmount(details={"reason": "non_ascii"})
        lowered = text.lower()
        if "nan" in lowered or "inf" in lowered:
            raise InvalidAmount(details={"reason": "not_a_number"})
        if "e" in lowered:
            raise InvalidAmount(details={"reason": "exponent_notation"})
        if not _DECIMAL_TEXT.fullmatch(text):
            raise InvalidAmount(details={"reason": "malformed"})
        exponent = EXPONENTS[code]
        _, _, fraction = text.partition(".")
        if len(fraction) > exponent:
            raise AmountTooPrecise(details={"decimals": exponent, "currency": code})
        try:
            value = Decimal(text).scaleb(exponent)
        except InvalidOperation as exc:  # unreachable after the regex; kept as a guard
            raise InvalidAmount(details={"reason": "malformed"}) from exc
        minor = int(value)
        if abs(minor) > MAX_MINOR_UNITS:
            raise AmountTooLarge(details={"limit": MAX_MINOR_UNITS})
        return cls(minor, code)

    @classmethod
    def parse_typed(cls, text: Any, currency: Any, locale: str | None = None) -> Money:
        """Parse what a person typed into a page, in the page's number format (``locale``
        defaults to the active language): German "7,50" and "1.234,56", English "1,234.56".
        The API never uses this; it takes integer minor units. See ``typed_amount_normalise``.
        """
        if isinstance(text, str):
            text = typed_amount_normalise(text, locale or _locale())
        return cls.parse(text, currency)

    # --- conversion -----------------------------------------------------------------------
    @property
    def exponent(self) -> int:
        return EXPONENTS[self.currency]

    def to_decimal(self) -> Decimal:
        """The amount in major units, exact (``Decimal("10.50")``)."""
        return Decimal(self.amount).scaleb(-self.exponent)

    def as_dict(self) -> dict[str, int | str]:
        return {"amount": self.amount, "currency": self.currency}

    def format(self, locale: str | None = None) -> str:
        """Locale-aware display string, always with the currency's own decimals; ``locale``
        defaults to the active Django language."""
        return format_currency(self.to_decimal(), self.currency, locale=locale or _locale())

    def __str__(self) -> str:
        # Unambiguous and locale-free (logs, admin): "10.50 USD".
        return f"{self.to_decimal():f} {self.currency}"

    # --- arithmetic -----------------------------------------------------------------------
    def _same(self, other: Any) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(details={"currencies": sorted({self.currency, other.currency})})
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            raise TypeError("Money can only be multiplied by an int; use scale() for rates")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Money:
        raise TypeError("Money cannot be divided; use allocate() or scale()")

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __bool__(self) -> bool:
        return self.amount != 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def scale(self, factor: Decimal | int, *, rounding: str = ROUND_HALF_EVEN) -> Money:
        """``self * factor`` rounded to a whole minor unit (fees, FX). ``factor`` is a
        Decimal or int, never a float."""
        if isinstance(factor, bool) or not isinstance(factor, Decimal | int):
            raise TypeError("scale() needs a Decimal or int factor")
        if isinstance(factor, Decimal) and not factor.is_finite():
            raise InvalidAmount(details={"reason": "not_a_number"})
        value = (Decimal(self.amount) * factor).quantize(Decimal(1), rounding=rounding)
        return Money(int(value), self.currency)

    def allocate(self, *ratios: int) -> tuple[Money, ...]:
        """Split into parts proportional to integer ``ratios`` without losing a unit: the
        remainder goes, one unit each, to the first parts (largest-remainder is overkill
        for the fee splits we do)."""
        if not ratios or any(type(r) is not int or r < 0 for r in ratios) or sum(ratios) == 0:
            raise ValueError("allocate() needs non-negative int ratios with a positive sum")
        total = sum(ratios)
        sign = -1 if self.amount < 0 else 1
        base = abs(self.amount)
        parts = [base * r // total for r in ratios]
        receivers = [i for i, r in enumerate(ratios) if r > 0]
        for i in range(base - sum(parts)):
            parts[receivers[i % len(receivers)]] += 1
        return tuple(Money(sign * p, self.currency) for p in parts)
