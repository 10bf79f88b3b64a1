"""Bank details by country: each shape's valid values, and one refusal per kind of mistake
(wrong check digits, wrong length, letters where digits belong), with spaces, dashes and
lowercase accepted and normalised. No database: ``bank_formats`` only checks."""

# Tables of test values read best one case a line.
# ruff: noqa: E501
from __future__ import annotations

import pytest

from core.error_messages import MESSAGES
from payments.payouts import bank_formats
from payments.payouts.bank_formats import BANK_FIELD_ERRORS, bank_details_validate
from payments.payouts.errors import InvalidBankDetails


def refused(country: str, values: dict, currency: str | None = None) -> dict:
    with pytest.raises(InvalidBankDetails) as caught:
        bank_details_validate(country=country, currency=currency, values=values)
    assert caught.value.code == "invalid_bank_details"
    return caught.value.details["fields"]


# --- valid shapes, typed the way people type them ---------------------------------------------
@pytest.mark.parametrize(
    ("country", "values", "account_number", "routing", "currency"),
    [
        ("DE", {"iban": "de89 3704 0044 0532 0130 00"}, "DE89370400440532013000", None, "EUR"),
        ("FR", {"iban": "FR14 2004 1010 0505 0001 3M02 606"}, "FR1420041010050500013M02606", None, "EUR"),
        ("CH", {"iban": "CH93 0076 2011 6238 5295 7"}, "CH9300762011623852957", None, "CHF"),
        ("GB", {"sort_code": "10-88-00", "account_number": "0001 2345"}, "00012345", "108800", "GBP"),
        ("US", {"routing_number": "110000000", "account_number": "000123456789"}, "000123456789", "110000000", "USD"),
        ("CA", {"transit_number": "11000", "institution_number": "000", "account_number": "0001234567"}, "0001234567", "11000-000", "USD"),
        ("AU", {"bsb": "110-000", "account_number": "000123456"}, "000123456", "110000", None),
        ("IN", {"ifsc": "hdfc0000261", "account_number": "000123456789"}, "000123456789", "HDFC0000261", "INR"),
    ],
)  # fmt: skip
def test_each_country_shape_is_accepted_and_normalised(
    settings, country, values, account_number, routing, currency
):
    settings.SUPPORTED_CURRENCIES = [*settings.SUPPORTED_CURRENCIES, "AUD", "CAD"]
    details = bank_details_validate(country=country.lower(), currency=None, values=values)

    assert details.country == country
    assert details.account_number == account_number
    assert details.routing_number == routing
    assert details.last4 == account_number[-4:]
    if currency:  # the country's usual currency, or the first one wallets can hold
        assert details.currency == (currency if country != "CA" else "CAD")


def test_an_iban_with_a_bic_outside_sepa_needs_both():
    assert refused("KW", {"iban": "KW81CBKU0000000000001234560101"}) == {
        "bic": "bank_field_required"
    }
    details = bank_details_validate(
        country="KW",
        currency="KWD",
        values={"iban": "KW81 CBKU 0000 0000 0000 1234 5601 01", "bic": "cbkukwkw"},
    )
    assert (details.bic, details.currency) == ("CBKUKWKW", "KWD")


def test_a_bic_is_optional_in_sepa_but_checked_when_given():
    assert (
        bank_details_validate(
            country="DE", currency="EUR", values={"iban": "DE89370400440532013000"}
        ).bic
        is None
    )
    assert refused("DE", {"iban": "DE89370400440532013000", "bic": "COBAFRFF"}) == {
        "bic": "bank_country_mismatch"
    }
    assert refused("DE", {"iban": "DE89370400440532013000", "bic": "COBADEFFX"}) == {
        "bic": "bank_field_length"
    }


