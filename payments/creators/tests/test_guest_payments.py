"""Guest payments by card: worked examples of each kind (postings checked), the webhook
delivered twice or before the processor's answer (one credit), declines and 3-D Secure,
the abuse limits (429/422 with stable codes, nothing written), the signed access link,
and the claim when the guest's address is verified on an account."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core import mail, signing

from core.money import Money
from core.text import TextTooLong
from ledger import chart
from ledger.models import Entry
from payments.creators import errors, selectors, services, webhook_handlers
from payments.creators.models import GuestPayment, Product
from payments.creators.services import guests
from payments.creators.tests.factories import (
    FEES,
    assert_ledger_ok,
    available,
    make_post,
    make_user,
    postings_of,
    wallet,
)
from payments.processors import signing as processor_signing
from payments.processors.sandbox import models as sandbox_models
from payments.processors.sandbox.adapter import SandboxProcessor
from payments.wallets.errors import InvalidPaymentMethod
from payments.wallets.selectors import wallet_statement
from posts.models import Post

pytestmark = pytest.mark.django_db

CLEARING = chart.processor_clearing_key("sandbox", "USD")


def ckey() -> str:
    return uuid.uuid4().hex


def events(payment_id: str, event_type: str = "payment_intent.succeeded"):
    """The sandbox's signed events of a payment, verified as the intake verifies them."""
    processor = SandboxProcessor()
    result = []
    rows = sandbox_models.Event.objects.filter(object_id=payment_id, type=event_type)
    for row in rows.order_by("seq"):
        body = row.body.encode()
        headers = {
            "Stripe-Signature": processor_signing.signature_header(body, processor.webhook_secret)
        }
        result.append(processor.parse_webhook(body, headers))
    return result


def deliver(payment_id: str, event_type: str = "payment_intent.succeeded") -> None:
    handler = {
        "payment_intent.succeeded": webhook_handlers.guest_payment_succeeded,
        "payment_intent.payment_failed": webhook_handlers.guest_payment_failed,
    }[event_type]
    for event in events(payment_id, event_type):
        handler(event)


def start(kind="tip", *, method="pm_card_visa", ip="203.0.113.7", email="fan@example.com", **kw):
    return guests.guest_checkout_start(
        kind=kind,
        email=email,
        payment_method=method,
        client_key=kw.pop("client_key", None) or ckey(),
        ip=ip,
        site_url="https://pay.example",
        **kw,
    )


def paid_post(author, price=300):
    return services.paid_post_create(
        author=author, text="teaser", locked_text="the secret recipe", price=Money(price, "USD")
    )


def digital_product(seller, price=1200, stock=3):
    post = make_post(seller)
    return services.product_create(
        seller=seller,
        post_id=post.pk,
        title="Wallpaper pack",
        description="",
        price=Money(price, "USD"),
        stock=stock,
        kind="digital",
        delivery_url="https://example.com/pack.zip",
    )


def entry_of(guest) -> Entry:
    return Entry.objects.get(idempotency_key=f"creators:guest:{guest.pk}")


# --- worked examples --------------------------------------------------------------------------
def test_worked_example_guest_tip_of_5_00_lands_after_the_webhook():
    creator = make_user()
    guest = start(creator=creator, amount=Money(500, "USD"), message="thanks!")
    assert guest.status == "pending" and guest.payment_id
    assert available(creator) == 0  # nothing before the processor's webhook
    assert not Entry.objects.filter(idempotency_key=f"creators:guest:{guest.pk}").exists()

    deliver(guest.payment_id)

    guest.refresh_from_db()
    assert guest.status == "completed" and guest.entry_id
    assert postings_of(entry_of(guest)) == [
        (CLEARING, "D", 500, "USD"),
        (wallet(creator), "C", 450, "USD"),
        (FEES, "C", 50, "USD"),
    ]
    assert entry_of(guest).code == "creator.tip.card"
    assert available(creator) == 450
    assert_ledger_ok()
    statement = wallet_statement(user=creator, currency="USD")
    assert [(x.description, x.change.amount) for x in statement.lines] == [
        ("Tip by card from a visitor", 450)
    ]


