"""The step-up rule for every payment that moves money to someone else or out: above
``WALLET_REAUTH_ABOVE`` a stale token answers 403 ``reauthentication_required`` and writes
nothing; a stale session is sent to re-authenticate and back to the form, with what was
typed still there; below the threshold both pay at once; after re-authenticating, the
large payment goes through. One decision (``payments.wallets.payer``) behind every entry
point: transfers, request payments, tips (post and profile, wallet and card), unlocks,
orders, memberships, FX sends, payouts and payout destination changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, User
from core.money import Money
from payments.creators import services as creators
from payments.creators.models import Membership, Order, Tip, Unlock
from payments.creators.tests.factories import api_for, fund, key, make_post, make_user
from payments.fx.models import FxQuote
from payments.payouts.models import Payout
from payments.payouts.tests import support as payouts_support
from payments.wallets.models import MoneyRequest, Transfer
from payments.wallets.requests import request_create
from payments.wallets.tests.support import generous_throttles

pytestmark = pytest.mark.django_db

THRESHOLD = 1000  # 10.00 USD: 15.00 is above it, 5.00 below
BIG, SMALL = 1500, 500
PASSWORD = "pw-long-enough-1"  # creators_factories.make_user


@pytest.fixture(autouse=True)
def _rule(settings, monkeypatch):
    settings.WALLET_REAUTH_ABOVE = THRESHOLD
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    generous_throttles(monkeypatch)


def stale(user) -> None:
    """The token was issued (or last re-authenticated) long ago."""
    ApiToken.objects.filter(user=user).update(reauthenticated_at=None)


# --- API ------------------------------------------------------------------------------------
@dataclass
class ApiCase:
    payer: User
    password: str
    pay_big: Callable  # (client) -> response
    pay_small: Callable
    written: Callable  # () -> rows the large payment would write


def _post(client, path, body=None):
    return client.post(path, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key())


def api_transfer() -> ApiCase:
    alice, bob = make_user(), make_user()
    fund(alice, 10_000)

    def pay(amount):
        return lambda c: _post(
            c, "/api/v1/transfers", {"to": bob.handle, "amount": amount, "currency": "USD"}
        )

    return ApiCase(
        alice, PASSWORD, pay(BIG), pay(SMALL), lambda: Transfer.objects.filter(amount=BIG).count()
    )


def api_request_payment() -> ApiCase:
    alice, bob = make_user(), make_user()
    fund(bob, 10_000)
    big, small = (
        request_create(requester=alice, payer=bob, money=Money(amount, "USD"), client_key=key())
        for amount in (BIG, SMALL)
    )
    return ApiCase(
        bob,
        PASSWORD,
        lambda c: _post(c, f"/api/v1/requests/{big.pk}/pay"),
        lambda c: _post(c, f"/api/v1/requests/{small.pk}/pay"),
        lambda: (
            MoneyRequest.objects.filter(pk=big.pk, status="paid").count()
            + Transfer.objects.filter(amount=BIG).count()
        ),
    )


def _tip_case(path: str, extra: dict | None = None) -> Callable[[], ApiCase]:
    def case() -> ApiCase:
        fan, creator = make_user(), make_user()
        fund(fan, 10_000)
        url = path.format(post=make_post(creator).pk, handle=creator.handle)

        def pay(amount):
            return lambda c: _post(c, url, {"amount": amount, "currency": "USD", **(extra or {})})

        return ApiCase(
            fan, PASSWORD, pay(BIG), pay(SMALL), lambda: Tip.objects.filter(amount=BIG).count()
        )

    return case


def api_unlock() -> ApiCase:
    fan, creator = make_user(), make_user()
    fund(fan, 10_000)
    big, small = (
        creators.post_set_paid_content(
            author=creator, post=make_post(creator), locked_text="s", price=Money(price, "USD")
        )
        for price in (BIG, SMALL)
    )
    return ApiCase(
        fan,
        PASSWORD,
        lambda c: _post(c, f"/api/v1/posts/{big.pk}/unlock"),
        lambda c: _post(c, f"/api/v1/posts/{small.pk}/unlock"),
        lambda: Unlock.objects.filter(post=big).count(),
    )


def api_order() -> ApiCase:
    buyer, seller = make_user(), make_user()
    fund(buyer, 10_000)
    product = creators.product_create(
        seller=seller,
        post_id=make_post(seller).pk,
        title="Zine",
        description="",
        price=Money(SMALL, "USD"),
        stock=10,
        kind="digital",
        delivery_url="https://example.com/z.pdf",
    )

    def pay(quantity):
        return lambda c: _post(c, "/api/v1/orders", {"product": product.pk, "quantity": quantity})

    return ApiCase(
        buyer, PASSWORD, pay(3), pay(1), lambda: Order.objects.filter(quantity=3).count()
    )


def api_membership() -> ApiCase:
    fan = make_user()
    fund(fan, 10_000)
    big, small = (
        creators.tier_create(creator=make_user(), name="Gold", price=Money(price, "USD"))
        for price in (BIG, SMALL)
    )
    return ApiCase(
        fan,
        PASSWORD,
        lambda c: _post(c, "/api/v1/memberships", {"tier": big.pk}),
        lambda c: _post(c, "/api/v1/memberships", {"tier": small.pk}),
        lambda: Membership.objects.filter(tier=big).count(),
    )


def api_payout() -> ApiCase:
    creator = payouts_support.payee(10_000)

    def pay(amount):
        return lambda c: _post(c, "/api/v1/payouts", {"amount": amount, "currency": "USD"})

    return ApiCase(
        creator,
        payouts_support.PASSWORD,
        pay(BIG),
        pay(SMALL),
        lambda: Payout.objects.filter(amount=BIG).count(),
    )


def api_fx_send() -> ApiCase:
    from payments.fx.tests import support as fx_support

    fx_support.store_rates()
    alice = fx_support.make_person(home_currency="EUR")
    bob = fx_support.make_person(home_currency="USD")
    fx_support.fund(alice, 10_000, "EUR")

    def pay(source_amount):
        def send(c):
            quote = c.post(
                "/api/v1/fx/quotes",
                {"source_currency": "EUR", "to": bob.handle, "source_amount": source_amount},
                format="json",
            )
            assert quote.status_code == 201, quote.data
            return _post(c, "/api/v1/fx/transfers", {"quote": quote.data["id"], "to": bob.handle})

        return send

    # 13.00 EUR is about 14.30 USD in the limits currency; 4.00 EUR about 4.40 USD.
    return ApiCase(
        alice,
        fx_support.PASSWORD,
        pay(1300),
        pay(400),
        lambda: FxQuote.objects.filter(source_amount=1300, entry_id__isnull=False).count(),
    )


API_CASES = {
    "transfer": api_transfer,
    "request_payment": api_request_payment,
    "tip_on_a_post": _tip_case("/api/v1/posts/{post}/tips"),
    "tip_jar": _tip_case("/api/v1/users/{handle}/tips"),
    "tip_by_card": _tip_case("/api/v1/posts/{post}/tips", {"payment_method": "pm_card_visa"}),
    "unlock": api_unlock,
    "order": api_order,
    "membership": api_membership,
    "payout": api_payout,
    "fx_send": api_fx_send,
}


@pytest.mark.parametrize("kind", list(API_CASES))
def test_api_a_stale_token_pays_small_amounts_and_must_reauthenticate_for_large_ones(kind):
    case = API_CASES[kind]()
    client = api_for(case.payer)
    stale(case.payer)

    refused = case.pay_big(client)
    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["code"] == "reauthentication_required"
    assert case.written() == 0

    small = case.pay_small(client)
    assert small.status_code in (200, 201, 202), small.content

    proved = client.post("/api/v1/auth/reauthenticate", {"password": case.password}, format="json")
    assert proved.status_code == 204, proved.content
    paid = case.pay_big(client)
    assert paid.status_code in (200, 201, 202), paid.content
    assert case.written() >= 1


def test_api_changing_the_payout_destination_always_needs_a_fresh_proof():
    creator = payouts_support.make_user()
    client = api_for(creator)
    stale(creator)
    body = {"country": "US", "routing_number": "110000000", "account_number": "000123456789"}
    refused = client.put("/api/v1/payouts/destination", body, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        403,
        "reauthentication_required",
    )
    assert not creator.payout_destinations.exists()
    client.post(
        "/api/v1/auth/reauthenticate", {"password": payouts_support.PASSWORD}, format="json"
    )
    assert client.put("/api/v1/payouts/destination", body, format="json").status_code == 201


# --- pages ----------------------------------------------------------------------------------
@dataclass
class PageCase:
    payer: User
    password: str
    url: str  # where the confirmation is posted
    big: dict  # the posted form of the large payment
    small: dict
    written: Callable  # () -> rows the large payment wrote
    small_written: Callable  # () -> rows the small payment wrote
    kept: dict  # what the form shows again after the re-authentication


def _typed(page: str, name: str) -> str | None:
    """The value a rendered form holds for ``name`` (input, textarea, or checked box)."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    if match:
        return match.group(1)
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>([^<]*)</textarea>', page)
    if match:
        return match.group(1)
    match = re.search(rf'<input[^>]*name="{name}"[^>]*checked', page)
    return "on" if match else None


