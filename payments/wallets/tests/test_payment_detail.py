"""The payment detail page (/wallet/payments/<kind>/<id>): the two parties and staff see
it, everybody else gets the same 404 as for a payment that does not exist; every
statement row links to it; the wallet's own kinds (transfers, top-ups) say who paid
whom, the fee, the status in words and the receipt number."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import Money
from payments.wallets.models import TopUp
from payments.wallets.selectors import payment_detail_url, wallet_statement
from payments.wallets.tests.support import fund, person
from payments.wallets.transfers import transfer_create

pytestmark = pytest.mark.django_db


def signed_in(user, language: str = "en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


@pytest.fixture
def paid():
    alice, bob = person(), person()
    fund(alice, 5000)
    t = transfer_create(
        sender=alice, to=bob, money=Money(1250, "USD"), note="pizza night", client_key="d1"
    )
    return alice, bob, t


def test_both_parties_see_who_paid_whom_the_fee_status_and_receipt_number(paid):
    alice, bob, t = paid
    url = payment_detail_url("transfer", t.pk)
    for viewer, title in ((alice, f"To @{bob.handle}"), (bob, f"From @{alice.handle}")):
        html = signed_in(viewer).get(url).content.decode()
        assert title in html
        assert "$12.50" in html and "pizza night" in html
        assert f"@{alice.handle}" in html and f"@{bob.handle}" in html
        assert "No fee: payments between wallets are free." in html
        assert ">Completed<" in html and ">completed<" not in html
        assert f"SP-{t.entry_id:08d}" in html
        assert "Report a problem" in html and "mailto:" in html
    # The payer can pay again (prefilled); the payee can send it back — both are reviewed.
    assert (
        f"/wallet/send?to={bob.handle}&amp;amount=12.50"
        in signed_in(alice).get(url).content.decode()
    )
    assert "Send it back" in signed_in(bob).get(url).content.decode()


def test_strangers_get_the_404_of_a_payment_that_does_not_exist(paid):
    _alice, _bob, t = paid
    eve = person()
    stranger = signed_in(eve)
    assert stranger.get(payment_detail_url("transfer", t.pk)).status_code == 404
    assert stranger.get(f"/wallet/transfers/{t.pk}").status_code == 404
    assert stranger.get(payment_detail_url("transfer", 999_999)).status_code == 404
    assert stranger.get(payment_detail_url("nonsense", 1)).status_code == 404
    assert stranger.get(payment_detail_url("transfer", "abc")).status_code == 404
    assert stranger.get(payment_detail_url("transfer", t.pk) + "?entry=x").status_code == 404
    # Signed out: to the login page, not a hint either way.
    assert Client().get(payment_detail_url("transfer", t.pk)).status_code == 302


def test_staff_see_any_payment(paid):
    _alice, _bob, t = paid
    staff = person(is_staff=True)
    assert signed_in(staff).get(payment_detail_url("transfer", t.pk)).status_code == 200


def test_a_top_up_says_it_came_from_the_card(paid):
    alice, _bob, _t = paid
    topup = TopUp.objects.get(user=alice)
    html = signed_in(alice).get(payment_detail_url("topup", topup.pk)).content.decode()
    assert "Top-up by card" in html and "Your card" in html and "$50.00" in html
    assert f"SP-{topup.credit_entry_id:08d}" in html and "Top up again" in html
    assert signed_in(person()).get(payment_detail_url("topup", topup.pk)).status_code == 404


def test_every_statement_row_links_to_its_payment(paid):
    alice, _bob, _t = paid
    lines = wallet_statement(user=alice, currency="USD").lines
    assert len(lines) == 2 and all(line.detail_url for line in lines)
    html = signed_in(alice).get("/wallet").content.decode()
    for line in lines:
        assert f'href="{line.detail_url.replace("&", "&amp;")}"' in html
        assert signed_in(alice).get(line.detail_url).status_code == 200


def test_the_feed_links_the_parties_to_the_payment(paid):
    alice, _bob, t = paid
    html = signed_in(alice).get("/wallet/feed").content.decode()
    assert f'href="{payment_detail_url("transfer", t.pk)}"' in html


def test_the_page_is_in_german(paid):
    alice, bob, t = paid
    html = signed_in(alice, "de").get(payment_detail_url("transfer", t.pk)).content.decode()
    assert f"An @{bob.handle}" in html
    assert "Abgeschlossen" in html and "Belegnummer" in html and "Problem melden" in html
    assert "Receipt number" not in html and "Report a problem" not in html
