"""Wallet statement lines booked by creator money say who the other person was and for
what, on both sides, on screen and in the CSV (the describers registered in
CreatorsConfig.ready)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from core.money import Money
from payments.creators import services
from payments.creators.tests.factories import fund, key, make_post, make_user
from payments.wallets.selectors import wallet_statement

pytestmark = pytest.mark.django_db


def _descriptions(user) -> list[tuple[str, str | None]]:
    return [
        (ln.description, ln.counterparty)
        for ln in wallet_statement(user=user, currency="USD").lines
    ]


@pytest.fixture
def world():
    fan, carol = make_user("fan"), make_user("carol")
    fund(fan, 100_000)
    notes = make_post(carol, "Studio notes: how I mix risograph inks. Supporters get more.")
    services.tip_send(
        tipper=fan,
        amount=Money(500, "USD"),
        request_key=key(),
        post_id=notes.pk,
        message="",
        visibility="private",
    )
    services.tip_send(tipper=fan, creator=carol, amount=Money(300, "USD"), request_key=key())  # jar
    paid = services.post_set_paid_content(
        author=carol, post=make_post(carol, "Recipe"), locked_text="secret", price=Money(300, "USD")
    )
    services.unlock_purchase(buyer=fan, post_id=paid.pk)
    print_ = services.product_create(
        seller=carol,
        post_id=notes.pk,
        title="Cat print",
        description="A4",
        price=Money(2500, "USD"),
        stock=3,
        kind="physical",
    )
    services.order_create(
        buyer=fan, product_id=print_.pk, quantity=1, shipping_address="1 Main St", request_key=key()
    )
    tier = services.tier_create(creator=carol, name="Print club", price=Money(500, "USD"))
    services.membership_subscribe(member=fan, tier_id=tier.pk)
    return fan, carol


def test_the_payer_reads_whom_they_paid_and_for_what(world):
    fan, carol = world
    lines = _descriptions(fan)
    c = carol.handle
    assert (f"Membership \u2018Print club\u2019 with @{c}", c) in lines
    assert (f"\u2018Cat print\u2019 from @{c}", c) in lines
    assert (f"Unlocked \u2018Recipe\u2019 by @{c}", c) in lines
    assert (f"Tip to @{c}", c) in lines
    # A long post title is cut to its first words.
    assert (
        f"Tip to @{c} for \u2018Studio notes: how I mix risograph inks.\u2026\u2019",
        c,
    ) in lines


def test_the_creator_reads_who_paid_them(world):
    fan, carol = world
    lines = _descriptions(carol)
    f = fan.handle
    assert (f"Membership \u2018Print club\u2019 of @{f}", f) in lines
    assert (f"@{f} unlocked \u2018Recipe\u2019", f) in lines
    assert (f"Tip from @{f}", f) in lines


def test_the_csv_names_the_counterparty_of_every_creator_line(world):
    fan, carol = world
    client = Client()
    client.force_login(fan)
    body = b"".join(client.get("/wallet/statement.csv?currency=USD").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    paid_out = [r for r in rows if r["amount"].startswith("-")]
    assert len(paid_out) == 5  # two tips, an unlock, an order, a membership
    assert {r["counterparty"] for r in paid_out} == {carol.handle}


def test_the_wallet_page_shows_the_other_person_and_a_signed_amount(world):
    fan, carol = world
    client = Client()
    client.force_login(fan)
    html = client.get("/wallet?currency=USD").content.decode()
    assert f"Tip to @{carol.handle}" in html
    assert 'class="avatar avatar-md' in html  # the other person's avatar on their rows
    assert "\u2212$5.00" in html  # paid out: a minus sign
    assert "+$1,000.00" in html  # the top-up: a plus sign, in the "in" colour
    assert "amount-in" in html
