"""The guest checkout pages: a visitor without an account pays through the form and the
review, lands on the payment's page, and bad input gets a 4xx with nothing written."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import Money
from ledger.models import Entry
from payments.creators import services
from payments.creators.models import GuestPayment
from payments.creators.tests.factories import available, make_post, make_user
from payments.creators.tests.test_guest_payments import deliver, digital_product, paid_post
from payments.links import services as links

pytestmark = pytest.mark.django_db

KEY = "k" * 32


def pay(client, url, **fields):
    body = {
        "client_key": KEY,
        "email": "visitor@example.com",
        "payment_method": "pm_card_visa",
        "step": "pay",
        **fields,
    }
    return client.post(url, body, REMOTE_ADDR="203.0.113.50")


def test_a_visitor_tips_a_tip_jar_through_form_review_and_payment_page():
    creator = make_user()
    client = Client()
    url = f"/pay/guest/tip/{creator.handle}"
    page = client.get(url + "?amount=5.00&currency=USD")
    assert page.status_code == 200 and 'value="5.00"' in page.content.decode()
    review = client.post(
        url,
        {
            "client_key": KEY,
            "email": "visitor@example.com",
            "amount": "5.00",
            "currency": "USD",
            "payment_method": "pm_card_visa",
            "step": "review",
        },
    )
    assert review.status_code == 200
    assert "Platform fee" in review.content.decode()
    assert not GuestPayment.objects.exists()  # the review writes nothing

    done = pay(client, url, amount="5.00", currency="USD")
    guest = GuestPayment.objects.get()
    assert done.status_code == 302 and done.url == f"/pay/guest/{guest.client_key}"
    assert guest.ip == "203.0.113.50" and guest.email == "visitor@example.com"
    deliver(guest.payment_id)
    status = client.get(done.url).content.decode()
    assert "visitor@example.com" in status and "Completed" in status
    assert available(creator) == 450
    # The same form sent again (a double click) is the same payment.
    assert pay(client, url, amount="5.00", currency="USD").url == done.url
    assert GuestPayment.objects.count() == 1


def test_a_visitor_at_the_tip_jar_or_a_post_tip_is_sent_to_the_card_checkout():
    creator = make_user()
    post = make_post(creator)
    assert Client().get(f"/tip/{creator.handle}?amount=2.00").url == (
        f"/pay/guest/tip/{creator.handle}?amount=2.00"
    )
    assert Client().get(f"/posts/{post.pk}/tip").url == (
        f"/pay/guest/tip/{creator.handle}?post={post.pk}"
    )


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"amount": "abc", "currency": "USD"}, 400),
        ({"amount": "0", "currency": "USD"}, 400),
        ({"amount": "5.00", "currency": "XXX"}, 400),
        ({"amount": "5.00", "currency": "USD", "email": "nope"}, 400),
        ({"amount": "5.00", "currency": "USD", "payment_method": "4242424242424242"}, 400),
        ({"amount": "5.00", "currency": "USD", "client_key": "short"}, 400),
        ({"amount": "5.00", "currency": "USD", "message": "x" * 400}, 400),
    ],
)
def test_bad_input_is_a_4xx_and_writes_nothing(fields, status):
    creator = make_user()
    r = pay(Client(), f"/pay/guest/tip/{creator.handle}", **fields)
    assert r.status_code == status, r.content[:300]
    assert not GuestPayment.objects.exists()


def test_limits_answer_429_on_the_page_and_write_nothing(settings):
    settings.GUEST_PAYMENTS_PER_IP = 1
    creator = make_user()
    url = f"/pay/guest/tip/{creator.handle}"
    assert pay(Client(), url, amount="1.00", currency="USD").status_code == 302
    r = Client().post(
        url,
        {
            "client_key": "z" * 32,
            "email": "a@example.com",
            "amount": "1.00",
            "currency": "USD",
            "payment_method": "pm_card_mastercard",
            "step": "pay",
        },
        REMOTE_ADDR="203.0.113.50",
    )
    assert r.status_code == 429
    assert "Too many card payments from this network" in r.content.decode()
    assert GuestPayment.objects.count() == 1


def test_a_declined_card_shows_the_reason_on_the_payment_page():
    creator = make_user()
    r = pay(
        Client(),
        f"/pay/guest/tip/{creator.handle}",
        amount="5.00",
        currency="USD",
        payment_method="pm_card_chargeDeclinedInsufficientFunds",
    )
    guest = GuestPayment.objects.get()
    assert r.url == f"/pay/guest/{guest.client_key}" and guest.status == "failed"
    page = Client().get(r.url).content.decode()
    assert "Failed" in page
    assert not Entry.objects.filter(reference=f"guest_payment:{guest.pk}").exists()


def test_3d_secure_on_the_payment_page():
    creator = make_user()
    client = Client()
    r = pay(
        client,
        f"/pay/guest/tip/{creator.handle}",
        amount="5.00",
        currency="USD",
        payment_method="pm_card_authenticationRequired",
    )
    assert "Your bank asks you to confirm this payment." in client.get(r.url).content.decode()
    confirm = client.post(r.url + "/confirm")
    assert confirm.status_code == 302
    guest = GuestPayment.objects.get()
    assert guest.status == "pending"
    deliver(guest.payment_id)
    assert available(creator) == 450


def test_unlock_and_product_pages_charge_the_price_and_open_the_access_link():
    creator = make_user()
    post = paid_post(creator, price=300)
    product = digital_product(creator, price=1200)
    client = Client()
    r = pay(client, f"/pay/guest/unlock/{post.pk}")
    guest = GuestPayment.objects.get(kind="unlock")
    assert guest.amount == 300
    deliver(guest.payment_id)
    page = client.get(r.url).content.decode()
    assert "Read the unlocked post" in page
    access = page.split('href="/pay/guest/access/', 1)[1].split('"', 1)[0]
    assert "the secret recipe" in client.get(f"/pay/guest/access/{access}").content.decode()

    r = client.post(
        f"/pay/guest/product/{product.pk}",
        {
            "client_key": "p" * 32,
            "email": "v@example.com",
            "payment_method": "pm_card_visa",
            "step": "pay",
        },
    )
    guest = GuestPayment.objects.get(kind="product")
    deliver(guest.payment_id)
    page = client.get(r.url).content.decode()
    access = page.split('href="/pay/guest/access/', 1)[1].split('"', 1)[0]
    assert (
        "https://example.com/pack.zip" in client.get(f"/pay/guest/access/{access}").content.decode()
    )
    assert client.get("/pay/guest/access/garbage").status_code == 403


def test_a_visitor_pays_a_payment_link_by_card():
    owner = make_user()
    link = links.link_create(owner=owner, kind="fixed", currency="USD", amount=Money(800, "USD"))
    page = Client().get(f"/links/{link.slug}").content.decode()
    assert f"/links/{link.slug}/card" in page
    r = pay(Client(), f"/links/{link.slug}/card")
    guest = GuestPayment.objects.get()
    assert (guest.kind, guest.link_id, guest.amount) == ("link", link.pk, 800)
    deliver(guest.payment_id)
    entry = Entry.objects.get(reference=f"guest_payment:{guest.pk}")
    assert entry.code == "link.payment.card"
    assert available(owner) == 720
    assert r.status_code == 302


def test_a_pay_what_you_want_link_keeps_its_minimum_and_currency():
    owner = make_user()
    link = links.link_create(owner=owner, kind="open", currency="EUR", min_amount=Money(500, "EUR"))
    r = pay(Client(), f"/links/{link.slug}/card", amount="2.00", currency="USD")
    assert r.status_code == 422
    assert not GuestPayment.objects.exists()
    pay(Client(), f"/links/{link.slug}/card", amount="6.00", currency="USD")
    guest = GuestPayment.objects.get()
    assert (guest.amount, guest.currency) == (600, "EUR")


def test_a_use_limited_link_is_wallet_only():
    owner = make_user()
    link = links.link_create(
        owner=owner, kind="fixed", currency="USD", amount=Money(800, "USD"), max_uses=1
    )
    r = pay(Client(), f"/links/{link.slug}/card")
    assert r.status_code == 409
    assert "only be paid from a SocialPay wallet" in r.content.decode()
    assert not GuestPayment.objects.exists()


def test_purchases_page_lists_what_was_bought_with_a_verified_address():
    from allauth.account.models import EmailAddress

    creator = make_user()
    post = paid_post(creator)
    pay(Client(), f"/pay/guest/unlock/{post.pk}")
    deliver(GuestPayment.objects.get().payment_id)
    person = make_user()
    EmailAddress.objects.filter(user=person).update(email="visitor@example.com", verified=True)
    client = Client()
    client.force_login(person)
    page = client.get("/pay/guest/purchases").content.decode()
    assert "Read the unlocked post" in page
    assert services.post_get_for_payment(post.pk)  # still a visible post


def test_a_visitor_buys_a_physical_product_with_a_shipping_address_and_the_seller_sees_it():
    from payments.creators.tests.test_guest_payments import physical_product

    seller = make_user()
    product = physical_product(seller, price=900)
    url = f"/pay/guest/product/{product.pk}"
    client = Client()
    form = client.get(url).content.decode()
    assert 'name="shipping_name"' in form and 'name="shipping_address"' in form
    # Without an address: a 4xx at the review and at the payment, nothing written.
    review = client.post(url, {"client_key": KEY, "email": "v@example.com", "step": "review"})
    assert review.status_code == 400
    assert "shipping address" in review.content.decode()
    assert pay(client, url, shipping_name="Ada").status_code == 400
    assert not GuestPayment.objects.exists()

    ship = {"shipping_name": "Ada Lovelace", "shipping_address": "12 Main St\nSpringfield"}
    review = client.post(
        url, {"client_key": KEY, "email": "v@example.com", "step": "review", **ship}
    )
    assert review.status_code == 200
    assert "Ada Lovelace" in review.content.decode()
    assert 'name="shipping_address" value="12 Main St\nSpringfield"' in review.content.decode()
    done = pay(client, url, **ship)
    guest = GuestPayment.objects.get()
    assert done.status_code == 302 and guest.shipping_name == "Ada Lovelace"
    deliver(guest.payment_id)
    status = client.get(done.url).content.decode()
    assert "Completed" in status and "/pay/guest/access/" not in status
    assert available(seller) == 810

    seller_client = Client()
    seller_client.force_login(seller)
    sales = seller_client.get("/orders?role=seller").content.decode()
    assert "Ada Lovelace" in sales and "12 Main St<br>Springfield" in sales
    assert "visitor@example.com" not in sales
    # Once the address is verified on an account, the purchase is listed, with no download.
    from allauth.account.models import EmailAddress

    buyer = make_user()
    EmailAddress.objects.filter(user=buyer).update(email="visitor@example.com", verified=True)
    buyer_client = Client()
    buyer_client.force_login(buyer)
    purchases = buyer_client.get("/pay/guest/purchases").content.decode()
    assert "$9.00" in purchases and "Get your download" not in purchases