def test_worked_example_guest_unlock_at_the_unlock_rate():
    creator = make_user()
    post = paid_post(creator, price=300)
    guest = start("unlock", post_id=post.pk)
    deliver(guest.payment_id)
    guest.refresh_from_db()
    assert (guest.status, guest.amount, guest.fee) == ("completed", 300, 30)
    assert postings_of(entry_of(guest)) == [
        (CLEARING, "D", 300, "USD"),
        (wallet(creator), "C", 270, "USD"),
        (FEES, "C", 30, "USD"),
    ]
    assert entry_of(guest).code == "creator.unlock.card"
    assert_ledger_ok()


def test_worked_example_guest_digital_product_takes_one_from_stock():
    seller = make_user()
    product = digital_product(seller, price=1200, stock=3)
    guest = start("product", product_id=product.pk)
    deliver(guest.payment_id)
    guest.refresh_from_db()
    assert postings_of(entry_of(guest)) == [
        (CLEARING, "D", 1200, "USD"),
        (wallet(seller), "C", 1080, "USD"),
        (FEES, "C", 120, "USD"),
    ]
    assert entry_of(guest).code == "creator.sale.card"
    assert Product.objects.get(pk=product.pk).stock == 2
    assert_ledger_ok()


def physical_product(seller, price=900, stock=3):
    post = make_post(seller)
    return services.product_create(
        seller=seller,
        post_id=post.pk,
        title="Mug",
        description="",
        price=Money(price, "USD"),
        stock=stock,
        kind="physical",
    )


def test_worked_example_guest_physical_product_settles_to_the_seller_with_the_address(
    django_capture_on_commit_callbacks,
):
    seller = make_user()
    product = physical_product(seller, price=900, stock=3)
    guest = start(
        "product",
        product_id=product.pk,
        shipping_name="  Ada Lovelace ",
        shipping_address="12 St James's Square\nLondon SW1Y 4JH",
    )
    assert (guest.shipping_name, guest.shipping_address) == (
        "Ada Lovelace",
        "12 St James's Square\nLondon SW1Y 4JH",
    )
    with django_capture_on_commit_callbacks(execute=True):
        deliver(guest.payment_id)
    guest.refresh_from_db()
    assert (guest.status, guest.amount, guest.fee) == ("completed", 900, 90)
    # As a digital sale: straight to the seller at the sale rate, no escrow.
    assert postings_of(entry_of(guest)) == [
        (CLEARING, "D", 900, "USD"),
        (wallet(seller), "C", 810, "USD"),
        (FEES, "C", 90, "USD"),
    ]
    assert entry_of(guest).code == "creator.sale.card"
    assert available(seller) == 810
    assert Product.objects.get(pk=product.pk).stock == 2
    assert_ledger_ok()
    # Nothing to open online: no access link in the receipt, none accepted.
    assert not guests.guest_has_access(guest)
    receipt = next(m for m in mail.outbox if "fan@example.com" in m.to)
    assert "/pay/guest/access/" not in receipt.body
    with pytest.raises(errors.GuestAccessInvalid):
        guests.guest_access_check(token=guests.guest_access_token(guest=guest))
    # The seller's list of card sales carries where to ship it.
    (sale,) = selectors.guest_sales_of(seller=seller)
    assert sale.pk == guest.pk and sale.shipping_name == "Ada Lovelace"


@pytest.mark.parametrize(
    ("name", "address", "error"),
    [
        ("", "12 Main St", errors.ShippingAddressRequired),
        ("Ada", "   ", errors.ShippingAddressRequired),
        (None, None, errors.ShippingAddressRequired),
        ("Ada", "x" * 501, TextTooLong),
        ("x" * 201, "12 Main St", TextTooLong),
    ],
)
def test_a_physical_product_needs_a_valid_address_and_bad_ones_write_nothing(name, address, error):
    seller = make_user()
    product = physical_product(seller)
    with pytest.raises(error) as exc:
        start("product", product_id=product.pk, shipping_name=name, shipping_address=address)
    assert 400 <= exc.value.status < 500
    assert not GuestPayment.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 3


