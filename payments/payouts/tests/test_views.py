"""Payout pages: review shows the fee, total and arrival before anything moves; confirming
twice pays once; the bank account page asks for re-authentication."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.payouts.models import Payout
from payments.payouts.tests.support import card_payee, make_user, payee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_review_then_confirm_once():
    creator = card_payee(20000)
    client = signed_in(creator)
    page = client.get("/payouts/")
    assert page.status_code == 200 and b"5556" in page.content

    review = client.post("/payouts/", {"amount": "100.00", "currency": "USD", "method": "instant"})
    assert review.status_code == 200
    text = review.content.decode()
    assert "$100.00" in text and "$1.50" in text and "$101.50" in text
    assert not Payout.objects.exists()

    key = review.context["idempotency_key"]
    body = {"amount": "100.00", "currency": "USD", "method": "instant", "idempotency_key": key}
    first = client.post("/payouts/confirm", body)
    second = client.post("/payouts/confirm", body)
    assert first.status_code == second.status_code == 302
    payout = Payout.objects.get()
    assert (payout.amount, payout.fee) == (10000, 150)
    history = client.get("/payouts/").content.decode()
    assert "requested" in history


def test_bad_amount_is_shown_not_paid():
    client = signed_in(payee(20000))
    response = client.post("/payouts/", {"amount": "1,00", "currency": "USD", "method": "standard"})
    assert response.status_code == 400 and b'role="alert"' in response.content
    response = client.post("/payouts/", {"amount": "0", "currency": "USD", "method": "standard"})
    assert b"more than zero" in response.content


def test_insufficient_funds_on_confirm_is_a_message():
    client = signed_in(payee(100))
    body = {"amount": "5.00", "currency": "USD", "method": "standard", "idempotency_key": "k" * 32}
    response = client.post("/payouts/confirm", body)
    assert response.status_code == 400  # a refused form is a 4xx, with the message on the page
    assert not Payout.objects.exists()


def test_settings_and_bank_account_need_reauthentication():
    user = make_user()
    client = signed_in(user)
    assert client.get("/payouts/settings").status_code == 200
    response = client.get("/payouts/settings/bank")
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    response = client.post(
        "/payouts/settings/bank?country=US",
        {
            "country": "US",
            "currency": "USD",
            "account_holder_name": "Ada Lovelace",
            "account_number": "000123456789",
            "routing_number": "110000000",
        },
    )
    assert response.status_code == 302
    assert not user.payout_destinations.exists()
    response = client.post("/payouts/settings/onboarding")
    assert response.status_code == 302 and "reauthenticate" in response["Location"]


def test_pages_need_login():
    assert Client().get("/payouts/").status_code == 302


def test_after_reauthentication_the_bank_account_is_saved_and_payouts_wait(settings):
    from django.urls import reverse

    from payments.payouts.tests.support import PASSWORD

    settings.PAYOUT_DESTINATION_HOLD_HOURS = 72
    user = make_user()
    client = signed_in(user)
    reauth = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert reauth.status_code == 302
    assert client.get("/payouts/settings/bank").status_code == 200
    response = client.post(
        "/payouts/settings/bank?country=US",
        {
            "country": "US",
            "currency": "USD",
            "account_holder_name": "Ada Lovelace",
            "account_number": "000123456789",
            "routing_number": "110000000",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/payouts/settings"
    destination = user.payout_destinations.get(status="active")
    assert destination.last4 == "6789"
    page = client.get("/payouts/settings").content.decode()
    assert "6789" in page and "Payouts allowed from" in page


def _reauthenticated(user):
    from django.urls import reverse

    from payments.payouts.tests.support import PASSWORD

    client = signed_in(user)
    assert client.post(reverse("account_reauthenticate"), {"password": PASSWORD}).status_code == 302
    return client


def test_the_bank_page_asks_the_country_first_then_its_fields(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 72
    client = _reauthenticated(make_user())

    first = client.get("/payouts/settings/bank").content.decode()
    assert 'name="country"' in first and 'name="iban"' not in first
    assert "payouts pause for 72 hours" in first  # the hold, before anything is saved

    german = client.get("/payouts/settings/bank", {"country": "DE"}).content.decode()
    assert 'name="iban"' in german and 'name="bic"' in german
    assert 'name="routing_number"' not in german and 'name="sort_code"' not in german
    british = client.get("/payouts/settings/bank", {"country": "gb"}).content.decode()
    assert 'name="sort_code"' in british and 'name="iban"' not in british
    indian = client.get("/payouts/settings/bank", {"country": "IN"}).content.decode()
    assert 'name="ifsc"' in indian


def test_each_mistake_is_shown_on_its_field_and_nothing_is_saved():
    user = make_user()
    client = _reauthenticated(user)
    response = client.post(
        "/payouts/settings/bank?country=DE",
        {
            "country": "DE",
            "currency": "EUR",
            "account_holder_name": "Grete Müller",
            "iban": "DE88 3704 0044 0532 0130 00",
            "bic": "COBAFRFF",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["iban"] == ["This number has a typo: its check digits do not match."]
    assert "bic" not in form.errors  # the BIC is only compared with a valid IBAN
    assert not user.payout_destinations.exists()


def test_a_german_iban_is_saved_from_the_page(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    user = make_user()
    client = _reauthenticated(user)
    response = client.post(
        "/payouts/settings/bank?country=DE",
        {
            "country": "DE",
            "currency": "EUR",
            "account_holder_name": "Grete Müller",
            "iban": "de89 3704 0044 0532 0130 00",
        },
    )
    assert response.status_code == 302
    destination = user.payout_destinations.get(status="active")
    assert (destination.country, destination.currency, destination.last4) == ("DE", "EUR", "3000")


def test_an_unknown_country_goes_back_to_the_country_step():
    client = _reauthenticated(make_user())
    response = client.post("/payouts/settings/bank", {"country": "ZZ", "iban": "x"})
    assert response.status_code == 200 and 'name="country"' in response.content.decode()


def test_a_usd_wallet_reviews_and_confirms_a_eur_payout_in_one_step(settings):
    from payments.fx.services import fx_rates_refresh
    from payments.payouts import services
    from payments.payouts.tests.support import available, fund

    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    fx_rates_refresh()
    user = make_user()
    services.payout_destination_add(
        user=user, country="DE", details={"iban": "DE89370400440532013000"}
    )
    fund(user, 20000, "USD")
    client = signed_in(user)
    index = client.get("/payouts/").content.decode()
    assert "Payouts arrive in EUR" in index

    review = client.post(
        "/payouts/",
        {"amount": "50.00", "currency": "EUR", "from_currency": "USD", "method": "standard"},
    )
    page = review.content.decode()
    assert review.status_code == 200 and "Converted first at the mid-market rate" in page
    assert "Exchange fee" in page and "Total from your USD wallet" in page
    assert "ending in <strong>3000</strong>" in page
    assert not Payout.objects.exists()  # a review moves nothing
    echo = review.context["echo"]
    assert echo["fx_quote_id"]

    body = {k: echo[k] for k in ("amount", "currency", "from_currency", "method", "fx_quote_id")}
    confirmed = client.post(
        "/payouts/confirm", {**body, "idempotency_key": review.context["idempotency_key"]}
    )
    assert confirmed.status_code == 302
    payout = Payout.objects.get(user=user)
    assert (payout.amount, payout.currency) == (5000, "EUR")
    assert available(f"wallet:user:{user.pk}:USD") < 20000


def test_a_new_bank_account_shows_its_hold_and_end_before_the_form(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 72
    creator = payee(20000)
    html = signed_in(creator).get("/payouts/").content.decode()
    until = creator.payout_destinations.get(status="active").payouts_allowed_at
    # The hold and its end come before the form, and the button waits for it.
    notice = html.index('id="payout-hold"')
    assert notice < html.index('action="/payouts/"')
    assert f"{until:%Y}" in html[notice : notice + 600]
    assert "disabled" in html[html.index("Review payout") - 80 : html.index("Review payout")]


def test_past_its_hold_the_form_is_open():
    html = signed_in(payee(20000)).get("/payouts/").content.decode()
    assert 'id="payout-hold"' not in html
    assert "disabled" not in html[html.index("Review payout") - 80 : html.index("Review payout")]


def test_an_unverified_person_is_pointed_to_the_verification_page():
    user = make_user(verified=False)
    from payments.payouts import services

    services.payout_destination_add(
        user=user,
        country="US",
        details={"routing_number": "110000000", "account_number": "000123456789"},
    )
    html = signed_in(user).get("/payouts/").content.decode()
    assert 'href="/wallet/verify"' in html and "disabled" in html
