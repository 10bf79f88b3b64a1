"""Guest card payments emit the webhook event of the wallet payment of the same kind, in
the settling transaction, once (a second webhook delivery adds none), with ``"guest":
true`` and never the guest's e-mail address."""

from __future__ import annotations

import json

import pytest

from core.money import Money
from payments.creators.errors import CardDeclined
from payments.creators.models import GuestPayment
from payments.creators.tests.factories import fund, key, make_user
from payments.creators.tests.test_guest_payments import (
    deliver,
    digital_product,
    paid_post,
    start,
)
from payments.hooks import services
from payments.hooks.models import Event
from payments.links import services as links
from payments.wallets.events import EVENT_TYPES

pytestmark = pytest.mark.django_db

EMAIL = "secret.fan@example.com"


def _listen(user):
    return services.endpoint_create(
        user=user, url="https://93.184.216.34/hook", event_types=list(EVENT_TYPES)
    )


def _settled(guest) -> GuestPayment:
    deliver(guest.payment_id)
    deliver(guest.payment_id)  # a repeated webhook: still one event
    guest.refresh_from_db()
    assert guest.status == "completed"
    return guest


def _only_event(user) -> Event:
    (event,) = Event.objects.filter(user=user)
    assert EMAIL not in json.dumps(event.payload)
    assert "from" not in event.payload
    return event


def test_guest_tip_emits_tip_received_with_the_guest_flag():
    creator = make_user()
    _listen(creator)
    post = paid_post(creator)
    guest = start(post_id=post.pk, amount=Money(500, "USD"), message="thanks!", email=EMAIL)
    assert not Event.objects.exists()  # nothing before the processor's webhook
    guest = _settled(guest)
    event = _only_event(creator)
    assert event.kind == "tip.received"
    assert event.payload == {
        "guest_payment": guest.pk,
        "post": post.pk,
        "amount": {"amount": 500, "currency": "USD"},
        "fee": {"amount": 50, "currency": "USD"},
        "message": "thanks!",
        "guest": True,
    }


def test_guest_unlock_emits_post_unlocked():
    creator = make_user()
    _listen(creator)
    post = paid_post(creator, price=300)
    guest = _settled(start("unlock", post_id=post.pk, email=EMAIL))
    event = _only_event(creator)
    assert event.kind == "post.unlocked"
    assert event.payload == {
        "guest_payment": guest.pk,
        "post": post.pk,
        "amount": {"amount": 300, "currency": "USD"},
        "fee": {"amount": 30, "currency": "USD"},
        "guest": True,
    }


def test_guest_product_emits_order_paid_to_the_seller():
    seller = make_user()
    _listen(seller)
    product = digital_product(seller, price=1200)
    guest = _settled(start("product", product_id=product.pk, email=EMAIL))
    event = _only_event(seller)
    assert event.kind == "order.paid"
    assert event.payload["guest_payment"] == guest.pk
    assert event.payload["product"] == product.pk
    assert event.payload["quantity"] == 1
    assert event.payload["amount"] == {"amount": 1200, "currency": "USD"}
    assert event.payload["seller"] == seller.handle
    assert event.payload["guest"] is True


def test_guest_link_payment_emits_payment_received_like_the_wallet_payment():
    owner, fan = make_user(), make_user()
    _listen(owner)
    link = links.link_create(
        owner=owner, kind="fixed", currency="USD", amount=Money(500, "USD"), note="Ticket"
    )
    fund(fan, 1000)
    paid = links.link_pay(payer=fan, slug=link.slug, request_key=key(), message="hi")
    wallet_event = Event.objects.get(user=owner)
    assert wallet_event.kind == "payment.received"
    assert wallet_event.payload == {
        "link_payment": paid.pk,
        "link": link.slug,
        "amount": {"amount": 500, "currency": "USD"},
        "fee": {"amount": 50, "currency": "USD"},
        "from": fan.handle,
        "note": "hi",
    }
    wallet_event.delete()

    guest = links.link_pay_guest(
        slug=link.slug,
        email=EMAIL,
        payment_method="pm_card_visa",
        client_key=key(),
        ip="203.0.113.9",
        message="from afar",
    )
    guest = _settled(guest)
    event = _only_event(owner)
    assert event.kind == "payment.received"
    assert event.payload == {
        "guest_payment": guest.pk,
        "link": link.slug,
        "amount": {"amount": 500, "currency": "USD"},
        "fee": {"amount": 50, "currency": "USD"},
        "note": "from afar",
        "guest": True,
    }


def test_a_failed_guest_payment_emits_nothing():
    creator = make_user()
    _listen(creator)
    with pytest.raises(CardDeclined):
        start(creator=creator, amount=Money(500, "USD"), method="pm_card_chargeDeclined")
    assert GuestPayment.objects.get().status == "failed"
    assert not Event.objects.exists()
