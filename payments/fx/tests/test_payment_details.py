"""The detail page of FX payments (registered by payments.fx.selectors): a conversion and
a payment across currencies show what was paid, the exchange fee on its own line, what
arrived and the rate; only the people involved see them."""

from __future__ import annotations

import pytest
from django.test import Client

from payments.fx import services
from payments.fx.tests.support import fund, make_person, store_rates
from payments.wallets.selectors import payment_detail_url

pytestmark = pytest.mark.django_db


def page(user, url: str):
    client = Client()
    client.force_login(user)
    return client.get(url)


def test_a_payment_across_currencies_for_both_sides_and_nobody_else():
    store_rates()
    alice = make_person(home_currency="EUR")
    bob = make_person(home_currency="USD")
    fund(alice, 1000, "EUR")
    quote = services.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=1000
    )
    services.fx_transfer_execute(user=alice, quote_id=quote.pk, to=bob.handle)
    url = payment_detail_url("fx_quote", quote.pk)

    sent = page(alice, url).content.decode()
    assert f"To @{bob.handle}" in sent and "€10.00" in sent
    assert "Exchange fee" in sent and "$0.06" in sent and "$10.74" in sent
    assert "1 EUR = 1.08 USD" in sent and "Send again" in sent
    received = page(bob, url).content.decode()
    assert f"From @{alice.handle}" in received and "$10.74" in received
    assert "Send again" not in received
    assert page(make_person(), url).status_code == 404
    assert page(alice, payment_detail_url("fx_quote", "not-a-uuid")).status_code == 404


def test_a_conversion_goes_to_the_persons_own_wallet():
    store_rates()
    alice = make_person(home_currency="EUR")
    fund(alice, 1000, "EUR")
    quote = services.fx_quote_create(
        user=alice, source_currency="EUR", target_currency="USD", source_amount=1000
    )
    services.fx_conversion_execute(user=alice, quote_id=quote.pk)
    html = page(alice, payment_detail_url("fx_quote", quote.pk)).content.decode()
    assert "Conversion EUR → USD" in html and "Your USD wallet" in html
    assert "Convert again" in html and "Exchange receipt" in html
