"""Guest limits under concurrency, on the real PostgreSQL: visitors racing with the same
card never get past its limit (the card's advisory lock serialises the count and the
insert), and a tip cap cannot be overrun by tips sent at once."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from core.money import Money
from payments.creators import errors, services
from payments.creators.models import GuestPayment, Product
from payments.creators.services import guests
from payments.creators.tests.factories import connect_with_retry, make_post, make_user

pytestmark = pytest.mark.django_db(transaction=True)

VISITORS = 8


def race(creator, *, amount: int, ips: list[str]) -> list[str]:
    barrier = threading.Barrier(len(ips))

    def attempt(ip: str) -> str:
        try:
            connect_with_retry()
            barrier.wait()
            try:
                guests.guest_checkout_start(
                    kind="tip",
                    creator=creator,
                    amount=Money(amount, "USD"),
                    email="fan@example.com",
                    payment_method="pm_card_visa",
                    client_key=uuid.uuid4().hex,
                    ip=ip,
                )
                return "charged"
            except (errors.GuestCardLimited, errors.GuestTipCapExceeded) as exc:
                return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(len(ips)) as pool:
        return list(pool.map(attempt, ips))


def test_one_card_racing_from_many_addresses_stays_within_its_limit(settings):
    settings.GUEST_PAYMENTS_PER_CARD = 3
    creator = make_user()
    outcomes = race(creator, amount=100, ips=[f"198.51.100.{n}" for n in range(VISITORS)])
    assert outcomes.count("charged") == 3
    assert outcomes.count("guest_card_limited") == VISITORS - 3
    assert GuestPayment.objects.count() == 3


def test_tips_sent_at_once_cannot_overrun_the_guest_tip_cap(settings):
    settings.GUEST_TIP_CAP = 1000
    creator = make_user()
    outcomes = race(creator, amount=300, ips=[f"192.0.2.{n}" for n in range(VISITORS)])
    assert outcomes.count("charged") == 3  # 900 of the 1000
    assert outcomes.count("guest_tip_cap") == VISITORS - 3
    assert sum(GuestPayment.objects.values_list("amount", flat=True)) == 900


def test_guests_racing_for_the_last_item_cannot_both_be_charged():
    seller = make_user()
    post = make_post(seller)
    product = services.product_create(
        seller=seller,
        post_id=post.pk,
        title="Last print",
        description="",
        price=Money(900, "USD"),
        stock=1,
        kind="physical",
    )
    barrier = threading.Barrier(VISITORS)

    def attempt(n: int) -> str:
        try:
            connect_with_retry()
            barrier.wait()
            try:
                guests.guest_checkout_start(
                    kind="product",
                    product_id=product.pk,
                    email=f"fan{n}@example.com",
                    payment_method="pm_card_visa",
                    client_key=uuid.uuid4().hex,
                    ip=f"198.51.100.{n}",
                    shipping_name="Ada",
                    shipping_address="1 Main St",
                )
                return "charged"
            except errors.OutOfStock as exc:
                return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(VISITORS) as pool:
        outcomes = list(pool.map(attempt, range(VISITORS)))
    assert outcomes.count("charged") == 1
    assert outcomes.count("out_of_stock") == VISITORS - 1
    assert GuestPayment.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 0
