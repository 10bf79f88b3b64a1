"""Paying a money request goes through a review: the amount, the fee, the balance after
and what would stop it (balance, limits), then one button that pays through the same
idempotent service, so a double submit pays once."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test import Client

from core.money import Money
from payments.wallets.models import MoneyRequest, Transfer
from payments.wallets.requests import request_create
from payments.wallets.tests.support import fund, person

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html)[1]


@pytest.fixture
def asked():
    alice, bob = person(), person()
    fund(bob, 2000)
    req = request_create(
        requester=alice, payer=bob, money=Money(1250, "USD"), note="concert", client_key="r"
    )
    return alice, bob, req


def test_pay_on_the_inbox_opens_the_review(asked):
    _alice, bob, req = asked
    inbox = signed_in(bob).get("/wallet/requests").content.decode()
    assert f'href="/wallet/requests/{req.pk}/review"' in inbox
    # Nothing on the inbox pays by itself any more.
    assert f'action="/wallet/requests/{req.pk}/pay"' not in inbox


def test_the_review_shows_amount_fee_and_balance_after(asked):
    alice, bob, req = asked
    html = signed_in(bob).get(f"/wallet/requests/{req.pk}/review").content.decode()
    assert f"@{alice.handle}" in html and "concert" in html
    assert "$12.50" in html and "Your balance after paying: $7.50" in html
    assert "Pay $12.50" in html and 'role="alert"' not in html
    assert not Transfer.objects.exists()


def test_the_review_warns_about_the_balance_and_the_limit(asked, settings):
    alice, bob, _req = asked
    big = request_create(requester=alice, payer=bob, money=Money(5000, "USD"), client_key="big")
    html = signed_in(bob).get(f"/wallet/requests/{big.pk}/review").content.decode()
    assert 'role="alert"' in html and "more than your balance of $20.00" in html
    assert "Your balance after paying: \u2212$30.00" in html  # below zero: a minus sign


def test_confirming_pays_once_even_when_sent_twice(asked):
    _alice, bob, req = asked
    client = signed_in(bob)
    page = client.get(f"/wallet/requests/{req.pk}/review").content.decode()
    key = form_key(page)
    first = client.post(f"/wallet/requests/{req.pk}/pay", {"idempotency_key": key})
    again = client.post(f"/wallet/requests/{req.pk}/pay", {"idempotency_key": key})
    # A second tab's review has another key: the request itself is paid once.
    other = client.post(f"/wallet/requests/{req.pk}/pay", {"idempotency_key": "c" * 32})
    req.refresh_from_db()
    assert req.status == "paid" and Transfer.objects.count() == 1
    receipt = f"/wallet/transfers/{req.transfer_id}"
    assert first["Location"] == again["Location"] == receipt
    assert other.status_code == 302
    # Back on the review of a paid request: its receipt, not a second chance to pay.
    assert client.get(f"/wallet/requests/{req.pk}/review")["Location"] == receipt


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_at_once_pay_once():
    alice, bob = person(), person()
    fund(bob, 2000)
    req = request_create(requester=alice, payer=bob, money=Money(500, "USD"), client_key="t")
    barrier = threading.Barrier(2)
    codes = []

    def confirm(key: str) -> None:
        try:
            client = signed_in(bob)
            barrier.wait(timeout=10)
            codes.append(
                client.post(f"/wallet/requests/{req.pk}/pay", {"idempotency_key": key}).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(k * 32,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [302, 302]
    assert MoneyRequest.objects.get(pk=req.pk).status == "paid"
    assert Transfer.objects.filter(sender=bob).count() == 1


def test_only_the_payer_reviews(asked):
    alice, _bob, req = asked
    assert signed_in(alice).get(f"/wallet/requests/{req.pk}/review").status_code == 404
    assert signed_in(person()).get(f"/wallet/requests/{req.pk}/review").status_code == 404


def test_a_large_request_re_authenticates_and_comes_back_to_its_review(asked, settings):
    settings.WALLET_REAUTH_ABOVE = 1000
    _alice, bob, req = asked
    client = signed_in(bob)  # a session without a recent proof of identity
    asked_to = client.post(f"/wallet/requests/{req.pk}/pay", {"idempotency_key": "d" * 32})
    assert asked_to.status_code == 302 and "/reauthenticate" in asked_to["Location"]
    assert f"/wallet/requests/{req.pk}/review" in asked_to["Location"].replace("%2F", "/")
    assert not Transfer.objects.exists()
