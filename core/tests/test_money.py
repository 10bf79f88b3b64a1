from decimal import Decimal

import pytest
from django.test import override_settings

from core.exceptions import DomainError
from core.money import (
    EXPONENTS,
    MAX_MINOR_UNITS,
    AmountTooLarge,
    CurrencyMismatch,
    InvalidAmount,
    InvalidCurrency,
    Money,
    UnsupportedCurrency,
    currency_exponent,
    currency_require_supported,
)


def test_exponents_come_from_one_table():
    assert EXPONENTS["USD"] == 2
    assert EXPONENTS["EUR"] == 2
    assert EXPONENTS["JPY"] == 0
    assert EXPONENTS["KWD"] == 3
    assert "XAU" not in EXPONENTS
    assert currency_exponent("BHD") == 3


@pytest.mark.parametrize("amount", [1.0, 0.1, True, False, Decimal("1"), "100", None])
def test_constructor_accepts_only_int(amount):
    with pytest.raises(TypeError):
        Money(amount, "USD")


@pytest.mark.parametrize(
    ("currency", "reason"), [("usd", "wrong_case"), ("ABC", "unknown"), ("XAU", "unknown")]
)
def test_unknown_or_lower_case_currency(currency, reason):
    with pytest.raises(InvalidCurrency) as exc:
        Money(1, currency)
    assert exc.value.code == "invalid_currency"
    assert exc.value.details["reason"] == reason
    assert isinstance(exc.value, DomainError)