def page_transfer() -> PageCase:
    alice, bob = make_user(), make_user()
    fund(alice, 10_000)

    def form(amount):
        return {"to": bob.handle, "amount": amount, "currency": "USD", "note": "for the pizza"}

    return PageCase(
        alice,
        PASSWORD,
        "/wallet/send/confirm",
        form("15.00"),
        form("5.00"),
        lambda: Transfer.objects.filter(amount=BIG).count(),
        lambda: Transfer.objects.filter(amount=SMALL).count(),
        {"to": bob.handle, "amount": "15.00", "note": "for the pizza"},
    )


def page_request_payment() -> PageCase:
    alice, bob = make_user(), make_user()
    fund(bob, 10_000)
    big, small = (
        request_create(requester=alice, payer=bob, money=Money(amount, "USD"), client_key=key())
        for amount in (BIG, SMALL)
    )
    return PageCase(
        bob,
        PASSWORD,
        f"/wallet/requests/{big.pk}/pay",
        {},
        {"_url": f"/wallet/requests/{small.pk}/pay"},
        lambda: MoneyRequest.objects.filter(pk=big.pk, status="paid").count(),
        lambda: MoneyRequest.objects.filter(pk=small.pk, status="paid").count(),
        {},
    )


def _page_tip(path: str) -> Callable[[], PageCase]:
    def case() -> PageCase:
        fan, creator = make_user(), make_user()
        fund(fan, 10_000)
        url = path.format(post=make_post(creator).pk, handle=creator.handle)

        def form(amount):
            return {
                "custom": amount,
                "currency": "USD",
                "message": "thank you",
                "public": "on",
                "step": "confirm",
            }

        return PageCase(
            fan,
            PASSWORD,
            url,
            form("15.00"),
            form("5.00"),
            lambda: Tip.objects.filter(amount=BIG).count(),
            lambda: Tip.objects.filter(amount=SMALL).count(),
            {"custom": "15.00", "message": "thank you", "public": "on"},
        )

    return case


