"""Pages: tip with a review step (fee lines) and a double submit that pays once, unlock,
buy → order page → confirm, seller pages, tiers and join, dashboard and its JSON."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from core.money import Money
from payments.creators import services
from payments.creators.models import Order, Tip, Unlock
from payments.creators.tests.factories import available, fund, key, make_post, make_user

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html).group(1)


def test_tip_page_review_shows_fee_lines_and_double_submit_pays_once():
    fan, creator = make_user(), make_user()
    fund(fan, 2000)
    post = make_post(creator)
    c = browser(fan)
    page = c.get(f"/posts/{post.pk}/tip").content.decode()
    assert 'type="checkbox" name="public">' in page  # nothing pre-ticked
    k = form_key_of(page)
    body = {"idempotency_key": k, "preset": "500", "currency": "USD", "message": "yay"}
    review = c.post(f"/posts/{post.pk}/tip", {**body, "step": "review"}).content.decode()
    assert "$5.00" in review and "$0.50" in review and "$4.50" in review
    assert not Tip.objects.exists()
    first = c.post(f"/posts/{post.pk}/tip", {**body, "step": "confirm"})
    second = c.post(f"/posts/{post.pk}/tip", {**body, "step": "confirm"})
    assert first.status_code == second.status_code == 302
    assert Tip.objects.count() == 1 and available(fan) == 1500


def test_tip_page_custom_amount_and_bad_amount():
    fan, creator = make_user(), make_user()
    fund(fan, 2000)
    c = browser(fan)
    k = key()
    bad = c.post(
        f"/tip/{creator.handle}",
        {"idempotency_key": k, "custom": "1e3", "currency": "USD", "step": "review"},
    )
    assert bad.status_code == 400 and not Tip.objects.exists()
    c.post(
        f"/tip/{creator.handle}",
        {"idempotency_key": k, "custom": "7.25", "currency": "USD", "step": "confirm"},
    )
    assert Tip.objects.get().amount == 725


def test_unlock_page_and_post_card():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = services.post_set_paid_content(
        author=creator, post=make_post(creator), locked_text="secret", price=Money(300, "USD")
    )
    c = browser(fan)
    page = c.get(f"/posts/{post.pk}/unlock").content.decode()
    assert "$3.00" in page and "$0.30" in page
    r = c.post(f"/posts/{post.pk}/unlock", {"idempotency_key": form_key_of(page)})
    assert r.status_code == 302 and Unlock.objects.get().status == "completed"
    assert "secret" in c.get(f"/posts/{post.pk}").content.decode()


def test_buy_flow_pages_and_seller_actions():
    buyer, seller, stranger = make_user(), make_user(), make_user()
    fund(buyer, 5000)
    post = make_post(seller)
    s = browser(seller)
    r = s.post(
        f"/posts/{post.pk}/products/new",
        {"title": "Mug", "price": "20.00", "currency": "USD", "stock": "3", "kind": "physical"},
    )
    assert r.status_code == 302
    product = post.products.get()
    b = browser(buyer)
    assert "Mug" in b.get(f"/posts/{post.pk}").content.decode()
    page = b.get(f"/products/{product.pk}/buy").content.decode()
    body = {"idempotency_key": form_key_of(page), "quantity": "1", "shipping_address": "1 Main"}
    review = b.post(f"/products/{product.pk}/buy", {**body, "step": "review"}).content.decode()
    assert "$20.00" in review and "escrow" in review
    r = b.post(f"/products/{product.pk}/buy", {**body, "step": "confirm"})
    order = Order.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/orders/{order.pk}"
    assert browser(stranger).get(f"/orders/{order.pk}").status_code == 404
    assert "1 Main" in s.get(f"/orders/{order.pk}").content.decode()
    s.post(f"/orders/{order.pk}/ship", {"idempotency_key": key()})
    assert Order.objects.get().status == "shipped"
    b.post(f"/orders/{order.pk}/confirm", {"idempotency_key": key()})
    assert Order.objects.get().status == "released" and available(seller) == 1800
    assert "Mug" in s.get("/orders?role=seller").content.decode()
    assert "Mug" in b.get("/orders").content.decode()


def test_tiers_join_and_memberships_pages():
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    c = browser(creator)
    c.post("/creator/tiers", {"name": "Gold", "price": "10.00", "currency": "USD", "perks": "x"})
    tier = creator.membership_tiers.get()
    f = browser(fan)
    assert (
        f"/memberships/join/{tier.pk}"
        in f.get(f"/@{creator.handle}?tab=memberships").content.decode()
    )
    page = f.get(f"/memberships/join/{tier.pk}").content.decode()
    assert "$10.00" in page and "$1.00" in page
    f.post(f"/memberships/join/{tier.pk}", {"idempotency_key": form_key_of(page)})
    listing = f.get("/memberships").content.decode()
    assert "Gold" in listing and "Active" in listing


def test_dashboard_page_and_data():
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    post = make_post(creator)
    services.tip_send(tipper=fan, post_id=post.pk, amount=Money(500, "USD"), request_key=key())
    c = browser(creator)
    page = c.get("/creator/dashboard").content.decode()
    assert "vendor/chartjs/chart.umd.min.js" in page and "<script>" not in page
    assert fan.handle in page
    data = c.get("/creator/dashboard/data").json()
    assert sum(data["earnings"]["USD"]["tip"]) == 450
    assert data["top_supporters"][0]["handle"] == fan.handle


def test_dashboard_api_nests_every_amount():
    from payments.creators.tests.factories import api_for

    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    post = make_post(creator)
    services.tip_send(tipper=fan, post_id=post.pk, amount=Money(500, "USD"), request_key=key())
    data = api_for(creator).get("/api/v1/creator/dashboard").json()
    # What the fan paid (gross), as the page shows it, now one money object.
    assert data["top_supporters"] == [
        {"handle": fan.handle, "amount": {"amount": 500, "currency": "USD"}}
    ]
    assert data["pending_escrow"] == [] and data["mrr"] == []
