"""Payout pages: review shows the fee, total and arrival before anything moves; confirming
twice pays once; the bank account page asks for re-authentication."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.payouts.models import Payout
from payments.payouts.tests.support import make_user, payee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_review_then_confirm_once():
    creator = payee(20000)
    client = signed_in(creator)
    page = client.get("/payouts/")
    assert page.status_code == 200 and b"6789" in page.content

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
    assert response.status_code == 200 and b'role="alert"' in response.content
    response = client.post("/payouts/", {"amount": "0", "currency": "USD", "method": "standard"})
    assert b"more than zero" in response.content


def test_insufficient_funds_on_confirm_is_a_message():
    client = signed_in(payee(100))
    body = {"amount": "5.00", "currency": "USD", "method": "standard", "idempotency_key": "k" * 32}
    response = client.post("/payouts/confirm", body)
    assert response.status_code == 200
    assert not Payout.objects.exists()


def test_settings_and_bank_account_need_reauthentication():
    user = make_user()
    client = signed_in(user)
    assert client.get("/payouts/settings").status_code == 200
    response = client.get("/payouts/settings/bank")
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    response = client.post("/payouts/settings/bank", {"account_number": "000123456789"})
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
    response = client.post("/payouts/settings/bank", {"account_number": "000123456789"})
    assert response.status_code == 302 and response["Location"] == "/payouts/settings"
    destination = user.payout_destinations.get(status="active")
    assert destination.last4 == "6789"
    page = client.get("/payouts/settings").content.decode()
    assert "6789" in page and "Payouts allowed from" in page


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

    services.payout_destination_add(user=user, account_number="000123456789")
    html = signed_in(user).get("/payouts/").content.decode()
    assert 'href="/wallet/verify"' in html and "disabled" in html