# --- stock: reserved at checkout, sold on settlement, back on failure -------------------------
def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def test_the_item_is_reserved_when_the_checkout_starts_and_sold_once_it_settles():
    seller = make_user()
    product = physical_product(seller, stock=1)
    guest = start("product", product_id=product.pk, shipping_name="Ada", shipping_address="1 Rd")
    # Charged but not settled yet: the last item is already this guest's.
    assert (guest.status, guest.stock_reserved, stock_of(product)) == ("pending", True, 0)
    with pytest.raises(errors.OutOfStock) as exc:
        start("product", product_id=product.pk, shipping_name="Bo", shipping_address="2 Rd")
    assert (exc.value.status, exc.value.code) == (409, "out_of_stock")
    assert GuestPayment.objects.count() == 1  # the second guest's card was never touched
    deliver(guest.payment_id)
    deliver(guest.payment_id)  # a duplicate webhook sells nothing twice
    guest.refresh_from_db()
    assert (guest.status, guest.stock_reserved, stock_of(product)) == ("completed", False, 0)
    assert_ledger_ok()


def test_a_declined_card_puts_the_reserved_item_back_once():
    seller = make_user()
    product = physical_product(seller, stock=1)
    with pytest.raises(errors.CardDeclined):
        start(
            "product",
            product_id=product.pk,
            shipping_name="Ada",
            shipping_address="1 Rd",
            method="pm_card_chargeDeclined",
        )
    guest = GuestPayment.objects.get()
    assert (guest.status, guest.stock_reserved, stock_of(product)) == ("failed", False, 1)
    # The processor's payment_failed webhook for the same decline returns nothing more.
    deliver(guest.payment_id, "payment_intent.payment_failed")
    assert stock_of(product) == 1
    # The item is for sale again.
    other = start("product", product_id=product.pk, shipping_name="Bo", shipping_address="2 Rd")
    assert (other.stock_reserved, stock_of(product)) == (True, 0)


def test_an_abandoned_3d_secure_checkout_gives_its_item_back_when_the_sweeper_asks():
    seller = make_user()
    product = digital_product(seller, stock=1)
    guest = start("product", product_id=product.pk, method="pm_card_authenticationRequired")
    assert (guest.status, stock_of(product)) == ("requires_action", 0)
    # Too recent: the sweeper leaves a guest at the 3-D Secure page alone.
    assert guests.guests_sweep() == 0
    assert stock_of(product) == 0
    # The processor gives up on the authentication (the guest closed the page).
    sandbox_models.PaymentIntent.objects.filter(id=guest.payment_id).update(
        status="requires_payment_method"
    )
    GuestPayment.objects.filter(pk=guest.pk).update(
        created_at=guest.created_at - timedelta(hours=1)
    )
    assert guests.guests_sweep() == 1
    guest.refresh_from_db()
    assert (guest.status, guest.stock_reserved, stock_of(product)) == ("failed", False, 1)
    assert guests.guests_sweep() == 0
    assert stock_of(product) == 1
    assert not Entry.objects.filter(reference=f"guest_payment:{guest.pk}").exists()


def test_a_payment_started_before_reservations_still_takes_its_item_on_settlement():
    seller = make_user()
    product = digital_product(seller, stock=2)
    guest = start("product", product_id=product.pk)
    # As a row written before checkouts reserved stock: nothing was taken at the start.
    GuestPayment.objects.filter(pk=guest.pk).update(stock_reserved=False)
    Product.objects.filter(pk=product.pk).update(stock=2)
    deliver(guest.payment_id)
    assert stock_of(product) == 1


def test_a_digital_product_keeps_no_address():
    seller = make_user()
    product = digital_product(seller)
    guest = start(
        "product", product_id=product.pk, shipping_name="Ada", shipping_address="12 Main St"
    )
    assert (guest.shipping_name, guest.shipping_address) == ("", "")


# --- exactly once -----------------------------------------------------------------------------
def test_the_webhook_delivered_twice_credits_once(django_capture_on_commit_callbacks):
    creator = make_user()
    guest = start(creator=creator, amount=Money(1000, "USD"))
    with django_capture_on_commit_callbacks(execute=True):
        deliver(guest.payment_id)
        deliver(guest.payment_id)
        guests.guest_settle(guest_id=guest.pk, payment_id=guest.payment_id)  # the sweeper
    assert Entry.objects.filter(reference=f"guest_payment:{guest.pk}").count() == 1
    assert available(creator) == 900
    assert len([m for m in mail.outbox if "fan@example.com" in m.to]) == 1


