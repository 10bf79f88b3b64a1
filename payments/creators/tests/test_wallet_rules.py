"""Wallet send rules on creator payments paid from the wallet: a frozen payer pays nothing
(``account_frozen``) and tips, unlocks, orders and memberships count against the weekly and
per-payment send limits (reserved like P2P transfers, given back when the wallet cannot
pay, never passed under concurrency). Also: a full order refund puts the stock back."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from accounts.models import User
from core.money import Money
from ledger.errors import InsufficientFunds
from payments.creators import errors, services
from payments.creators.models import Membership, MembershipCharge, Order, Product, Tip, Unlock
from payments.creators.tests.factories import (
    api_for,
    assert_ledger_ok,
    available,
    connect_with_retry,
    fund,
    key,
    make_post,
    make_user,
    postings_of,
    wallet,
)
from payments.wallets.errors import LimitExceeded
from payments.wallets.limits import limits_summary
from payments.wallets.models import SendLimit

ESCROW = "platform:escrow:USD"


def product_for(seller, *, price=2000, stock=5, kind="physical"):
    return services.product_create(
        seller=seller,
        post_id=make_post(seller).pk,
        title="Mug",
        description="A mug",
        price=Money(price, "USD"),
        stock=stock,
        kind=kind,
        delivery_url="https://example.com/f.zip" if kind == "digital" else "",
    )


def buy(buyer, product, quantity=1):
    return services.order_create(
        buyer=buyer,
        product_id=product.pk,
        quantity=quantity,
        shipping_address="1 Main St",
        request_key=key(),
    )


def paid_post(creator, price=300):
    return services.post_set_paid_content(
        author=creator, post=make_post(creator), locked_text="secret", price=Money(price, "USD")
    )


def tier_of(creator, price=1000):
    return services.tier_create(creator=creator, name="Gold", price=Money(price, "USD"))


def freeze(user) -> None:
    """Staff freeze the account; the caller keeps its stale (unfrozen) object."""
    User.objects.filter(pk=user.pk).update(is_frozen=True)


def week_used(user) -> int:
    return limits_summary(user=user).week_used


@pytest.mark.django_db
def test_a_frozen_payer_pays_nothing_even_with_a_stale_user_object():
    fan, creator = make_user(), make_user()
    fund(fan, 10_000)
    post = paid_post(creator)
    product = product_for(creator)
    tier = tier_of(creator)
    freeze(fan)  # ``fan`` in memory still says is_frozen=False
    with pytest.raises(errors.AccountFrozen):
        services.tip_send(tipper=fan, post_id=post.pk, amount=Money(100, "USD"), request_key=key())
    with pytest.raises(errors.AccountFrozen):
        services.tip_send(tipper=fan, creator=creator, amount=Money(100, "USD"), request_key=key())
    with pytest.raises(errors.AccountFrozen):
        services.unlock_purchase(buyer=fan, post_id=post.pk)
    with pytest.raises(errors.AccountFrozen):
        buy(fan, product)
    with pytest.raises(errors.AccountFrozen):
        services.membership_subscribe(member=fan, tier_id=tier.pk)
    assert not Tip.objects.exists() and not Unlock.objects.exists()
    assert not Order.objects.exists() and not Membership.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 5
    assert available(fan) == 10_000 and week_used(fan) == 0


@pytest.mark.django_db
def test_api_answers_403_account_frozen_and_writes_nothing():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = paid_post(creator)
    client = api_for(fan)
    freeze(fan)
    r = client.post(
        f"/api/v1/posts/{post.pk}/tips",
        {"amount": 100, "currency": "USD"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "account_frozen")
    r = client.post(f"/api/v1/posts/{post.pk}/unlock", HTTP_IDEMPOTENCY_KEY=key())
    assert (r.status_code, r.json()["error"]["code"]) == (403, "account_frozen")
    assert not Tip.objects.exists() and not Unlock.objects.exists() and available(fan) == 1000


@pytest.mark.django_db
def test_a_frozen_members_renewal_is_not_paid():
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    membership = services.membership_subscribe(member=fan, tier_id=tier_of(creator).pk)
    freeze(fan)
    due = membership.current_period_end + timedelta(minutes=1)
    services.memberships_renew_due(now=due)
    membership.refresh_from_db()
    assert membership.status == "past_due"
    assert MembershipCharge.objects.filter(status="completed").count() == 1
    assert available(fan) == 4000
    assert_ledger_ok()


@pytest.mark.django_db
def test_every_kind_of_creator_payment_counts_against_the_weekly_limit():
    """Unverified: 250.00 per payment, 500.00 a week (settings defaults)."""
    fan, creator = make_user(), make_user()
    fund(fan, 100_000)
    with pytest.raises(LimitExceeded) as exc:
        services.tip_send(
            tipper=fan, creator=creator, amount=Money(25_001, "USD"), request_key=key()
        )
    assert exc.value.details["limit"] == "per_transfer"
    assert not Tip.objects.exists() and week_used(fan) == 0

    services.tip_send(tipper=fan, creator=creator, amount=Money(25_000, "USD"), request_key=key())
    buy(fan, product_for(creator, price=10_000))
    services.membership_subscribe(member=fan, tier_id=tier_of(creator, price=10_000).pk)
    services.unlock_purchase(buyer=fan, post_id=paid_post(creator, price=4_000).pk)
    assert week_used(fan) == 49_000

    big_post = paid_post(creator, price=1_001)
    with pytest.raises(LimitExceeded) as exc:
        services.unlock_purchase(buyer=fan, post_id=big_post.pk)
    assert exc.value.details["limit"] == "weekly_send"
    assert exc.value.details["remaining"] == {"amount": 1_000, "currency": "USD"}
    product = product_for(creator, price=1_001)
    with pytest.raises(LimitExceeded):
        buy(fan, product)
    # Refused: nothing written, the stock is untouched, the money stays.
    assert not Unlock.objects.filter(post=big_post).exists()
    assert not Order.objects.filter(product=product).exists()
    assert Product.objects.get(pk=product.pk).stock == 5
    assert available(fan) == 100_000 - 49_000
    assert week_used(fan) == 49_000
    # A P2P-style check of the same counter: the remaining 10.00 can still be tipped.
    services.tip_send(tipper=fan, creator=creator, amount=Money(1_000, "USD"), request_key=key())
    assert week_used(fan) == 50_000
    assert_ledger_ok()


@pytest.mark.django_db
def test_api_limit_error_is_a_stable_422():
    fan, creator = make_user(), make_user()
    fund(fan, 100_000)
    r = api_for(fan).post(
        f"/api/v1/posts/{make_post(creator).pk}/tips",
        {"amount": 25_001, "currency": "USD"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "limit_exceeded")
    assert not Tip.objects.exists()


@pytest.mark.django_db
def test_a_payment_the_wallet_cannot_pay_gives_its_reservation_back():
    fan, creator = make_user(), make_user()
    fund(fan, 100)
    with pytest.raises(InsufficientFunds):
        services.tip_send(tipper=fan, creator=creator, amount=Money(500, "USD"), request_key=key())
    with pytest.raises(InsufficientFunds):
        services.unlock_purchase(buyer=fan, post_id=paid_post(creator).pk)
    product = product_for(creator, price=2000)
    with pytest.raises(InsufficientFunds):
        buy(fan, product)
    with pytest.raises(InsufficientFunds):
        services.membership_subscribe(member=fan, tier_id=tier_of(creator).pk)
    assert week_used(fan) == 0
    assert Product.objects.get(pk=product.pk).stock == 5
    # A retry of a failed tip with the same key reserves nothing again.
    request_key = key()
    with pytest.raises(InsufficientFunds):
        services.tip_send(
            tipper=fan, creator=creator, amount=Money(500, "USD"), request_key=request_key
        )
    with pytest.raises(InsufficientFunds):
        services.tip_send(
            tipper=fan, creator=creator, amount=Money(500, "USD"), request_key=request_key
        )
    assert week_used(fan) == 0 and available(fan) == 100


@pytest.mark.django_db
def test_a_replayed_tip_counts_once():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    request_key = key()
    first = services.tip_send(
        tipper=fan, creator=creator, amount=Money(500, "USD"), request_key=request_key
    )
    again = services.tip_send(
        tipper=fan, creator=creator, amount=Money(500, "USD"), request_key=request_key
    )
    assert first.pk == again.pk and week_used(fan) == 500 and available(fan) == 500


@pytest.mark.django_db
def test_card_tips_are_not_wallet_sends(settings):
    fan, creator = make_user(), make_user()
    services.tip_send_card(
        tipper=fan,
        creator=creator,
        amount=Money(500, "USD"),
        payment_method="pm_card_visa",
        request_key=key(),
    )
    assert week_used(fan) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.many_connections
def test_twenty_concurrent_tips_cannot_pass_the_weekly_limit(settings):
    settings.WALLET_LIMITS = {
        "unverified": {"weekly_send": 10_000, "per_transfer": 5_000},
        "verified": {"weekly_send": 10**9, "per_transfer": 10**9},
    }
    settings.WALLET_TRANSFERS_PER_MINUTE = 1000
    fan = make_user()
    creators = [make_user() for _ in range(20)]
    fund(fan, 100_000)
    barrier = threading.Barrier(len(creators))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(creator):
        try:
            connect_with_retry()
            barrier.wait()
            services.tip_send(
                tipper=fan, creator=creator, amount=Money(1_500, "USD"), request_key=key()
            )
            result = "ok"
        except LimitExceeded:
            result = "limit"
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            result = repr(exc)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in creators]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["limit"] * 14 + ["ok"] * 6  # 6 x 15.00 <= 100.00 < 7 x
    assert Tip.objects.filter(tipper=fan, status="completed").count() == 6
    assert not Tip.objects.exclude(status="completed").exists()
    assert SendLimit.objects.get(user=fan).week_used == 9_000
    assert available(fan) == 91_000
    assert_ledger_ok()


# --- restocking on refunds ------------------------------------------------------------------
@pytest.mark.django_db
def test_a_full_refund_puts_the_stock_back():
    buyer, seller = make_user(), make_user()
    fund(buyer, 10_000)
    product = product_for(seller, price=2000, stock=5)
    order = buy(buyer, product, quantity=2)
    assert Product.objects.get(pk=product.pk).stock == 3
    refund = services.order_refund(seller=seller, order_id=order.pk)
    assert postings_of(refund.entry) == [
        (ESCROW, "D", 4000, "USD"),
        (wallet(buyer), "C", 4000, "USD"),
    ]
    assert Product.objects.get(pk=product.pk).stock == 5
    # Nothing more happens on a second attempt: the order is refunded already.
    with pytest.raises(errors.OrderStateConflict):
        services.order_refund(seller=seller, order_id=order.pk)
    assert Product.objects.get(pk=product.pk).stock == 5
    assert_ledger_ok()


@pytest.mark.django_db
def test_partial_refunds_keep_the_stock_until_the_order_is_fully_refunded():
    buyer, seller = make_user(), make_user()
    fund(buyer, 10_000)
    product = product_for(seller, price=2000, stock=5)
    order = buy(buyer, product)
    services.order_refund(seller=seller, order_id=order.pk, amount=Money(500, "USD"))
    assert Product.objects.get(pk=product.pk).stock == 4
    assert Order.objects.get(pk=order.pk).status == "paid"
    # The refund that completes the order (the rest) is a full refund of the order.
    services.order_refund(seller=seller, order_id=order.pk, amount=Money(1500, "USD"))
    assert Order.objects.get(pk=order.pk).status == "refunded"
    assert Product.objects.get(pk=product.pk).stock == 5
    assert available(buyer) == 10_000
    assert_ledger_ok()


@pytest.mark.django_db
def test_partial_refund_then_release_keeps_the_stock_sold():
    buyer, seller = make_user(), make_user()
    fund(buyer, 10_000)
    product = product_for(seller, price=2000, stock=5)
    order = buy(buyer, product)
    services.order_refund(seller=seller, order_id=order.pk, amount=Money(500, "USD"))
    services.order_confirm(buyer=buyer, order_id=order.pk)
    assert Product.objects.get(pk=product.pk).stock == 4


@pytest.mark.django_db
def test_the_tip_page_shows_the_limit_and_freeze_refusals_without_paying():
    from django.test import Client

    fan, creator = make_user(), make_user()
    fund(fan, 100_000)
    client = Client()
    client.force_login(fan)
    body = {"idempotency_key": key(), "custom": "250.01", "currency": "USD", "step": "confirm"}
    page = client.post(f"/tip/{creator.handle}", body)
    assert page.status_code == 200
    assert "per-payment limit" in page.content.decode()
    freeze(fan)
    body = {"idempotency_key": key(), "custom": "1.00", "currency": "USD", "step": "confirm"}
    page = client.post(f"/tip/{creator.handle}", body)
    assert page.status_code == 200
    assert "Your account is frozen, so it cannot send or cash out money." in page.content.decode()
    assert not Tip.objects.exists() and available(fan) == 100_000 and week_used(fan) == 0
