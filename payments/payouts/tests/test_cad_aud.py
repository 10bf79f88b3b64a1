"""Canadian and Australian dollars end to end: a CAD or AUD wallet is topped up by card in
the sandbox, pays out to a Canadian (transit + institution + account) or Australian (BSB
+ account) bank account in its own currency, and a USD wallet pays out in AUD through one
FX quote. Worked examples with their postings, in cents of each currency."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from core.money import EXPONENTS, Money, supported_currencies
from ledger.models import Entry, Hold
from ledger.selectors import ledger_verify
from payments.fx.models import FxQuote
from payments.fx.services import fx_quote_create, fx_rates_refresh
from payments.payouts import bank_formats, services
from payments.payouts.errors import InvalidBankDetails, PayoutCurrencyMismatch
from payments.payouts.models import Payout, PayoutDestination, PayoutStatus
from payments.payouts.tests.support import (
    available,
    deliver_events,
    legs_of,
    make_user,
    posted,
    settle,
)
from payments.processors.sandbox import models as sandbox_models
from payments.wallets import topups

pytestmark = pytest.mark.django_db

WALLET = "wallet:user:{}:{}"


@pytest.fixture(autouse=True)
def _no_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0


def topup(user, amount: int, currency: str) -> None:
    """A sandbox card top-up in ``currency``, settled as its webhook settles it."""
    created = topups.topup_create(
        user=user,
        money=Money(amount, currency),
        payment_method="pm_card_visa",
        client_key=f"test:{uuid.uuid4().hex}",
    )
    topups.topup_settle(topup_id=created.pk, payment_id=created.payment_id)


def canadian(currency: str = "CAD"):
    user = make_user()
    services.payout_destination_add(
        user=user,
        country="CA",
        currency=currency,
        details={
            "transit_number": "11000",
            "institution_number": "000",
            "account_number": "000123456789",
        },
        account_holder_name="Émilie Tremblay",
    )
    return user


def australian():
    user = make_user()
    services.payout_destination_add(
        user=user,
        country="AU",
        details={"bsb": "110-000", "account_number": "000123456"},
        account_holder_name="Jack Wilson",
    )
    return user


def verify_ok():
    report = ledger_verify(hold_max_age=timedelta(days=365))
    assert report.ok, report.findings


def test_cad_and_aud_are_wallet_currencies_with_cents():
    assert {"CAD", "AUD"} <= set(supported_currencies())
    assert (EXPONENTS["CAD"], EXPONENTS["AUD"]) == (2, 2)
    assert Money.parse("12.34", "CAD") == Money(1234, "CAD")
    assert {"CA", "AU"} <= set(bank_formats.bank_countries())
    assert bank_formats.FORMATS["CA"].supported_currencies() == ("CAD", "USD")
    assert bank_formats.FORMATS["AU"].supported_currencies() == ("AUD",)


@pytest.mark.parametrize(
    ("make", "currency", "last4"), [(canadian, "CAD", "6789"), (australian, "AUD", "3456")]
)
def test_worked_example_a_payout_in_cad_or_aud(make, currency, last4):
    creator = make()
    destination = PayoutDestination.objects.get(user=creator, status="active")
    assert (destination.currency, destination.last4) == (currency, last4)
    topup(creator, 30000, currency)  # 300.00 by card; the processor's fee is the platform's
    wallet = WALLET.format(creator.pk, currency)
    transit = f"platform:payouts_in_transit:{currency}"
    clearing = f"platform:processor_clearing:sandbox:{currency}"
    assert available(wallet) == 30000
    clearing_before = posted(clearing)

    payout = services.payout_request(
        user=creator, amount=Money(12345, currency), method="standard", request_key="ca-au-1"
    )
    hold = Hold.objects.get(pk=payout.hold_id)
    assert sorted((leg.direction, leg.account.key, leg.amount) for leg in hold.legs.all()) == [
        ("C", transit, 12345),
        ("D", wallet, 12345),
    ]
    assert available(wallet) == 30000 - 12345

    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    remote = sandbox_models.Payout.objects.get(id=remote_id)
    assert (remote.amount, remote.currency) == (12345, currency.lower())
    assert settle(remote_id) == "paid"
    deliver_events(remote_id, "payout.paid")

    payout.refresh_from_db()
    assert payout.status == payout.ledger_status == PayoutStatus.PAID
    paid = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:paid")
    assert legs_of(paid) == [("C", transit, 12345), ("D", wallet, 12345)]
    settled = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:settle")
    assert legs_of(settled) == [("C", clearing, 12345), ("D", transit, 12345)]
    assert posted(wallet) == 30000 - 12345
    assert posted(transit) == 0
    assert posted(clearing) == clearing_before - 12345
    verify_ok()


def test_a_canadian_account_in_usd_is_paid_from_the_usd_wallet():
    creator = canadian("USD")
    topup(creator, 5000, "USD")
    with pytest.raises(PayoutCurrencyMismatch):
        services.payout_request(
            user=creator, amount=Money(1000, "CAD"), method="standard", request_key="cad-x"
        )
    payout = services.payout_request(
        user=creator, amount=Money(1000, "USD"), method="standard", request_key="usd-ca"
    )
    assert (payout.currency, payout.destination.country) == ("USD", "CA")


def test_a_usd_wallet_pays_out_in_aud_through_one_quote(settings):
    settings.FX_FEE_BPS = 50
    fx_rates_refresh()
    creator = australian()
    topup(creator, 20000, "USD")

    offer = services.payout_conversion_quote(
        user=creator, amount=Money(10000, "AUD"), method="standard", from_currency="USD"
    )
    quote = FxQuote.objects.get(pk=offer.fx_quote_id)
    assert (quote.source_currency, quote.target_currency, quote.target_amount) == (
        "USD",
        "AUD",
        10000,
    )
    # About 1.52 AUD per USD in the sandbox: 100 AUD cost about 66 USD, plus the fee.
    assert 6400 < quote.source_amount < 6800
    payout = services.payout_request_converted(
        user=creator,
        amount=Money(10000, "AUD"),
        method="standard",
        fx_quote_id=offer.fx_quote_id,
        request_key="aud-conv",
    )
    conversion = Entry.objects.get(idempotency_key=quote.ledger_key)
    assert legs_of(conversion) == sorted(
        [
            ("D", WALLET.format(creator.pk, "USD"), quote.source_amount),
            ("C", "platform:fx:USD", quote.source_amount),
            ("D", "platform:fx:AUD", 10000 + quote.fee_amount),
            ("C", WALLET.format(creator.pk, "AUD"), 10000),
            ("C", "platform:fees:AUD", quote.fee_amount),
        ]
    )
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    settle(remote_id)
    deliver_events(remote_id, "payout.paid")
    assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.PAID
    assert available(WALLET.format(creator.pk, "USD")) == 20000 - quote.source_amount
    verify_ok()


def test_cad_converts_to_aud_and_back_with_cents():
    fx_rates_refresh()
    person = make_user()
    quote = fx_quote_create(
        user=person, source_currency="CAD", target_currency="AUD", source_amount=10000
    )
    # Sandbox mid-market: 1.64 / 1.48 ≈ 1.108 AUD per CAD, less the FX fee.
    assert 10500 < quote.target_amount < 11100


@pytest.mark.parametrize(
    ("country", "details", "field", "reason"),
    [
        (
            "CA",
            {"transit_number": "1100", "institution_number": "000", "account_number": "0001234567"},
            "transit_number",
            "bank_field_length",
        ),
        (
            "CA",
            {"transit_number": "11000", "institution_number": "0a0", "account_number": "0001234"},
            "institution_number",
            "bank_field_digits",
        ),
        ("AU", {"bsb": "11000", "account_number": "000123456"}, "bsb", "bank_field_length"),
        ("AU", {"bsb": "110000", "account_number": "0001"}, "account_number", "bank_field_length"),
    ],
)
def test_bad_canadian_and_australian_details_write_nothing(country, details, field, reason):
    person = make_user()
    with pytest.raises(InvalidBankDetails) as caught:
        services.payout_destination_add(user=person, country=country, details=details)
    assert caught.value.details["fields"] == {field: reason}
    assert not PayoutDestination.objects.filter(user=person).exists()


def test_an_aud_account_refuses_cad():
    person = make_user()
    with pytest.raises(InvalidBankDetails) as caught:
        services.payout_destination_add(
            user=person,
            country="AU",
            currency="CAD",
            details={"bsb": "110000", "account_number": "000123456"},
        )
    assert caught.value.details["fields"] == {"currency": "bank_currency_unsupported"}
    assert not PayoutDestination.objects.filter(user=person).exists()
