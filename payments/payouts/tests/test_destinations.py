"""Destinations by country through the service and the sandbox: what is stored (country,
currency, holder, last four only) and that refused details write nothing."""

from __future__ import annotations

import pytest
from django.db import connection

from payments.payouts import services
from payments.payouts.errors import InvalidBankAccount, InvalidBankDetails
from payments.payouts.models import PayoutDestination
from payments.payouts.tests.support import make_user

pytestmark = pytest.mark.django_db


def test_a_german_iban_is_stored_as_country_currency_and_last_four_only():
    creator = make_user()
    destination = services.payout_destination_add(
        user=creator,
        country="de",
        details={"iban": "de89 3704 0044 0532 0130 00"},
        account_holder_name="  Grete   Müller ",
    )

    destination.refresh_from_db()
    assert (destination.status, destination.country, destination.currency) == (
        "active",
        "DE",
        "EUR",
    )
    assert (destination.last4, destination.account_holder_name) == ("3000", "Grete Müller")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM payments_payoutdestination WHERE id = %s", [destination.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert "0532013000" not in row and "DE89" not in row  # never the full number


@pytest.mark.parametrize(
    ("country", "details", "last4", "currency"),
    [
        ("GB", {"sort_code": "10-88-00", "account_number": "00012345"}, "2345", "GBP"),
        ("IN", {"ifsc": "HDFC0000261", "account_number": "000123456789"}, "6789", "INR"),
        ("CH", {"iban": "CH9300762011623852957"}, "2957", "CHF"),
    ],
)
def test_each_shape_reaches_the_processor(country, details, last4, currency):
    destination = services.payout_destination_add(
        user=make_user(), country=country, details=details
    )
    assert (destination.country, destination.currency, destination.last4) == (
        country,
        currency,
        last4,
    )


@pytest.mark.parametrize(
    ("country", "details", "currency"),
    [
        ("DE", {"iban": "DE88370400440532013000"}, ""),  # check digits
        ("DE", {"iban": "DE89370400440532013000"}, "USD"),  # not a German account's currency
        ("GB", {"sort_code": "108800"}, ""),  # no account number
        ("ZZ", {"iban": "DE89370400440532013000"}, ""),
    ],
)
def test_refused_details_write_nothing(country, details, currency):
    creator = make_user()
    with pytest.raises(InvalidBankDetails):
        services.payout_destination_add(
            user=creator, country=country, currency=currency, details=details
        )
    assert not PayoutDestination.objects.filter(user=creator).exists()


def test_a_valid_iban_the_processor_does_not_know_leaves_the_active_one(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    creator = make_user()
    services.payout_destination_add(
        user=creator, country="DE", details={"iban": "DE89370400440532013000"}
    )
    with pytest.raises(InvalidBankAccount) as caught:
        services.payout_destination_add(
            user=creator, country="DE", details={"iban": "DE82370400440532013999"}
        )
    assert caught.value.details == {"processor_code": "account_number_invalid"}
    assert creator.payout_destinations.get(status="active").last4 == "3000"


@pytest.mark.parametrize(
    ("details", "holder"),
    [
        ({"iban": "DE٨٩370400440532013000"}, "Grete"),  # other scripts' digits
        ({"iban": "DE89370400440532013000"}, "Grete\x00Müller"),  # a NUL in the name
        ({"iban": "DE89370400440532013000"}, "G" * 101),
    ],
)
def test_odd_characters_are_refused_before_anything_is_written(details, holder):
    from core.exceptions import ValidationFailed

    creator = make_user()
    with pytest.raises(ValidationFailed):
        services.payout_destination_add(
            user=creator, country="DE", details=details, account_holder_name=holder
        )
    assert not PayoutDestination.objects.filter(user=creator).exists()
