"""Products on a post's card in every timeline: title, price, what is left and the way to
buy (Buy when signed in, the guest card checkout or a login for a visitor), loaded with the
timeline's own query, so a page costs the same number of queries with or without them."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.services import follow_create
from core.money import Money
from payments.creators import services
from payments.creators.tests.factories import fund, make_post, make_user
from posts.services import repost_create

pytestmark = pytest.mark.django_db


def _sell(seller, *, kind: str = "digital", stock: int = 5, title: str = "Ledger zine"):
    post = make_post(seller, text=f"New in the shop: {title}")
    product = services.product_create(
        seller=seller,
        post_id=post.pk,
        title=title,
        description="32 pages, risograph",
        price=Money(1500, "USD"),
        stock=stock,
        kind=kind,
        delivery_url="https://example.com/zine.pdf" if kind == "digital" else "",
    )
    return post, product


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _card(html: str, post_id: int) -> str:
    """The one post card's HTML (up to the next card)."""
    start = html.index(f'id="post-{post_id}"')
    end = html.find('<article id="post-', start + 1)
    return html[start : end if end != -1 else len(html)]


def test_a_follower_sees_the_product_and_buy_in_the_home_timeline():
    seller, fan = make_user(), make_user()
    follow_create(follower=fan, followee=seller)
    post, product = _sell(seller)
    card = _card(_signed_in(fan).get("/").content.decode(), post.pk)
    assert "Ledger zine" in card and "$15.00" in card and "5 left" in card
    assert "32 pages, risograph" in card
    assert f'href="/products/{product.pk}/buy"' in card


def test_the_seller_sees_their_product_without_a_buy_button():
    seller = make_user()
    post, product = _sell(seller)
    card = _card(_signed_in(seller).get("/").content.decode(), post.pk)
    assert "Ledger zine" in card and "$15.00" in card
    assert f"/products/{product.pk}/buy" not in card


def test_a_repost_shows_the_original_product():
    seller, reposter, fan = make_user(), make_user(), make_user()
    follow_create(follower=fan, followee=reposter)
    post, product = _sell(seller)
    repost = repost_create(user=reposter, post_id=post.pk)
    card = _card(_signed_in(fan).get("/").content.decode(), repost.pk)
    assert "Ledger zine" in card and f'href="/products/{product.pk}/buy"' in card


def test_a_sold_out_product_says_so_and_has_no_buy_button():
    seller, buyer, fan = make_user(), make_user(), make_user()
    follow_create(follower=fan, followee=seller)
    fund(buyer, 5000)
    post, product = _sell(seller, stock=1)
    services.order_create(
        buyer=buyer, product_id=product.pk, quantity=1, request_key=uuid.uuid4().hex
    )
    card = _card(_signed_in(fan).get("/").content.decode(), post.pk)
    assert "sold out" in card and f"/products/{product.pk}/buy" not in card


def test_a_visitor_buys_digital_and_physical_products_by_card():
    seller = make_user()
    zine_post, zine = _sell(seller)
    print_post, prints = _sell(seller, kind="physical", title="Print")
    visitor = Client()
    for path in ["/", f"/@{seller.handle}"]:
        html = visitor.get(path).content.decode()
        assert f'href="/pay/guest/product/{zine.pk}"' in _card(html, zine_post.pk)
        physical = _card(html, print_post.pk)
        assert "Print" in physical
        # The guest checkout asks a physical product's shipping address.
        assert f'href="/pay/guest/product/{prints.pk}"' in physical
    # The links lead somewhere a visitor may go.
    assert visitor.get(f"/pay/guest/product/{zine.pk}").status_code == 200
    assert visitor.get(f"/pay/guest/product/{prints.pk}").status_code == 200


def test_the_post_page_shows_the_product_once_on_its_card():
    seller, fan = make_user(), make_user()
    post, product = _sell(seller)
    html = _signed_in(fan).get(f"/posts/{post.pk}").content.decode()
    assert html.count('class="product-title"') == 1
    assert html.count(f'href="/products/{product.pk}/buy"') == 1


def test_german_visitors_read_the_card_in_german():
    seller = make_user()
    print_post, _ = _sell(seller, kind="physical", title="Print")
    visitor = Client(HTTP_ACCEPT_LANGUAGE="de")
    visitor.cookies["django_language"] = "de"
    card = _card(visitor.get(f"/@{seller.handle}").content.decode(), print_post.pk)
    assert "Per Karte kaufen" in card and "noch 5" in card and "Wird dir zugeschickt" in card


def _queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["follower", "visitor"])
def test_products_cost_no_query_per_post(who):
    seller, fan = make_user(), make_user()
    follow_create(follower=fan, followee=seller)
    client = _signed_in(fan) if who == "follower" else Client()
    path = "/" if who == "follower" else f"/@{seller.handle}"
    make_post(seller, text="no product yet")
    client.get(path)  # warm the session and any first-request caches
    without = _queries(client, path)
    for n in range(6):
        _sell(seller, title=f"Zine {n}")
    html = client.get(path).content.decode()
    assert len(re.findall(r'class="product-title"', html)) == 6
    assert _queries(client, path) == without
