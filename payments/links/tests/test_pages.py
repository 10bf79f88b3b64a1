"""Pages of payment links: create, the public page (fee lines, no payers), a review step
and a double submit that pays once, a visitor sent to log in, the owner's page."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from core.money import Money
from payments.creators.tests.factories import available, fund, key, make_user
from payments.links import services
from payments.links.models import LinkPayment, PaymentLink

pytestmark = pytest.mark.django_db


def browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def form_key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html).group(1)


def test_create_a_link_from_the_page():
    owner = make_user()
    c = browser(owner)
    assert c.get("/links").status_code == 200
    got = c.post(
        "/links",
        {"kind": "fixed", "amount": "12.50", "currency": "USD", "note": "Print", "max_uses": "3"},
    )
    link = PaymentLink.objects.get()
    assert got.status_code == 302 and got["Location"] == f"/links/{link.slug}/manage"
    assert (link.amount, link.max_uses, link.note) == (1250, 3, "Print")


@pytest.mark.parametrize(
    "form",
    [
        {"kind": "fixed", "amount": "", "currency": "USD"},
        {"kind": "fixed", "amount": "abc", "currency": "USD"},
        {"kind": "gift", "amount": "5", "currency": "USD"},
        {"kind": "fixed", "amount": "5", "currency": "ZZZ"},
        {"kind": "fixed", "amount": "5", "currency": "USD", "expires": "2001-01-01"},
        {"kind": "fixed", "amount": "5", "currency": "USD", "expires": "soon"},
        {"kind": "fixed", "amount": "5", "currency": "USD", "max_uses": "-1"},
    ],
)
def test_bad_link_forms_are_4xx_and_write_nothing(form):
    got = browser(make_user()).post("/links", form)
    assert got.status_code == 422
    assert not PaymentLink.objects.exists()


def test_public_page_pay_with_review_and_double_submit_pays_once():
    owner, fan, other = make_user(), make_user(), make_user()
    fund(fan, 2000)
    link = services.link_create(
        owner=owner, kind="fixed", currency="USD", amount=Money(500, "USD"), note="Zine"
    )
    anon = browser().get(f"/links/{link.slug}").content.decode()
    assert f"@{owner.handle}" in anon and "$0.50" in anon and "$4.50" in anon
    assert "Log in to pay" in anon
    c = browser(fan)
    page = c.get(f"/links/{link.slug}").content.decode()
    body = {"idempotency_key": form_key_of(page), "message": "thanks"}
    review = c.post(f"/links/{link.slug}", {**body, "step": "review"})
    assert review.status_code == 200 and "$5.00" in review.content.decode()
    assert not LinkPayment.objects.exists()
    first = c.post(f"/links/{link.slug}", {**body, "step": "confirm"})
    second = c.post(f"/links/{link.slug}", {**body, "step": "confirm"})
    assert first.status_code == second.status_code == 302
    assert LinkPayment.objects.count() == 1 and available(fan) == 1500
    # The owner sees who paid; nobody else does.
    manage = browser(owner).get(f"/links/{link.slug}/manage").content.decode()
    assert f"@{fan.handle}" in manage and "thanks" in manage
    assert browser(other).get(f"/links/{link.slug}/manage").status_code == 404
    for viewer in (browser(), browser(other)):
        assert fan.handle not in viewer.get(f"/links/{link.slug}").content.decode()


def test_open_link_page_bad_amount_is_422_and_writes_nothing():
    fan = make_user()
    fund(fan, 2000)
    link = services.link_create(
        owner=make_user(), kind="open", currency="USD", min_amount=Money(300, "USD")
    )
    c = browser(fan)
    k = form_key_of(c.get(f"/links/{link.slug}").content.decode())
    for amount in ("", "1.00", "x", "-5"):
        got = c.post(
            f"/links/{link.slug}", {"idempotency_key": k, "amount": amount, "step": "confirm"}
        )
        assert got.status_code == 422
    assert not LinkPayment.objects.exists() and available(fan) == 2000


def test_a_visitor_is_sent_to_log_in_before_paying():
    link = services.link_create(
        owner=make_user(), kind="fixed", currency="USD", amount=Money(300, "USD")
    )
    got = browser().post(f"/links/{link.slug}", {"idempotency_key": key(), "step": "confirm"})
    assert got.status_code == 302 and "/login" in got["Location"]
    assert not LinkPayment.objects.exists()


def test_owner_turns_a_link_off_and_its_page_says_so():
    owner = make_user()
    link = services.link_create(owner=owner, kind="fixed", currency="USD", amount=Money(300, "USD"))
    assert browser(make_user()).post(f"/links/{link.slug}/deactivate").status_code == 404
    assert browser(owner).post(f"/links/{link.slug}/deactivate").status_code == 302
    page = browser().get(f"/links/{link.slug}").content.decode()
    assert "turned off" in page and 'name="idempotency_key"' not in page


def test_unknown_links_are_404_and_pages_are_rate_limited(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    assert browser().get("/links/doesnotexist").status_code == 404
    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates["links"] = "2/min"
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    # A fresh address: the counters live in Redis across tests.
    n = uuid.uuid4().int
    c = Client(REMOTE_ADDR=f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250}")
    codes = [c.get(f"/links/{key()}").status_code for _ in range(4)]
    assert codes == [404, 404, 429, 429]


def test_pages_speak_german():
    owner, fan = make_user(), make_user()
    link = services.link_create(
        owner=owner, kind="open", currency="EUR", min_amount=Money(300, "EUR")
    )
    c = browser(fan)
    page = c.get(f"/links/{link.slug}", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f"@{owner.handle} bezahlen" in page and "mindestens 3,00" in page
    assert "QR-Code dieses Links" in page
    mine = browser(owner).get("/links", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Zahlungslinks" in mine and "Link erstellen" in mine
