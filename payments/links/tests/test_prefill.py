"""``?amount=`` on the tip jar and the send form: a valid amount fills the form, a bad one
is ignored (the form opens empty, no error page), and nothing is paid by opening a link."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from payments.creators.models import Tip
from payments.creators.tests.factories import make_user
from payments.wallets.models import Transfer
from payments.wallets.prefill import amount_prefill

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else ""


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"amount": "7.50"}, (750, "USD")),
        ({"amount": "12", "currency": "EUR"}, (1200, "EUR")),
        ({"amount": "1000000.00"}, (100000000, "USD")),
        ({"amount": ""}, None),
        ({"amount": "7,50"}, None),
        ({"amount": "7.505"}, None),
        ({"amount": "-5"}, None),
        ({"amount": "0"}, None),
        ({"amount": "1e3"}, None),
        ({"amount": "NaN"}, None),
        ({"amount": "1000000.01"}, None),
        ({"amount": "5", "currency": "XXX"}, None),
        ({"amount": "5", "currency": "usd"}, None),
        ({"amount": "9" * 40}, None),
    ],
)
def test_amount_prefill_rules(query, expected):
    got = amount_prefill(query, default_currency="USD")
    assert (None if got is None else (got.amount, got.currency)) == expected


def test_tip_jar_prefills_a_custom_amount_and_a_preset():
    fan, creator = make_user(), make_user()
    c = browser(fan)
    page = c.get(f"/tip/{creator.handle}?amount=7.50")
    assert page.status_code == 200
    assert field(page.content.decode(), "custom") == "7.50"
    preset = c.get(f"/tip/{creator.handle}?amount=5").content.decode()
    assert re.search(r'name="preset" value="500" checked', preset)
    assert not Tip.objects.exists()


@pytest.mark.parametrize("bad", ["abc", "-1", "0", "1e9", "<script>", "99999999999"])
def test_tip_jar_ignores_bad_amounts(bad):
    fan, creator = make_user(), make_user()
    page = browser(fan).get(f"/tip/{creator.handle}", {"amount": bad})
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        field(html, "custom") == ""
        and "checked" not in html.split("<fieldset>")[1].split("</fieldset>")[0]
    )


def test_send_form_prefills_recipient_amount_and_currency():
    alice, bob = make_user(), make_user()
    html = (
        browser(alice)
        .get(f"/wallet/send?to={bob.handle}&amount=12.25&currency=EUR")
        .content.decode()
    )
    assert field(html, "to") == bob.handle and field(html, "amount") == "12.25"
    assert re.search(r'<option value="EUR" selected', html)
    assert not Transfer.objects.exists()


@pytest.mark.parametrize("bad", ["x", "1.234", "-3", "", "1e2"])
def test_send_form_ignores_bad_amounts(bad):
    alice = make_user()
    page = browser(alice).get("/wallet/send", {"to": "someone", "amount": bad, "currency": "USD"})
    assert page.status_code == 200 and field(page.content.decode(), "amount") == ""
