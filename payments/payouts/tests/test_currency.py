"""Payouts in the bank account's currency: a worked EUR example with its postings, and a
USD wallet paying out to a EUR account through an FX quote in one confirmed step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.money import Money
from ledger.models import Entry, Hold
from ledger.selectors import ledger_verify
from payments.fx.models import FxQuote
from payments.fx.services import fx_rates_refresh
from payments.payouts import services
from payments.payouts.errors import (
    PayoutCurrencyMismatch,
    PayoutDestinationOnHold,
    PayoutQuoteMismatch,
)
from payments.payouts.models import Payout, PayoutStatus
from payments.payouts.tests.support import (
    available,
    deliver_events,
    fund,
    legs_of,
    make_user,
    posted,
    settle,
)

pytestmark = pytest.mark.django_db

EUR_WALLET = "wallet:user:{}:EUR"
USD_WALLET = "wallet:user:{}:USD"
TRANSIT = "platform:payouts_in_transit:EUR"
CLEARING = "platform:processor_clearing:sandbox:EUR"


@pytest.fixture(autouse=True)
def _no_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0


def german_creator():
    creator = make_user()
    services.payout_destination_add(
        user=creator,
        country="DE",
        details={"iban": "DE89370400440532013000"},
        account_holder_name="Grete Müller",
    )
    return creator


def verify_ok():
    report = ledger_verify(hold_max_age=timedelta(days=365))
    assert report.ok, report.findings


def test_worked_example_a_eur_payout_to_a_german_iban():
    creator = german_creator()
    fund(creator, 20000, "EUR")  # 200.00 EUR in the wallet

    payout = services.payout_request(
        user=creator, amount=Money(12550, "EUR"), method="standard", request_key="eur-1"
    )
    assert (payout.amount, payout.fee, payout.currency) == (12550, 0, "EUR")
    hold = Hold.objects.get(pk=payout.hold_id)
    assert sorted((leg.direction, leg.account.key, leg.amount) for leg in hold.legs.all()) == [
        ("C", TRANSIT, 12550),
        ("D", EUR_WALLET.format(creator.pk), 12550),
    ]
    assert available(EUR_WALLET.format(creator.pk)) == 7450

    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    assert settle(remote_id) == "paid"
    deliver_events(remote_id, "payout.paid")

    payout.refresh_from_db()
    assert payout.status == payout.ledger_status == PayoutStatus.PAID
    paid = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:paid")
    assert legs_of(paid) == [("C", TRANSIT, 12550), ("D", EUR_WALLET.format(creator.pk), 12550)]
    settled = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:settle")
    assert legs_of(settled) == [("C", CLEARING, 12550), ("D", TRANSIT, 12550)]
    assert posted(EUR_WALLET.format(creator.pk)) == 7450
    assert posted(TRANSIT) == 0
    verify_ok()


def test_a_payout_in_another_currency_than_the_account_is_refused_and_moves_nothing():
    creator = german_creator()
    fund(creator, 5000, "USD")
    with pytest.raises(PayoutCurrencyMismatch) as caught:
        services.payout_request(
            user=creator, amount=Money(1000, "USD"), method="standard", request_key="usd-1"
        )
    assert caught.value.details == {"currency": "EUR"}
    assert caught.value.status == 422
    assert not Payout.objects.filter(user=creator).exists()
    assert not Hold.objects.filter(reference=f"payout-request:{creator.pk}").exists()
    assert available(USD_WALLET.format(creator.pk)) == 5000


def test_a_usd_wallet_pays_out_to_a_eur_account_through_one_quote(settings):
    settings.FX_FEE_BPS = 50
    fx_rates_refresh()
    creator = german_creator()
    fund(creator, 20000, "USD")

    offer = services.payout_conversion_quote(
        user=creator, amount=Money(5000, "EUR"), method="standard", from_currency="USD"
    )
    quote = FxQuote.objects.get(pk=offer.fx_quote_id)
    assert (quote.source_currency, quote.target_currency, quote.target_amount) == (
        "USD",
        "EUR",
        5000,
    )
    assert offer.source == Money(quote.source_amount, "USD")
    assert offer.fx_fee == Money(quote.fee_amount, "EUR") and quote.fee_amount > 0
    assert offer.payout.total == Money(5000, "EUR")
    assert Entry.objects.filter(idempotency_key=quote.ledger_key).count() == 0  # priced only

    payout = services.payout_request_converted(
        user=creator,
        amount=Money(5000, "EUR"),
        method="standard",
        fx_quote_id=offer.fx_quote_id,
        request_key="conv-1",
    )

    conversion = Entry.objects.get(idempotency_key=quote.ledger_key)
    assert legs_of(conversion) == sorted(
        [
            ("D", USD_WALLET.format(creator.pk), quote.source_amount),
            ("C", "platform:fx:USD", quote.source_amount),
            ("D", "platform:fx:EUR", 5000 + quote.fee_amount),
            ("C", EUR_WALLET.format(creator.pk), 5000),
            ("C", "platform:fees:EUR", quote.fee_amount),
        ]
    )
    assert (payout.amount, payout.currency, payout.status) == (5000, "EUR", "requested")
    assert available(USD_WALLET.format(creator.pk)) == 20000 - quote.source_amount
    assert available(EUR_WALLET.format(creator.pk)) == 0  # all of it is on its way out
    # The same confirmation again converts nothing twice and returns the same payout.
    again = services.payout_request_converted(
        user=creator,
        amount=Money(5000, "EUR"),
        method="standard",
        fx_quote_id=offer.fx_quote_id,
        request_key="conv-1",
    )
    assert again.pk == payout.pk
    assert Entry.objects.filter(code="fx_conversion", reference=f"fx_quote:{quote.pk}").count() == 1

    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    settle(remote_id)
    deliver_events(remote_id, "payout.paid")
    assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.PAID
    verify_ok()


def test_a_refused_payout_rolls_the_conversion_back(settings):
    fx_rates_refresh()
    creator = german_creator()
    fund(creator, 20000, "USD")
    offer = services.payout_conversion_quote(
        user=creator, amount=Money(5000, "EUR"), method="standard", from_currency="USD"
    )
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 72
    services.payout_destination_add(
        user=creator, country="DE", details={"iban": "DE89370400440532013000"}
    )  # a new account: the hold starts again

    with pytest.raises(PayoutDestinationOnHold):
        services.payout_request_converted(
            user=creator,
            amount=Money(5000, "EUR"),
            method="standard",
            fx_quote_id=offer.fx_quote_id,
            request_key="conv-2",
        )
    assert available(USD_WALLET.format(creator.pk)) == 20000
    assert available(EUR_WALLET.format(creator.pk)) == 0
    assert FxQuote.objects.get(pk=offer.fx_quote_id).entry_id is None
    assert not Payout.objects.filter(user=creator).exists()


def test_a_quote_for_another_amount_is_refused(settings):
    fx_rates_refresh()
    creator = german_creator()
    fund(creator, 20000, "USD")
    offer = services.payout_conversion_quote(
        user=creator, amount=Money(5000, "EUR"), method="standard", from_currency="USD"
    )
    with pytest.raises(PayoutQuoteMismatch):
        services.payout_request_converted(
            user=creator,
            amount=Money(6000, "EUR"),
            method="standard",
            fx_quote_id=offer.fx_quote_id,
            request_key="conv-3",
        )
    assert available(USD_WALLET.format(creator.pk)) == 20000