def page_unlock() -> PageCase:
    fan, creator = make_user(), make_user()
    fund(fan, 10_000)
    big, small = (
        creators.post_set_paid_content(
            author=creator, post=make_post(creator), locked_text="s", price=Money(price, "USD")
        )
        for price in (BIG, SMALL)
    )
    return PageCase(
        fan,
        PASSWORD,
        f"/posts/{big.pk}/unlock",
        {},
        {"_url": f"/posts/{small.pk}/unlock"},
        lambda: Unlock.objects.filter(post=big).count(),
        lambda: Unlock.objects.filter(post=small).count(),
        {},
    )


def page_order() -> PageCase:
    buyer, seller = make_user(), make_user()
    fund(buyer, 10_000)
    product = creators.product_create(
        seller=seller,
        post_id=make_post(seller).pk,
        title="Mug",
        description="",
        price=Money(SMALL, "USD"),
        stock=10,
        kind="physical",
    )

    def form(quantity):
        return {"quantity": quantity, "shipping_address": "1 Main St", "step": "confirm"}

    return PageCase(
        buyer,
        PASSWORD,
        f"/products/{product.pk}/buy",
        form("3"),
        form("1"),
        lambda: Order.objects.filter(quantity=3).count(),
        lambda: Order.objects.filter(quantity=1).count(),
        {"quantity": "3", "shipping_address": "1 Main St"},
    )


