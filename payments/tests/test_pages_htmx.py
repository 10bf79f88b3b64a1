"""Money pages with htmx: a tip paid from under a post, a request paid in place, the
balance line that refreshes on ``balanceChanged``, the payment feed's infinite scroll and
the top-up status; each answers a fragment with ``HX-Request`` and a whole page without.
Also the human sentences pages show for real failures."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.money import Money
from payments.creators.models import Tip
from payments.creators.tests.factories import available, fund, make_post, make_user
from payments.fx.models import FxQuote
from payments.fx.tests.support import make_person, store_rates
from payments.wallets.models import MoneyRequest, TopUp
from payments.wallets.requests import request_create
from payments.wallets.transfers import transfer_create

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html).group(1)


def test_tip_from_under_a_post_form_review_and_success_fragment():
    fan, creator = make_user(), make_user()
    fund(fan, 2000)
    post = make_post(creator)
    c = browser(fan)
    home = c.get(f"/posts/{post.pk}").content.decode()
    assert f'hx-get="/posts/{post.pk}/tip" hx-target="#tip-slot-{post.pk}"' in home
    form = c.get(f"/posts/{post.pk}/tip", **HX).content.decode()
    assert form.startswith('<div class="tip-panel">') and "<html" not in form
    body = {"idempotency_key": key_of(form), "preset": "500", "currency": "USD"}
    review = c.post(f"/posts/{post.pk}/tip", body | {"step": "review"}, **HX).content.decode()
    assert review.startswith('<div class="tip-panel">') and "<html" not in review
    # Amount, fee lines and total before paying; the confirm posts back into the panel.
    assert "$0.50" in review and "$4.50" in review and "Pay $5.00" in review
    assert 'hx-target="closest .tip-panel"' in review and not Tip.objects.exists()
    first = c.post(f"/posts/{post.pk}/tip", body | {"step": "confirm"}, **HX)
    html = first.content.decode()
    assert first.status_code == 200 and first["HX-Trigger"] == "balanceChanged"
    assert f"You tipped @{creator.handle} $5.00." in html and "/wallet?currency=USD" in html
    assert "$15.00" in html  # the balance after paying
    # A double click sends the same key again: still one tip, paid once.
    again = c.post(f"/posts/{post.pk}/tip", body | {"step": "confirm"}, **HX)
    assert again.status_code == 200 and Tip.objects.count() == 1 and available(fan) == 1500


def test_tip_without_js_redirects_with_a_receipt_link():
    fan, creator = make_user(), make_user()
    fund(fan, 2000)
    post = make_post(creator)
    c = browser(fan)
    page = c.get(f"/posts/{post.pk}/tip").content.decode()
    assert "<html" in page and "In your wallet:" in page and "$20.00" in page
    body = {"idempotency_key": key_of(page), "preset": "500", "currency": "USD"}
    response = c.post(f"/posts/{post.pk}/tip", body | {"step": "confirm"})
    assert response.status_code == 302
    landed = c.get(response["Location"]).content.decode()
    assert "You tipped" in landed and 'href="/wallet?currency=USD"' in landed


def test_tip_failure_shows_the_human_message_in_the_panel():
    fan, creator = make_user(), make_user()
    post = make_post(creator)  # the fan has no money
    c = browser(fan)
    form = c.get(f"/posts/{post.pk}/tip", **HX).content.decode()
    body = {"idempotency_key": key_of(form), "preset": "500", "currency": "USD"}
    html = c.post(f"/posts/{post.pk}/tip", body | {"step": "confirm"}, **HX).content.decode()
    assert "Your wallet does not have enough money for this." in html
    assert "insufficient_funds" not in html and available(creator) == 0


def test_paying_a_request_in_place_refreshes_the_balance():
    asker, payer = make_user(), make_user()
    fund(payer, 3000)
    req = request_create(requester=asker, payer=payer, money=Money(1250, "USD"), client_key="q1")
    c = browser(payer)
    page = c.get("/wallet/requests").content.decode()
    assert 'hx-trigger="balanceChanged from:body"' in page and "$30.00" in page
    k = key_of(page)
    response = c.post(f"/wallet/requests/{req.pk}/pay", {"idempotency_key": k}, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and response["HX-Trigger"] == "balanceChanged"
    assert html.startswith(f'<article id="request-{req.pk}">') and "Paid." in html
    req.refresh_from_db()
    assert req.status == MoneyRequest.Status.PAID
    assert f'href="/wallet/transfers/{req.transfer_id}"' in html  # the receipt
    # The balance line the event asks for.
    balance = c.get("/wallet/balance?currency=USD", **HX).content.decode()
    assert "<html" not in balance and "$17.50" in balance
    # A second click pays nothing more.
    c.post(f"/wallet/requests/{req.pk}/pay", {"idempotency_key": k}, **HX)
    assert available(payer) == 1750


def test_balance_endpoint_without_htmx_goes_to_the_wallet():
    c = browser(make_user())
    response = c.get("/wallet/balance?currency=EUR")
    assert response.status_code == 302 and response["Location"] == "/wallet?currency=EUR"
    assert c.get("/wallet/balance?currency=XXX", **HX).status_code == 404


def test_payment_feed_scrolls_in_place(settings):
    settings.WALLET_TRANSFERS_PER_MINUTE = 100
    alice, bob = make_user(), make_user()
    fund(alice, 10_000)
    for i in range(35):  # a page is 30
        transfer_create(
            sender=alice, to=bob, money=Money(100 + i, "USD"), client_key=f"feed{i}", note=f"n{i}"
        )
    c = browser(alice)
    page = c.get("/wallet/feed").content.decode()
    link = re.search(r'hx-get="(\?cursor=\d+)"', page).group(1)
    assert 'hx-trigger="revealed, click"' in page
    fragment = c.get(f"/wallet/feed{link}", **HX).content.decode()
    assert "<html" not in fragment and fragment.count("<article>") == 5
    assert "No payments to show" not in fragment
    full = c.get(f"/wallet/feed{link}").content.decode()
    assert "<html" in full and full.count("<article>") == 5


def test_topup_status_polls_a_fragment_and_a_decline_reads_as_a_sentence():
    fan = make_user()
    c = browser(fan)
    page = c.get("/wallet/topup").content.decode()
    form = {"idempotency_key": key_of(page), "amount": "5.00", "currency": "USD"}
    declined = c.post(
        "/wallet/topup", form | {"card": "pm_card_chargeDeclinedExpiredCard", "step": "confirm"}
    ).content.decode()
    assert "Your card has expired and nothing was charged. Use another card." in declined
    topup = TopUp.objects.get(user=fan)
    fragment = c.get(f"/wallet/topups/{topup.pk}", **HX).content.decode()
    assert fragment.startswith('<div id="topup-status"') and "<html" not in fragment
    assert "Your card has expired" in fragment and "expired_card" not in fragment
    assert "<html" in c.get(f"/wallet/topups/{topup.pk}").content.decode()


def test_send_review_and_insufficient_funds_read_as_sentences():
    alice, bob = make_user(), make_user()
    fund(alice, 500)
    c = browser(alice)
    review = c.post(
        "/wallet/send", {"to": bob.handle, "amount": "12.50", "currency": "USD"}
    ).content.decode()
    assert "Fee" in review and "$0.00" in review and "Pay $12.50" in review
    refused = c.post(
        "/wallet/send/confirm",
        {"idempotency_key": key_of(review), "to": bob.handle, "amount": "12.50", "currency": "USD"},
    )
    html = refused.content.decode()
    assert refused.status_code == 400
    assert "Your wallet does not have enough money for this. Top up or choose a smaller" in html
    assert "insufficient_funds" not in html


def test_an_expired_quote_reads_as_a_sentence():
    store_rates()
    alice = make_person("alicex", home_currency="EUR")
    from payments.fx.tests.support import fund as fx_fund

    fx_fund(alice, 5000, "EUR")
    c = browser(alice)
    preview = c.post(
        "/fx/convert", {"currency": "EUR", "target_currency": "USD", "amount": "10"}
    ).content.decode()
    quote_id = re.search(r'name="quote" value="([^"]+)"', preview).group(1)
    FxQuote.objects.filter(pk=quote_id).update(
        created_at=timezone.now() - timedelta(minutes=1),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    html = c.post(
        "/fx/convert/confirm",
        {
            "idempotency_key": key_of(preview),
            "quote": quote_id,
            "currency": "EUR",
            "target_currency": "USD",
            "amount": "10",
        },
    ).content.decode()
    assert "That quote expired. Check the new quote and confirm again." in html
    assert "quote_expired" not in html