def test_the_webhook_before_the_processor_answer_credits_once(monkeypatch):
    creator = make_user()
    original = guests._record_payment

    def webhook_first(guest, payment):
        deliver(payment.id)  # the processor's webhook wins the race with the redirect
        return original(guest, payment)

    monkeypatch.setattr(guests, "_record_payment", webhook_first)
    guest = start(creator=creator, amount=Money(700, "USD"))
    assert guest.status == "completed"  # not moved back to pending
    monkeypatch.undo()
    deliver(guest.payment_id)
    assert available(creator) == 630
    assert Entry.objects.filter(reference=f"guest_payment:{guest.pk}").count() == 1


def test_a_retried_form_finds_its_payment_and_charges_once():
    creator = make_user()
    k = ckey()
    first = start(creator=creator, amount=Money(500, "USD"), client_key=k)
    again = start(creator=creator, amount=Money(500, "USD"), client_key=k)
    assert again.pk == first.pk
    assert sandbox_models.PaymentIntent.objects.filter(id=first.payment_id).count() == 1
    assert GuestPayment.objects.count() == 1


def test_a_payment_of_another_row_never_credits_this_one():
    creator = make_user()
    a = start(creator=creator, amount=Money(500, "USD"))
    b = start(creator=creator, amount=Money(500, "USD"))
    with pytest.raises(guests.GuestPaymentMismatch):
        guests.guest_settle(guest_id=a.pk, payment_id=b.payment_id)
    assert GuestPayment.objects.get(pk=a.pk).status == "pending"


# --- declines and 3-D Secure ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
def test_a_declined_card_fails_and_credits_nothing(method, decline_code):
    creator = make_user()
    with pytest.raises(errors.CardDeclined) as exc:
        start(creator=creator, amount=Money(500, "USD"), method=method)
    assert exc.value.details["decline_code"] == decline_code
    guest = GuestPayment.objects.get()
    assert (guest.status, guest.failure_code) == ("failed", decline_code)
    deliver(guest.payment_id, "payment_intent.payment_failed")
    assert not Entry.objects.filter(reference=f"guest_payment:{guest.pk}").exists()
    assert available(creator) == 0
    assert mail.outbox == []


def test_3d_secure_waits_for_the_confirmation():
    creator = make_user()
    guest = start(
        creator=creator, amount=Money(800, "USD"), method="pm_card_authenticationRequired"
    )
    assert guest.status == "requires_action"
    assert available(creator) == 0
    guest = guests.guest_checkout_confirm(client_key=guest.client_key)
    assert guest.status == "pending"
    deliver(guest.payment_id)
    assert GuestPayment.objects.get(pk=guest.pk).status == "completed"
    assert available(creator) == 720


def test_unknown_tokens_and_card_numbers_are_refused_before_anything_is_written():
    creator = make_user()
    for method in ("4242424242424242", "pm_card_nope", ""):
        with pytest.raises(InvalidPaymentMethod):
            start(creator=creator, amount=Money(500, "USD"), method=method)
    with pytest.raises(errors.InvalidEmail):
        start(creator=creator, amount=Money(500, "USD"), email="not-an-address")
    assert not GuestPayment.objects.exists()


# --- limits -----------------------------------------------------------------------------------
def test_the_card_limit_is_429_with_a_stable_code_and_writes_nothing(settings):
    settings.GUEST_PAYMENTS_PER_CARD = 2
    creator = make_user()
    for n in range(2):
        start(creator=creator, amount=Money(100, "USD"), ip=f"198.51.100.{n}")
    with pytest.raises(errors.GuestCardLimited) as exc:
        start(creator=creator, amount=Money(100, "USD"), ip="198.51.100.9")
    assert (exc.value.status, exc.value.code) == (429, "guest_card_limited")
    assert GuestPayment.objects.count() == 2
    # Another card is not limited by this one.
    start(creator=creator, amount=Money(100, "USD"), method="pm_card_mastercard")


def test_the_ip_limit_is_429_and_counts_declines(settings):
    settings.GUEST_PAYMENTS_PER_IP = 2
    creator = make_user()
    with pytest.raises(errors.CardDeclined):
        start(creator=creator, amount=Money(100, "USD"), method="pm_card_chargeDeclined")
    start(creator=creator, amount=Money(100, "USD"))
    with pytest.raises(errors.GuestIpLimited) as exc:
        start(creator=creator, amount=Money(100, "USD"), method="pm_card_mastercard")
    assert (exc.value.status, exc.value.code) == (429, "guest_ip_limited")
    assert GuestPayment.objects.count() == 2
    start(creator=creator, amount=Money(100, "USD"), method="pm_card_amex", ip="192.0.2.1")