def page_membership() -> PageCase:
    fan = make_user()
    fund(fan, 10_000)
    big, small = (
        creators.tier_create(creator=make_user(), name="Gold", price=Money(price, "USD"))
        for price in (BIG, SMALL)
    )
    return PageCase(
        fan,
        PASSWORD,
        f"/memberships/join/{big.pk}",
        {},
        {"_url": f"/memberships/join/{small.pk}"},
        lambda: Membership.objects.filter(tier=big).count(),
        lambda: Membership.objects.filter(tier=small).count(),
        {},
    )


def page_payout() -> PageCase:
    creator = payouts_support.payee(10_000)

    def form(amount):
        return {"amount": amount, "currency": "USD", "method": "standard"}

    return PageCase(
        creator,
        payouts_support.PASSWORD,
        "/payouts/confirm",
        form("15.00"),
        form("5.00"),
        lambda: Payout.objects.filter(amount=BIG).count(),
        lambda: Payout.objects.filter(amount=SMALL).count(),
        {"amount": "15.00"},
    )


PAGE_CASES = {
    "transfer": page_transfer,
    "request_payment": page_request_payment,
    "tip_on_a_post": _page_tip("/posts/{post}/tip"),
    "tip_jar": _page_tip("/tip/{handle}"),
    "unlock": page_unlock,
    "order": page_order,
    "membership": page_membership,
    "payout": page_payout,
}


def _submit(client, url: str, form: dict):
    body = {k: v for k, v in form.items() if k != "_url"}
    return client.post(form.get("_url", url), {"idempotency_key": key(), **body})


@pytest.mark.parametrize("kind", list(PAGE_CASES))
def test_pages_send_a_stale_session_to_reauthenticate_and_back_with_the_form_kept(kind):
    case = PAGE_CASES[kind]()
    client = Client()
    client.force_login(case.payer)  # a session, but no recent proof of identity

    asked = _submit(client, case.url, case.big)
    assert asked.status_code == 302, asked.content[:500]
    location = urlparse(asked["Location"])
    assert location.path == reverse("account_reauthenticate")
    assert case.written() == 0
    back = parse_qs(location.query)["next"][0]

    # Re-authenticate; allauth sends the person back to the form.
    proved = client.post(asked["Location"], {"password": case.password})
    assert proved.status_code == 302 and proved["Location"] == back
    form = client.get(back)
    assert form.status_code == 200
    page = form.content.decode()
    for name, value in case.kept.items():
        assert _typed(page, name) == value, (name, page[:3000])
    # The kept values are handed back once, not left in the session.
    again = client.get(back).content.decode()
    assert all(_typed(again, name) != value for name, value in case.kept.items())

    # Now recent: the large payment goes through, and so would a small one without it.
    paid = _submit(client, case.url, case.big)
    assert paid.status_code in (200, 302) and "reauthenticate" not in paid.get("Location", "")
    assert case.written() >= 1


@pytest.mark.parametrize("kind", list(PAGE_CASES))
def test_pages_pay_small_amounts_without_asking(kind):
    case = PAGE_CASES[kind]()
    client = Client()
    client.force_login(case.payer)
    response = _submit(client, case.url, case.small)
    assert response.status_code in (200, 302), response.content[:500]
    assert "reauthenticate" not in response.get("Location", "")
    assert case.small_written() == 1 and case.written() == 0


def test_the_htmx_tip_panel_moves_the_whole_page_to_reauthentication():
    fan, creator = make_user(), make_user()
    fund(fan, 10_000)
    client = Client()
    client.force_login(fan)
    response = client.post(
        f"/tip/{creator.handle}",
        {"idempotency_key": key(), "custom": "15.00", "currency": "USD", "step": "confirm"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("account_reauthenticate"))
    assert not Tip.objects.exists()