# --- one refusal per kind of mistake, per shape ------------------------------------------------
@pytest.mark.parametrize(
    ("country", "values", "field", "reason"),
    [
        # IBAN
        ("DE", {"iban": "DE88370400440532013000"}, "iban", "bank_field_checksum"),
        ("DE", {"iban": "DE8937040044053201300"}, "iban", "bank_field_length"),
        ("DE", {"iban": "DE89370400440532O13000"}, "iban", "bank_field_format"),
        ("FR", {"iban": "DE89370400440532013000"}, "iban", "bank_country_mismatch"),
        ("DE", {}, "iban", "bank_field_required"),
        # GB
        ("GB", {"sort_code": "108800", "account_number": "0001234"}, "account_number", "bank_field_length"),
        ("GB", {"sort_code": "1088OO", "account_number": "00012345"}, "sort_code", "bank_field_digits"),
        ("GB", {"sort_code": "10880", "account_number": "00012345"}, "sort_code", "bank_field_length"),
        # US
        ("US", {"routing_number": "110000001", "account_number": "000123456789"}, "routing_number", "bank_field_checksum"),
        ("US", {"routing_number": "11000000", "account_number": "000123456789"}, "routing_number", "bank_field_length"),
        ("US", {"routing_number": "110000000", "account_number": "0001234567AB"}, "account_number", "bank_field_digits"),
        ("US", {"routing_number": "110000000", "account_number": "123"}, "account_number", "bank_field_length"),
        ("US", {"routing_number": "110000000", "account_number": "١٢٣٤٥٦٧٨٩"}, "account_number", "bank_field_digits"),
        # CA
        ("CA", {"transit_number": "1100", "institution_number": "000", "account_number": "0001234567"}, "transit_number", "bank_field_length"),
        ("CA", {"transit_number": "11000", "institution_number": "0A0", "account_number": "0001234567"}, "institution_number", "bank_field_digits"),
        # AU
        ("AU", {"bsb": "11000", "account_number": "000123456"}, "bsb", "bank_field_length"),
        ("AU", {"bsb": "110000", "account_number": "0001234X6"}, "account_number", "bank_field_digits"),
        # IN
        ("IN", {"ifsc": "HDFC1000261", "account_number": "000123456789"}, "ifsc", "bank_field_format"),
        ("IN", {"ifsc": "HDFC000026", "account_number": "000123456789"}, "ifsc", "bank_field_length"),
        ("IN", {"ifsc": "HDFC0000261", "account_number": "12345678"}, "account_number", "bank_field_length"),
    ],
)  # fmt: skip
def test_each_mistake_is_named_on_its_field(settings, country, values, field, reason):
    settings.SUPPORTED_CURRENCIES = [*settings.SUPPORTED_CURRENCIES, "AUD", "CAD"]
    assert refused(country, values)[field] == reason


def test_every_mistake_is_reported_at_once():
    assert refused("GB", {"sort_code": "ab", "account_number": ""}, currency="EUR") == {
        "sort_code": "bank_field_digits",
        "account_number": "bank_field_required",
        "currency": "bank_currency_unsupported",
    }


def test_a_country_without_a_format_or_a_currency_wallets_hold_is_refused(settings):
    assert refused("ZZ", {"iban": "DE89370400440532013000"}) == {
        "country": "bank_country_unsupported"
    }
    settings.SUPPORTED_CURRENCIES = ["USD", "EUR"]
    assert refused("AU", {"bsb": "110000", "account_number": "000123456"}) == {
        "country": "bank_country_unsupported"
    }
    assert "AU" not in bank_formats.bank_countries()
    assert {"DE", "US", "SE"} <= set(bank_formats.bank_countries())  # SE: paid in EUR


def test_a_sepa_country_outside_the_euro_takes_its_own_currency_or_euro():
    fmt = bank_formats.bank_format("ch")
    assert fmt.supported_currencies() == ("CHF", "EUR")
    assert (
        bank_details_validate(
            country="CH", currency="eur", values={"iban": "CH9300762011623852957"}
        ).currency
        == "EUR"
    )


def test_every_field_reason_has_a_sentence():
    assert set(BANK_FIELD_ERRORS) <= set(MESSAGES)
    assert "invalid_bank_details" in MESSAGES