def test_the_guest_tip_cap_counts_what_the_card_tipped(settings):
    settings.GUEST_TIP_CAP = 1000
    creator = make_user()
    start(creator=creator, amount=Money(600, "USD"))
    with pytest.raises(errors.GuestTipCapExceeded) as exc:
        start(creator=creator, amount=Money(500, "USD"))
    assert (exc.value.status, exc.value.code) == (422, "guest_tip_cap")
    assert GuestPayment.objects.count() == 1
    start(creator=creator, amount=Money(400, "USD"))  # exactly at the cap


# --- access links and claims ------------------------------------------------------------------
def test_the_access_link_opens_a_completed_unlock_and_expires(
    django_capture_on_commit_callbacks,
):
    creator = make_user()
    post = paid_post(creator)
    guest = start("unlock", post_id=post.pk)
    token = guests.guest_access_token(guest=guest)
    with pytest.raises(errors.GuestAccessInvalid):  # not paid yet
        guests.guest_access_check(token=token)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(guest.payment_id)
    assert guests.guest_access_check(token=token).pk == guest.pk
    with pytest.raises(errors.GuestAccessExpired) as exc:
        guests.guest_access_check(token=token, max_age=-1)
    assert exc.value.status == 410
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(errors.GuestAccessInvalid):
        guests.guest_access_check(token=tampered)
    other_salt = signing.dumps({"g": guest.pk, "e": guest.email}, salt="other")
    with pytest.raises(errors.GuestAccessInvalid):
        guests.guest_access_check(token=other_salt)
    receipt = next(m for m in mail.outbox if m.to == ["fan@example.com"])
    assert "https://pay.example/pay/guest/access/" in receipt.body
    assert receipt.subject.startswith("Your receipt:")
    # The link in the e-mail opens the post's locked text, and only that post's.
    path = receipt.body.split("https://pay.example", 1)[1].split()[0]
    from django.test import Client

    page = Client().get(path)
    assert page.status_code == 200 and "the secret recipe" in page.content.decode()
    assert Client().get(path[:-3] + "xyz").status_code == 403


def test_a_guest_who_signs_up_and_verifies_the_address_sees_their_purchases():
    from allauth.account.models import EmailAddress
    from allauth.account.signals import email_confirmed

    creator = make_user()
    post = paid_post(creator)
    unlock = start("unlock", post_id=post.pk, email="Later@Example.com")
    tip = start(creator=creator, amount=Money(500, "USD"), email="later@example.com")
    for g in (unlock, tip):
        deliver(g.payment_id)
    someone_else = start(creator=creator, amount=Money(200, "USD"), email="x@example.com")
    deliver(someone_else.payment_id)

    from accounts.services import user_signup

    person = user_signup(handle="laterfan", email="later@example.com", password="pw-long-1x")
    readable = Post.objects.filter(pk=post.pk).filter(selectors.locked_access_q(viewer=person))
    assert not readable.exists()  # not before the address is verified
    assert selectors.guest_purchases(user=person) == []

    address = EmailAddress.objects.get(user=person)
    address.verified = True
    address.save()
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)

    assert {g.pk for g in selectors.guest_purchases(user=person)} == {unlock.pk, tip.pk}
    assert readable.exists()
    assert guests.guest_payments_claim(user=person) == 0  # idempotent


def test_the_sweeper_settles_a_payment_whose_webhook_never_came():
    creator = make_user()
    guest = start(creator=creator, amount=Money(500, "USD"))
    GuestPayment.objects.filter(pk=guest.pk).update(
        created_at=guest.created_at - timedelta(hours=1)
    )
    assert guests.guests_sweep() == 1
    assert GuestPayment.objects.get(pk=guest.pk).status == "completed"
    assert available(creator) == 450


def test_a_request_without_a_peer_address_is_counted_in_one_shared_bucket(settings):
    settings.GUEST_PAYMENTS_PER_IP = 1
    creator = make_user()
    assert start(creator=creator, amount=Money(100, "USD"), ip="").ip == "0.0.0.0"
    with pytest.raises(errors.GuestIpLimited):
        start(creator=creator, amount=Money(100, "USD"), ip="garbage", method="pm_card_amex")
