"""FX pages: overview with the total in the home currency, convert and send-abroad with the
live quote, idempotent confirmation, receipts that are private."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from ledger import chart
from ledger.models import Entry
from ledger.selectors import balance_of
from payments.fx.models import FxQuote
from payments.fx.tests.support import fund, make_person, store_rates

pytestmark = pytest.mark.django_db


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html)[1]


@pytest.fixture
def people():
    store_rates()
    alice = make_person("alicev", home_currency="EUR")
    bob = make_person("bobv", home_currency="USD")
    fund(alice, 5000, "EUR")
    fund(alice, 1000, "USD")
    return alice, bob


def test_overview_shows_each_currency_and_the_total_in_the_home_currency(people):
    alice, _ = people
    html = browser_for(alice).get("/fx/", HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
    assert "€50.00" in html and "$10.00" in html
    # 10.00 USD at 1/1.08 = 9.259 EUR → 9.25 (rounded down) + 50.00 EUR.
    assert "€59.25" in html and "Your browser suggests GBP" in html


def test_the_wallet_page_shows_the_total_in_the_home_currency(people):
    alice, _ = people
    html = browser_for(alice).get("/wallet").content.decode()
    assert "Total in EUR" in html and "€59.25" in html
    assert "/fx/send" in html and "/fx/convert" in html


def test_home_currency_form(people):
    alice, _ = people
    response = browser_for(alice).post("/fx/", {"currency": "JPY"})
    assert response.status_code == 302
    assert User.objects.get(pk=alice.pk).home_currency == "JPY"
    bad = browser_for(alice).post("/fx/", {"currency": "XAF"})
    assert bad.status_code == 200 and User.objects.get(pk=alice.pk).home_currency == "JPY"


def test_send_abroad_shows_the_quote_then_confirms_once(people):
    alice, bob = people
    client = browser_for(alice)
    page = client.get("/fx/send")
    assert page.status_code == 200 and 'id="fx-form"' in page.content.decode()
    form = {"to": "bobv", "currency": "EUR", "amount": "10.00", "note": "thanks"}
    preview = client.post("/fx/send", form).content.decode()
    for line in ("€10.00", "$0.06", "$10.74", "1.08", "expires in", "countdown.js"):
        assert line in preview, line
    assert 'hx-trigger="load delay:' in preview and "data-fx-countdown" in preview
    body = form | {
        "quote": hidden(preview, "quote"),
        "idempotency_key": hidden(preview, "idempotency_key"),
    }
    done = client.post("/fx/send/confirm", body)
    assert done.status_code == 302
    again = client.post("/fx/send/confirm", body)  # a double click lands on the same receipt
    assert again.status_code == 302 and again["Location"] == done["Location"]
    assert Entry.objects.filter(code="fx_transfer").count() == 1
    receipt = client.get(done["Location"]).content.decode()
    assert "Sent to @bobv" in receipt and "$10.74" in receipt and "€10.00" in receipt
    assert browser_for(bob).get(done["Location"]).status_code == 404  # a receipt is private


def test_an_expired_quote_is_priced_again_on_confirm(people):
    alice, _ = people
    client = browser_for(alice)
    form = {"to": "bobv", "currency": "EUR", "amount": "10.00", "note": ""}
    preview = client.post("/fx/send", form).content.decode()
    quote_id = hidden(preview, "quote")
    FxQuote.objects.filter(pk=quote_id).update(
        created_at=timezone.now() - timedelta(minutes=1),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    body = form | {"quote": quote_id, "idempotency_key": hidden(preview, "idempotency_key")}
    response = client.post("/fx/send/confirm", body)
    html = response.content.decode()
    assert response.status_code == 200 and "That quote expired" in html
    assert hidden(html, "quote") != quote_id
    assert not Entry.objects.filter(code="fx_transfer").exists()


def test_quote_panel_refresh_for_htmx(people):
    alice, _ = people
    client = browser_for(alice)
    form = {"currency": "USD", "target_currency": "JPY", "amount": "5.00"}
    panel = client.post("/fx/quote-panel/convert", form, HTTP_HX_REQUEST="true")
    html = panel.content.decode()
    assert panel.status_code == 200 and html.lstrip().startswith("{#") is False
    assert 'id="fx-quote"' in html and "¥" in html
    assert client.post("/fx/quote-panel/other", form).status_code == 404


def test_convert_page(people):
    alice, _ = people
    client = browser_for(alice)
    form = {"currency": "USD", "target_currency": "JPY", "amount": "10.00"}
    preview = client.post("/fx/convert", form).content.decode()
    body = form | {
        "quote": hidden(preview, "quote"),
        "idempotency_key": hidden(preview, "idempotency_key"),
    }
    assert client.post("/fx/convert/confirm", body).status_code == 302
    assert (
        balance_of(account=chart.wallet_key(alice.pk, "JPY")).available.amount == 1496
    )  # 1504.63 yen: 1504 - fee 8


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"currency": "USD", "target_currency": "USD", "amount": "1"}, "another currency"),
        ({"currency": "USD", "target_currency": "JPY", "amount": "1.001"}, "more decimals"),
        ({"currency": "USD", "target_currency": "JPY", "amount": "-1"}, "above zero"),
        ({"currency": "USD", "target_currency": "JPY", "amount": "1e3"}, "not a valid number"),
        (
            {"currency": "USD", "target_currency": "JPY", "amount": "5000"},
            "does not have enough money",
        ),
    ],
)
def test_convert_page_bad_inputs(people, form, message):
    alice, _ = people
    client = browser_for(alice)
    preview = client.post("/fx/convert", form).content.decode()
    if 'name="quote"' in preview:  # priced fine: the refusal comes on confirm
        body = form | {
            "quote": hidden(preview, "quote"),
            "idempotency_key": hidden(preview, "idempotency_key"),
        }
        preview = client.post("/fx/convert/confirm", body).content.decode()
    assert message in preview
    assert not Entry.objects.filter(code="fx_conversion").exists()


def test_sending_to_a_stranger_or_when_rates_are_stale(people):
    alice, _ = people
    client = browser_for(alice)
    html = client.post("/fx/send", {"to": "nobodyv", "currency": "EUR", "amount": "1"}).content
    assert b"could not find that person" in html
    FxQuote.objects.all().delete()
    from payments.fx.models import FxRateSnapshot

    FxRateSnapshot.objects.update(as_of=timezone.now() - timedelta(hours=1))
    html = client.post("/fx/send", {"to": "bobv", "currency": "EUR", "amount": "1"}).content
    assert b"Exchange rates are being refreshed" in html


def test_pages_need_a_login():
    client = Client()
    for url in ("/fx/", "/fx/convert", "/fx/send"):
        assert client.get(url).status_code == 302


def test_a_large_send_asks_to_confirm_it_is_you(people):
    alice, _ = people
    fund(alice, 100_000, "EUR")
    User.objects.filter(pk=alice.pk).update(verification_tier="verified")
    client = browser_for(alice)  # a session without a recent re-authentication
    form = {"to": "bobv", "currency": "EUR", "amount": "300.00", "note": ""}
    preview = client.post("/fx/send", form).content.decode()
    body = form | {
        "quote": hidden(preview, "quote"),
        "idempotency_key": hidden(preview, "idempotency_key"),
    }
    html = client.post("/fx/send/confirm", body).content.decode()
    assert "confirm it is you" in html and "/accounts/reauthenticate/" in html
    assert not Entry.objects.filter(code="fx_transfer").exists()