def test_limit_on_amounts():
    Money(MAX_MINOR_UNITS, "USD")
    with pytest.raises(AmountTooLarge):
        Money(MAX_MINOR_UNITS + 1, "USD")


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("10.50", "USD", 1050),
        ("10.5", "USD", 1050),
        ("10", "USD", 1000),
        ("0.01", "USD", 1),
        ("0", "USD", 0),
        ("-3.25", "EUR", -325),
        ("500", "JPY", 500),
        ("1.234", "KWD", 1234),
        ("0.001", "KWD", 1),
    ],
)
def test_parse(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


def test_parse_accepts_a_finite_decimal():
    assert Money.parse(Decimal("12.30"), "USD") == Money(1230, "USD")


@pytest.mark.parametrize(
    ("text", "currency", "code", "reason"),
    [
        ("10.505", "USD", "amount_too_precise", None),
        ("1.5", "JPY", "amount_too_precise", None),
        ("1.2345", "KWD", "amount_too_precise", None),
        ("1e3", "USD", "invalid_amount", "exponent_notation"),
        ("1E3", "USD", "invalid_amount", "exponent_notation"),
        ("NaN", "USD", "invalid_amount", "not_a_number"),
        ("Infinity", "USD", "invalid_amount", "not_a_number"),
        ("-inf", "USD", "invalid_amount", "not_a_number"),
        ("١٢", "USD", "invalid_amount", "non_ascii"),
        ("\uff11\uff12", "USD", "invalid_amount", "non_ascii"),
        (" 12", "USD", "invalid_amount", "padded"),
        ("12 ", "USD", "invalid_amount", "padded"),
        ("+12", "USD", "invalid_amount", "malformed"),
        ("1,000", "USD", "invalid_amount", "malformed"),
        ("1_000", "USD", "invalid_amount", "malformed"),
        ("012", "USD", "invalid_amount", "malformed"),
        (".5", "USD", "invalid_amount", "malformed"),
        ("5.", "USD", "invalid_amount", "malformed"),
        ("", "USD", "invalid_amount", "empty"),
        ("1" * 41, "USD", "invalid_amount", "too_long"),
        (12, "USD", "invalid_amount", "not_a_string"),
        (Decimal("NaN"), "USD", "invalid_amount", "not_a_number"),
        ("99999999999999999", "USD", "amount_too_large", None),
    ],
)
def test_parse_rejects(text, currency, code, reason):
    with pytest.raises(DomainError) as exc:
        Money.parse(text, currency)
    assert exc.value.code == code
    if reason:
        assert exc.value.details["reason"] == reason


def test_parse_rejects_float_with_type_error():
    with pytest.raises(TypeError):
        Money.parse(10.5, "USD")


def test_from_minor_for_api_input():
    assert Money.from_minor(1050, "USD") == Money(1050, "USD")
    for value, reason in [
        (Decimal("10.5"), "not_an_integer"),
        ("1050", "wrong_type"),
        (True, "wrong_type"),
        (None, "wrong_type"),
        (10.5, "float"),
    ]:
        with pytest.raises(InvalidAmount) as exc:
            Money.from_minor(value, "USD")
        assert exc.value.details["reason"] == reason
    with pytest.raises(InvalidCurrency):
        Money.from_minor(1, "usd")


def test_arithmetic_same_currency():
    a, b = Money(1050, "USD"), Money(25, "USD")
    assert a + b == Money(1075, "USD")
    assert a - b == Money(1025, "USD")
    assert -a == Money(-1050, "USD")
    assert abs(Money(-3, "USD")) == Money(3, "USD")
    assert a * 3 == 3 * a == Money(3150, "USD")
    assert b < a and a > b and a >= a and b <= b
    assert not Money.zero("USD") and a


def test_mixed_currency_raises():
    usd, eur = Money(1, "USD"), Money(1, "EUR")
    for op in (lambda: usd + eur, lambda: usd - eur, lambda: usd < eur, lambda: usd >= eur):
        with pytest.raises(CurrencyMismatch) as exc:
            op()
        assert exc.value.code == "currency_mismatch"
    assert usd != eur  # equality never raises: it is simply false


def test_no_float_arithmetic():
    m = Money(100, "USD")
    with pytest.raises(TypeError):
        m * 1.5
    with pytest.raises(TypeError):
        m / 2
    with pytest.raises(TypeError):
        m + 1
    with pytest.raises(TypeError):
        m.scale(0.1)


def test_scale_and_allocate():
    assert Money(1000, "EUR").scale(Decimal("1.0800")) == Money(1080, "EUR")
    assert Money(5, "USD").scale(Decimal("0.5")) == Money(2, "USD")  # half-even
    assert Money(500, "USD").allocate(9, 1) == (Money(450, "USD"), Money(50, "USD"))
    parts = Money(100, "USD").allocate(1, 1, 1)
    assert sum(p.amount for p in parts) == 100
    assert Money(7, "USD").allocate(0, 1) == (Money(0, "USD"), Money(7, "USD"))


def test_format_is_locale_aware():
    assert Money(123450, "USD").format("en") == "$1,234.50"
    assert Money(123450, "EUR").format("de_DE") == "1.234,50\xa0€"
    assert Money(1234, "JPY").format("en") == "¥1,234"
    assert Money(1234, "KWD").format("en") == "KWD1.234"
    assert str(Money(1050, "USD")) == "10.50 USD"
    assert Money(5, "JPY").as_dict() == {"amount": 5, "currency": "JPY"}


@override_settings(SUPPORTED_CURRENCIES=["USD", "EUR"])
def test_supported_currencies_are_configured():
    assert currency_require_supported("USD") == "USD"
    with pytest.raises(UnsupportedCurrency):
        currency_require_supported("JPY")


# --- amounts typed into pages, in the page's number format --------------------------------
@pytest.mark.parametrize(
    ("typed", "locale", "minor"),
    [
        ("7,50", "de", 750),
        ("7.50", "de", 750),  # the point people often type, 1-2 digits after it
        ("1.234,56", "de", 123456),
        ("7.500", "de", 750000),  # German grouping: seven thousand five hundred
        ("12.345.678,9", "de", 1234567890),
        ("0,5", "de", 50),
        ("1,234.56", "en", 123456),
        ("7.50", "en", 750),
        ("1 234,5", "fr", 123450),
    ],
)
def test_typed_amounts_follow_the_page_locale(typed, locale, minor):
    from core.money import Money

    assert Money.parse_typed(typed, "EUR", locale=locale).amount == minor


@pytest.mark.parametrize(
    ("typed", "locale"),
    [
        ("7,50", "en"),  # a comma is no decimal point in English
        ("1.2.3", "de"),
        ("1.23,4", "de"),  # broken grouping
        ("0.001", "de"),  # no group starts with zero; three decimals are too precise
        ("7,", "de"),
        ("1,2345.5", "en"),
        ("abc", "de"),
        ("", "en"),  # an empty field is refused, not an IndexError (a 500 on a page)
        ("  ", "de"),
    ],
)
def test_typed_amounts_that_cannot_be_read_safely_are_refused(typed, locale):
    from core.exceptions import DomainError
    from core.money import Money

    with pytest.raises(DomainError):
        Money.parse_typed(typed, "EUR", locale=locale)


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-", "malformed"),
        ("+", "malformed"),
        (" 1", "padded"),
        ("1 ", "padded"),
        ("\u00a01", "padded"),
        ("1e3", "exponent_notation"),
        ("1.0e0", "exponent_notation"),
    ],
)
def test_typed_amounts_blank_padded_or_exponent_are_invalid_amount(typed, reason, locale):
    """Once a 500 (the normaliser read the first character of an empty string)."""
    from core.exceptions import DomainError
    from core.money import Money

    with pytest.raises(DomainError) as exc:
        Money.parse_typed(typed, "EUR", locale=locale)
    assert exc.value.code == "invalid_amount"
    assert exc.value.details["reason"] == reason


def test_typed_amounts_use_the_active_language_by_default():
    from django.utils import translation

    from core.money import Money

    with translation.override("de"):
        assert Money.parse_typed("2,50", "EUR").amount == 250
    with translation.override("en"):
        assert Money.parse_typed("2,500.00", "EUR").amount == 250000
