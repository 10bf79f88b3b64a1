"""Bad amounts and counts on every money form and every money API: empty, blank, exponent
and padded input is a 4xx that names the field, never a 500, and nothing is written.

Pages take amounts as typed text ("12.50") and counts as digits; the API takes both as
JSON integers. A blank amount used to be a 500 on every page form (``core.money`` read
the first character of an empty string) and an order's quantity took ``"1.0e0"`` and
``" 1"``.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from core.money import Money
from payments.creators import services as creators
from payments.creators.models import MembershipTier, Order, Product, Tip
from payments.creators.tests.factories import api_for, fund, make_post, make_user
from payments.payouts.models import Payout
from payments.wallets.models import MoneyRequest, TopUp, Transfer

pytestmark = pytest.mark.django_db

# What a person (or a script) can put into an amount or count field of a page.
BLANK = ["", "   "]
EXPONENT = ["1e3", "1.0e0", "1E2"]
PADDED = [" 1", "1 ", " 1.00 "]
BAD_TEXT = BLANK + EXPONENT + PADDED


def key() -> str:
    return uuid.uuid4().hex


@pytest.fixture(autouse=True)
def _generous_throttles(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates.update({"anon": "100000/min", "user": "100000/min", "money": "100000/min"})
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


@pytest.fixture
def people():
    alice, bob = make_user("alice"), make_user("bob")
    fund(alice, 100_000)
    return alice, bob


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def nothing_moved():
    assert not Transfer.objects.exists()
    assert not MoneyRequest.objects.exists()
    assert not TopUp.objects.exists()
    assert not Tip.objects.exists()
    assert not Order.objects.exists()
    assert not Payout.objects.exists()


# --- pages ----------------------------------------------------------------------------------


def _page_forms(alice, bob):
    """(url, form data with the amount field named ``{}``) for every amount form."""
    post = make_post(bob)
    own = make_post(alice)
    return [
        ("/wallet/send", {"to": bob.handle, "currency": "USD", "amount": None}),
        (
            "/wallet/send/confirm",
            {"idempotency_key": key(), "to": bob.handle, "currency": "USD", "amount": None},
        ),
        (
            "/wallet/request",
            {"idempotency_key": key(), "from": bob.handle, "currency": "USD", "amount": None},
        ),
        (
            "/wallet/topup",
            {"idempotency_key": key(), "card": "pm_card_visa", "currency": "USD", "amount": None},
        ),
        (
            f"/posts/{post.pk}/tip",
            {"idempotency_key": key(), "currency": "USD", "step": "review", "custom": None},
        ),
        (
            f"/tip/{bob.handle}",
            {"idempotency_key": key(), "currency": "USD", "step": "confirm", "custom": None},
        ),
        ("/creator/tiers", {"name": "Gold", "currency": "USD", "perks": "", "price": None}),
        (
            f"/posts/{own.pk}/products/new",
            {"title": "Mug", "currency": "USD", "stock": "3", "kind": "digital", "price": None},
        ),
        ("/payouts/", {"currency": "USD", "method": "standard", "amount": None}),
        (
            "/payouts/confirm",
            {"idempotency_key": key(), "currency": "USD", "method": "standard", "amount": None},
        ),
        ("/fx/convert", {"currency": "USD", "target_currency": "EUR", "amount": None}),
        ("/fx/send", {"to": bob.handle, "currency": "USD", "amount": None}),
    ]


@pytest.mark.parametrize("text", BAD_TEXT)
def test_every_page_amount_form_refuses_bad_text_with_400(people, text):
    alice, bob = people
    client = browser(alice)
    for url, form in _page_forms(alice, bob):
        # A blank custom tip without a preset is refused too: there is no amount at all.
        field = next(k for k, v in form.items() if v is None)
        response = client.post(url, {**form, field: text})
        assert response.status_code == 400, (url, text, response.status_code)
    nothing_moved()
    assert not MembershipTier.objects.exists() and not Product.objects.exists()


@pytest.mark.parametrize("text", EXPONENT + PADDED)
def test_lock_page_refuses_a_bad_price(people, text):
    alice, _ = people
    post = make_post(alice)
    response = browser(alice).post(
        f"/posts/{post.pk}/lock", {"locked_text": "secret", "currency": "USD", "price": text}
    )
    assert response.status_code == 400
    post.refresh_from_db()
    assert post.price_amount is None


@pytest.mark.parametrize("text", ["", " 1", "1 ", "1.0e0", "1e0", "+1", "\u00b2", "\uff11", "1.0"])
def test_buy_page_refuses_a_bad_quantity(people, text):
    alice, bob = people
    product = creators.product_create(
        seller=bob,
        post_id=make_post(bob).pk,
        title="Zine",
        description="",
        price=Money(500, "USD"),
        stock=5,
        kind="digital",
    )
    response = browser(alice).post(
        f"/products/{product.pk}/buy",
        {"idempotency_key": key(), "quantity": text, "step": "confirm"},
    )
    assert response.status_code == 400, response.status_code
    assert not Order.objects.exists()


@pytest.mark.parametrize("text", ["", " 3", "3 ", "3e0", "3.0", "\u00b2", "-1"])
def test_product_page_refuses_a_bad_stock(people, text):
    alice, _ = people
    post = make_post(alice)
    response = browser(alice).post(
        f"/posts/{post.pk}/products/new",
        {"title": "Mug", "currency": "USD", "price": "5.00", "kind": "digital", "stock": text},
    )
    assert response.status_code == 400
    assert not Product.objects.exists()


def test_a_good_amount_still_goes_through_each_kind_of_form(people):
    """The strictness does not refuse what people really type."""
    alice, bob = people
    client = browser(alice)
    response = client.post("/wallet/send", {"to": bob.handle, "currency": "USD", "amount": "12.50"})
    assert response.status_code == 200 and b"12.50" in response.content
    response = client.post(
        "/creator/tiers", {"name": "Gold", "currency": "USD", "perks": "", "price": "5"}
    )
    assert response.status_code == 302
    response = client.post("/payouts/", {"currency": "USD", "method": "standard", "amount": "10"})
    assert response.status_code == 200


# --- API ------------------------------------------------------------------------------------

# Raw JSON values for an amount or a count: strings of every bad kind, and JSON numbers
# with an exponent or a fraction (the strict parser reads those as Decimal).
BAD_JSON_VALUES = [json.dumps(t) for t in BAD_TEXT] + ["1e3", "1.0e0", "1E+2", "1.0", "true"]


PRICE = '{"amount": @@, "currency": "USD"}'


def _api_money_calls(alice, bob):
    """(path, body template with the amount as ``@@``) for every API call taking money."""
    post = make_post(bob)
    own = make_post(alice)
    product = creators.product_create(
        seller=bob,
        post_id=make_post(bob).pk,
        title="Zine",
        description="",
        price=Money(500, "USD"),
        stock=5,
        kind="digital",
    )
    order = creators.order_create(buyer=alice, product_id=product.pk, quantity=1, request_key=key())
    return [
        ("/api/v1/transfers", f'{{"to": "{bob.handle}", "amount": @@, "currency": "USD"}}'),
        ("/api/v1/requests", f'{{"from": "{bob.handle}", "amount": @@, "currency": "USD"}}'),
        ("/api/v1/topups", '{"amount": @@, "currency": "USD", "payment_method": "pm_card_visa"}'),
        ("/api/v1/payouts", '{"amount": @@, "currency": "USD"}'),
        ("/api/v1/payouts/quote", '{"amount": @@, "currency": "USD"}'),
        (f"/api/v1/posts/{post.pk}/tips", '{"amount": @@, "currency": "USD"}'),
        (f"/api/v1/users/{bob.handle}/tips", '{"amount": @@, "currency": "USD"}'),
        (f"/api/v1/orders/{order.pk}/refund", '{"amount": @@, "currency": "USD"}'),
        (
            "/api/v1/products",
            f'{{"post": {own.pk}, "title": "Mug", "price": {{"amount": @@, "currency": "USD"}},'
            ' "stock": 1, "kind": "digital"}',
        ),
        ("/api/v1/memberships/tiers", '{"name": "Gold", "price": ' + PRICE + "}"),
        (
            "/api/v1/fx/quotes",
            '{"source_currency": "USD", "target_currency": "EUR", "source_amount": @@}',
        ),
        ("/api/v1/posts", '{"text": "hi", "locked_text": "x", "price": ' + PRICE + "}"),
    ]


@pytest.mark.parametrize("value", BAD_JSON_VALUES)
def test_every_api_amount_refuses_bad_values_with_invalid_amount(people, value):
    alice, bob = people
    client = api_for(alice)
    calls = _api_money_calls(alice, bob)
    tiers_before = MembershipTier.objects.count()
    products_before = Product.objects.count()
    for path, template in calls:
        response = client.generic(
            "POST",
            path,
            template.replace("@@", value),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=key(),
        )
        assert 400 <= response.status_code < 500, (path, value, response.content)
        error = response.json()["error"]
        # The post's price is a generic JSON field: a fractional number fails there, as a
        # field error on "price", before the amount is judged.
        assert error["code"] == "invalid_amount" or "price" in error["details"]["fields"], (
            path,
            value,
            error,
        )
    assert not Transfer.objects.exists() and not TopUp.objects.exists()
    assert not Payout.objects.exists() and not Tip.objects.exists()
    assert MembershipTier.objects.count() == tiers_before
    assert Product.objects.count() == products_before


@pytest.mark.parametrize("value", [*BAD_JSON_VALUES, '"2"', "0", "101", "null"])
def test_order_quantity_is_a_json_integer_only(people, value):
    alice, bob = people
    product = creators.product_create(
        seller=bob,
        post_id=make_post(bob).pk,
        title="Zine",
        description="",
        price=Money(500, "USD"),
        stock=200,
        kind="digital",
    )
    response = api_for(alice).generic(
        "POST",
        "/api/v1/orders",
        f'{{"product": {product.pk}, "quantity": {value}}}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert response.status_code == 400, response.content
    assert "quantity" in response.json()["error"]["details"]["fields"]
    assert not Order.objects.exists()


@pytest.mark.parametrize("value", [*BAD_JSON_VALUES, '"2"', "-1"])
def test_product_stock_is_a_json_integer_only(people, value):
    alice, _ = people
    post = make_post(alice)
    response = api_for(alice).generic(
        "POST",
        "/api/v1/products",
        json.dumps(
            {
                "post": post.pk,
                "title": "Mug",
                "price": {"amount": 500, "currency": "USD"},
                "kind": "digital",
                "stock": 0,
            }
        ).replace('"stock": 0', f'"stock": {value}'),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert "stock" in response.json()["error"]["details"]["fields"]
    assert not Product.objects.exists()


def test_a_whole_quantity_still_orders(people):
    alice, bob = people
    product = creators.product_create(
        seller=bob,
        post_id=make_post(bob).pk,
        title="Zine",
        description="",
        price=Money(500, "USD"),
        stock=5,
        kind="digital",
    )
    response = api_for(alice).post(
        "/api/v1/orders",
        {"product": product.pk, "quantity": 2},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert response.status_code == 201, response.content
    assert Order.objects.get().quantity == 2
