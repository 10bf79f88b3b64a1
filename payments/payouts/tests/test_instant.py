"""Instant payouts to a debit card: the card as a destination (re-authentication, the hold,
debit cards only), the fee as platform revenue in every currency's minor units, the
worked example of its postings, a card whose payout fails (the fee comes back), and the
refusals that leave nothing behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_create
from core.money import Money
from ledger.models import Entry, Hold
from ledger.selectors import ledger_verify
from payments.payouts import services
from payments.payouts.errors import (
    InstantPayoutUnavailable,
    InvalidBankAccount,
    InvalidPayoutCard,
    PayoutCardNotDebit,
    PayoutDestinationOnHold,
)
from payments.payouts.models import Payout, PayoutDestination, PayoutStatus
from payments.payouts.tests.support import (
    PASSWORD,
    available,
    card_payee,
    deliver_events,
    fund,
    legs_of,
    make_user,
    payee,
    posted,
    settle,
)
from payments.processors.sandbox import models as sandbox_models
from payments.wallets.models import ReceiptOutbox
from payments.wallets.receipts import receipts_outbox_drain

pytestmark = pytest.mark.django_db

FEES = "platform:fees:{}"
TRANSIT = "platform:payouts_in_transit:{}"
CLEARING = "platform:processor_clearing:sandbox:{}"
WALLET = "wallet:user:{}:{}"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    settings.PAYOUT_INSTANT_FEE_BPS = 150
    settings.PAYOUT_INSTANT_FEE_MIN = 50


def verify_ok():
    report = ledger_verify(hold_max_age=timedelta(days=365))
    assert report.ok, report.findings


def instant(user, amount: int, currency: str = "USD", key: str = "instant-1") -> Payout:
    return services.payout_request(
        user=user, amount=Money(amount, currency), method="instant", request_key=key
    )


# --- the card as a destination -----------------------------------------------------------------


def test_a_debit_card_replaces_the_bank_account_and_starts_the_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 72
    creator = payee()
    card = services.payout_card_add(user=creator, token="tok_visa_debit")
    assert (card.kind, card.card_brand, card.last4, card.currency) == (
        "card",
        "Visa",
        "5556",
        "USD",
    )
    assert card.instant_available and card.bank_account_id.startswith("card_")
    assert card.payouts_allowed_at > timezone.now() + timedelta(hours=71)
    assert list(
        PayoutDestination.objects.filter(user=creator).values_list("kind", "status").order_by("id")
    ) == [("bank_account", "replaced"), ("card", "active")]
    fund(creator, 10000)
    with pytest.raises(PayoutDestinationOnHold):
        instant(creator, 1000)


def test_the_card_takes_the_home_currency_or_the_one_asked_for():
    person = make_user()
    person.home_currency = "CAD"
    person.save(update_fields=["home_currency"])
    assert services.payout_card_add(user=person, token="pm_card_visa_debit").currency == "CAD"
    second = services.payout_card_add(user=person, token="tok_mastercard_debit", currency="AUD")
    assert second.currency == "AUD"


@pytest.mark.parametrize("token", ["tok_visa", "pm_card_visa", "tok_amex", "tok_visa_prepaid"])
def test_a_card_that_is_not_a_debit_card_is_refused_and_nothing_changes(token):
    creator = payee()
    with pytest.raises(PayoutCardNotDebit) as caught:
        services.payout_card_add(user=creator, token=token)
    assert (caught.value.code, caught.value.status) == ("payout_card_not_debit", 400)
    active = PayoutDestination.objects.get(user=creator, status="active")
    assert active.kind == "bank_account"  # the bank account stays where payouts go
    failed = PayoutDestination.objects.get(user=creator, status="failed")
    assert failed.failure_code == "invalid_card_type"  # the attempt is kept, never active


@pytest.mark.parametrize(
    "token", ["", "4242424242424242", "tok_visa debit", "x" * 200, "btok_us_verified", "tok_"]
)
def test_a_malformed_card_token_writes_nothing(token):
    person = make_user()
    with pytest.raises(InvalidPayoutCard) as caught:
        services.payout_card_add(user=person, token=token)
    assert caught.value.code == "invalid_payout_card"
    assert not PayoutDestination.objects.filter(user=person).exists()


def test_an_unknown_card_token_is_refused():
    person = make_user()
    with pytest.raises(InvalidPayoutCard) as caught:
        services.payout_card_add(user=person, token="tok_no_such_card")
    assert caught.value.details == {"processor_code": "resource_missing"}
    assert not PayoutDestination.objects.filter(user=person, status="active").exists()


def test_a_card_token_on_the_bank_account_route_is_refused():
    person = make_user()
    with pytest.raises(InvalidBankAccount):
        services.payout_destination_add(user=person, token="tok_visa_debit")
    assert not PayoutDestination.objects.filter(user=person).exists()


# --- the fee -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "fee"),
    [
        (10000, "USD", 150),  # 1.5 %
        (1000, "USD", 50),  # the minimum, $0.50
        (10000, "CAD", 150),
        (1000, "CAD", 67),  # $0.50 at 0.75 USD per CAD, rounded up
        (1000, "AUD", 72),  # $0.50 at 0.70 USD per AUD, rounded up
        (1000, "JPY", 72),  # no minor unit: 72 yen
        (1000, "KWD", 152),  # three decimals: 0.152 dinars
        (100001, "EUR", 1501),  # rounded up, never down
    ],
)
def test_the_instant_fee_in_minor_units_of_each_currency(amount, currency, fee):
    quote = services.payout_quote(amount=Money(amount, currency), method="instant")
    assert quote.fee == Money(fee, currency)
    assert quote.total == Money(amount + fee, currency)
    assert quote.arrival_estimate == timezone.now().date()
    assert services.payout_quote(amount=Money(amount, currency), method="standard").fee.amount == 0


# --- worked examples -----------------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["USD", "CAD", "AUD"])
def test_worked_example_an_instant_payout_to_a_debit_card(currency):
    creator = card_payee(20000, currency=currency)
    wallet = WALLET.format(creator.pk, currency)
    fees_before = posted(FEES.format(currency))

    payout = instant(creator, 10000, currency)
    assert (payout.amount, payout.fee, payout.method) == (10000, 150, "instant")
    hold = Hold.objects.get(pk=payout.hold_id)
    assert sorted((leg.direction, leg.account.key, leg.amount) for leg in hold.legs.all()) == [
        ("C", FEES.format(currency), 150),
        ("C", TRANSIT.format(currency), 10000),
        ("D", wallet, 10150),
    ]
    assert available(wallet) == 20000 - 10150

    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    remote = sandbox_models.Payout.objects.select_related("bank_account").get(id=remote_id)
    # The card is paid, not the bank: the processor gets the amount, never the fee.
    assert (remote.method, remote.amount, remote.bank_account.kind) == ("instant", 10000, "card")
    assert remote.arrival_date == timezone.now().date()
    assert settle(remote_id) == "paid"
    deliver_events(remote_id, "payout.paid")

    payout.refresh_from_db()
    assert payout.status == payout.ledger_status == PayoutStatus.PAID
    paid = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:paid")
    assert legs_of(paid) == [
        ("C", FEES.format(currency), 150),
        ("C", TRANSIT.format(currency), 10000),
        ("D", wallet, 10150),
    ]
    settled = Entry.objects.get(idempotency_key=f"payout:{payout.pk}:settle")
    assert legs_of(settled) == [
        ("C", CLEARING.format(currency), 10000),
        ("D", TRANSIT.format(currency), 10000),
    ]
    assert posted(wallet) == 20000 - 10150
    assert posted(FEES.format(currency)) - fees_before == 150  # platform revenue
    assert posted(TRANSIT.format(currency)) == 0
    # The person is told, as for every payout (the receipt's outbox, then a notification).
    (outbox,) = ReceiptOutbox.objects.all()
    assert [spec["key"] for spec in outbox.payload] == [f"payout:{payout.pk}:paid:owner"]
    assert receipts_outbox_drain() == 1
    assert creator.notifications.filter(kind="payout_paid", target_id=payout.pk).exists()
    verify_ok()


def test_a_failed_card_payout_returns_the_amount_and_the_fee():
    creator = card_payee(20000, token="tok_visa_debit_transferFail")
    payout = instant(creator, 10000)
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    assert settle(remote_id) == "failed"
    deliver_events(remote_id, "payout.failed")
    payout.refresh_from_db()
    assert (payout.status, payout.failure_code) == ("failed", "could_not_process")
    assert Hold.objects.get(pk=payout.hold_id).status == "voided"
    assert available(WALLET.format(creator.pk, "USD")) == 20000
    assert posted(FEES.format("USD")) == 0
    verify_ok()


def test_a_standard_payout_to_a_debit_card_is_free():
    creator = card_payee(5000)
    payout = services.payout_request(
        user=creator, amount=Money(1000, "USD"), method="standard", request_key="std-card"
    )
    assert payout.fee == 0
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    assert sandbox_models.Payout.objects.get(id=remote_id).method == "standard"


# --- refusals ------------------------------------------------------------------------------------


def test_instant_to_a_bank_account_is_refused_and_moves_nothing():
    creator = payee(20000)
    with pytest.raises(InstantPayoutUnavailable) as caught:
        instant(creator, 1000)
    assert (caught.value.code, caught.value.status) == ("instant_payout_unavailable", 422)
    assert not Payout.objects.filter(user=creator).exists()
    assert not Hold.objects.filter(reference=f"payout-request:{creator.pk}").exists()
    assert available(WALLET.format(creator.pk, "USD")) == 20000


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture
def _throttles(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates.update({k: "100000/min" for k in ("anon", "user", "auth", "money")})
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


def api(user) -> APIClient:
    _, secret = token_create(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def reauthenticated(user) -> Client:
    """A browser session that has just proved the password (the step-up rule)."""
    client = Client()
    client.force_login(user)
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.mark.usefixtures("_throttles")
def test_api_adds_a_card_only_after_reauthentication():
    person = make_user()
    stale = api(person)
    ApiToken.objects.filter(user=person).update(
        reauthenticated_at=timezone.now() - timedelta(hours=1)
    )
    response = stale.put(
        "/api/v1/payouts/destination/card", {"token": "tok_visa_debit"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reauthentication_required"
    assert not PayoutDestination.objects.filter(user=person).exists()

    response = api(person).put(  # a fresh token is a fresh proof
        "/api/v1/payouts/destination/card", {"token": "tok_visa_debit"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()["destination"]
    assert (body["kind"], body["last4"], body["card_brand"], body["instant_available"]) == (
        "card",
        "5556",
        "Visa",
        True,
    )


@pytest.mark.usefixtures("_throttles")
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"token": "tok_visa"}, 400, "payout_card_not_debit"),
        ({"token": "4242 4242 4242 4242"}, 400, "invalid_payout_card"),
        ({"token": "tok_visa_debit", "currency": "XYZ"}, 400, "invalid_currency"),
        ({"token": "tok_visa_debit", "currency": "SEK"}, 422, "unsupported_currency"),
        ({"token": 12}, 400, None),
        ({}, 400, None),
        ({"token": "tok_visa_debit", "extra": 1}, 400, None),
    ],
)
def test_api_bad_cards_are_4xx_with_nothing_active(body, status, code):
    person = make_user()
    response = api(person).put("/api/v1/payouts/destination/card", body, format="json")
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] and (code is None or error["code"] == code)
    assert not PayoutDestination.objects.filter(user=person, status="active").exists()


@pytest.mark.usefixtures("_throttles")
def test_api_instant_payout_to_a_bank_account_is_422_and_writes_nothing():
    creator = payee(20000)
    response = api(creator).post(
        "/api/v1/payouts",
        {"amount": 1000, "currency": "USD", "method": "instant"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="instant-bank-0001",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "instant_payout_unavailable"
    assert not Payout.objects.filter(user=creator).exists()
    assert available(WALLET.format(creator.pk, "USD")) == 20000


@pytest.mark.usefixtures("_throttles")
def test_api_quote_shows_the_instant_fee_first():
    creator = card_payee(20000, currency="CAD")
    response = api(creator).post(
        "/api/v1/payouts/quote",
        {"amount": 1000, "currency": "CAD", "method": "instant"},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["fee"]["amount"], response.json()["total"]["amount"]) == (67, 1067)


# --- the pages -----------------------------------------------------------------------------------


def test_the_payout_page_offers_instant_only_for_a_debit_card():
    bank_client = Client()
    bank_client.force_login(payee(5000))
    assert 'value="instant"' not in bank_client.get("/payouts/").content.decode()
    refused = bank_client.post(
        "/payouts/", {"amount": "10.00", "currency": "USD", "method": "instant"}
    )
    assert refused.status_code == 400

    card_client = Client()
    card_client.force_login(card_payee(5000))
    page = card_client.get("/payouts/").content.decode()
    assert 'value="instant"' in page and "at least $0.50" in page
    review = card_client.post(
        "/payouts/", {"amount": "100.00", "currency": "USD", "method": "instant"}
    ).content.decode()
    # The fee comes first: in its own notice, and as the review's first line.
    assert review.index("$1.50") < review.index("$100.00")
    assert 'id="instant-fee"' in review and "Visa debit card ending in" in review


def test_the_card_page_needs_reauthentication_and_shows_the_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 72
    person = make_user()
    plain = Client()
    plain.force_login(person)
    assert plain.get("/payouts/settings/card").status_code == 302  # to re-authentication
    client = reauthenticated(person)
    page = client.get("/payouts/settings/card").content.decode()
    assert "payouts pause for 72 hours" in page
    assert page.index("72 hours") < page.index("tok_visa_debit")
    refused = client.post("/payouts/settings/card", {"token": "tok_visa"})
    assert refused.status_code == 400 and "debit cards only" in refused.content.decode()
    assert not PayoutDestination.objects.filter(user=person, status="active").exists()
    saved = client.post("/payouts/settings/card", {"token": "tok_visa_debit"})
    assert saved.status_code == 302
    assert PayoutDestination.objects.get(user=person, status="active").kind == "card"
