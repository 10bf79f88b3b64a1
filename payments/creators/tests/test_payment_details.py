"""Detail pages of creator payments (registered in CreatorsConfig.ready): every statement
line of a tip, an unlock, an order and a membership charge opens a page that says who
paid whom, the platform fee on its own line, the creator's net and the fitting actions,
for the two parties only."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import Money
from payments.creators import services
from payments.creators.models import MembershipCharge, Order, Tip, Unlock
from payments.creators.tests.factories import fund, key, make_post, make_user
from payments.wallets.selectors import payment_detail_url, wallet_statement

pytestmark = pytest.mark.django_db


def page(user, url: str):
    client = Client()
    client.force_login(user)
    return client.get(url)


@pytest.fixture
def world():
    fan, carol = make_user("fan"), make_user("carol")
    fund(fan, 100_000)
    notes = make_post(carol, "Studio notes")
    services.tip_send(
        tipper=fan,
        amount=Money(500, "USD"),
        request_key=key(),
        post_id=notes.pk,
        message="love it",
        visibility="private",
    )
    paid = services.post_set_paid_content(
        author=carol, post=make_post(carol, "Recipe"), locked_text="secret", price=Money(300, "USD")
    )
    services.unlock_purchase(buyer=fan, post_id=paid.pk)
    product = services.product_create(
        seller=carol,
        post_id=notes.pk,
        title="Cat print",
        description="A4",
        price=Money(2500, "USD"),
        stock=3,
        kind="physical",
    )
    services.order_create(
        buyer=fan,
        product_id=product.pk,
        quantity=1,
        shipping_address="1 Main St",
        request_key=key(),
    )
    tier = services.tier_create(creator=carol, name="Print club", price=Money(500, "USD"))
    services.membership_subscribe(member=fan, tier_id=tier.pk)
    return fan, carol


def test_every_creator_line_opens_its_page_for_both_sides(world):
    fan, carol = world
    # The seller's order line comes with the release from escrow; the buyer's at once.
    for user, expected in (
        (fan, {"tip", "unlock", "order", "membership"}),
        (carol, {"tip", "unlock", "membership"}),
    ):
        # (The factory funds the fan with a bare ledger entry, which has no payment page.)
        lines = [ln for ln in wallet_statement(user=user, currency="USD").lines if ln.reference]
        kinds = {line.reference.split(":")[0] for line in lines}
        assert expected <= kinds
        for line in lines:
            assert line.detail_url, line
            response = page(user, line.detail_url)
            assert response.status_code == 200, line
            assert line.description.split(" ")[0] in response.content.decode()


def test_a_tip_shows_the_fee_line_the_net_and_the_message(world):
    fan, carol = world
    tip = Tip.objects.get(post__isnull=False)
    url = payment_detail_url("tip", tip.pk)
    html = page(carol, url).content.decode()
    assert f"Tip from @{fan.handle} for" in html and "love it" in html
    assert "Platform fee (from the creator&#x27;s share)" in html
    assert "$5.00" in html and f"${(tip.amount - tip.fee) / 100:.2f}" in html
    assert "Tip again" not in html  # the creator does not tip themselves
    assert "Tip again" in page(fan, url).content.decode()


def test_an_order_offers_the_seller_a_refund_and_the_buyer_to_buy_again(world):
    fan, carol = world
    order = Order.objects.get()
    url = payment_detail_url("order", order.pk)
    seller = page(carol, url).content.decode()
    assert f"/orders/{order.pk}#refund" in seller and "Refund" in seller
    assert "Paid, held until delivery" in seller
    buyer = page(fan, url).content.decode()
    assert "Buy again" in buyer and "#refund" not in buyer


def test_an_unlock_and_a_membership_charge(world):
    fan, carol = world
    unlock = Unlock.objects.get()
    html = page(fan, payment_detail_url("unlock", unlock.pk)).content.decode()
    assert f"Unlocked \u2018Recipe\u2019 by @{carol.handle}" in html and "Read the post" in html
    charge = MembershipCharge.objects.get()
    url = payment_detail_url("membership", charge.membership_id, entry_id=charge.entry_id)
    html = page(carol, url).content.decode()
    assert f"Membership \u2018Print club\u2019 of @{fan.handle}" in html
    assert f"SP-{charge.entry_id:08d}" in html and "Period" in html


def test_strangers_get_404_for_every_creator_payment(world):
    eve = make_user("eve")
    urls = [
        payment_detail_url("tip", Tip.objects.get().pk),
        payment_detail_url("unlock", Unlock.objects.get().pk),
        payment_detail_url("order", Order.objects.get().pk),
        payment_detail_url("membership", MembershipCharge.objects.get().membership_id),
    ]
    for url in urls:
        assert page(eve, url).status_code == 404, url
