"""What the send review and the payment pages say: warnings about the balance and the
limits before confirming, people's words instead of internal values."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import Money
from payments.wallets.tests.support import fund, person
from payments.wallets.transfers import transfer_create

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _review(client, amount: str, to) -> str:
    body = {"to": to.handle, "amount": amount, "currency": "USD", "visibility": "private"}
    return client.post("/wallet/send", body).content.decode()


def test_the_review_warns_about_the_balance_before_confirming():
    alice, bob = person(), person()
    fund(alice, 5000)
    html = _review(signed_in(alice), "80.00", bob)
    assert "This is more than your balance of $50.00" in html and 'role="alert"' in html
    assert "This is more than your balance" not in _review(signed_in(alice), "20.00", bob)


def test_the_review_warns_about_the_per_payment_limit(settings):
    alice, bob = person(), person()
    fund(alice, 90_000)
    html = _review(signed_in(alice), "300.00", bob)  # unverified: at most $250.00 a payment
    assert "One payment can be at most $250.00" in html
    assert "more than your balance" not in html


def test_the_review_says_who_sees_the_payment_in_words():
    alice, bob = person(), person()
    fund(alice, 5000)
    html = _review(signed_in(alice), "5.00", bob)
    assert "Only the two of us" in html and ">private<" not in html


def test_the_payment_page_has_no_internal_values():
    alice, bob = person(), person()
    fund(alice, 5000)
    t = transfer_create(sender=alice, to=bob, money=Money(500, "USD"), client_key="k1")
    html = signed_in(alice).get(f"/wallet/transfers/{t.pk}").content.decode()
    assert "fee 0" not in html and "visible to:" not in html
    assert "No fee: payments between wallets are free." in html


def test_statuses_are_words_in_the_readers_language():
    alice, bob = person(), person()
    from payments.wallets.requests import request_create

    request_create(requester=alice, payer=bob, money=Money(800, "USD"), client_key="r1")
    client = signed_in(alice)
    assert "· Open" in client.get("/wallet/requests").content.decode()
    client.cookies["django_language"] = "de"
    assert "· Offen" in client.get("/wallet/requests").content.decode()


def test_the_payment_feed_says_who_sees_each_payment_in_words():
    alice, bob = person(), person()
    fund(alice, 5000)
    transfer_create(
        sender=alice, to=bob, money=Money(500, "USD"), client_key="k2", visibility="public"
    )
    html = signed_in(alice).get("/wallet/feed").content.decode()
    assert "· Everyone</p>" in html and "· public</p>" not in html
