"""The detail page of a payout: its wallet line (the hold's posting) opens a page with the
amount, the payout fee, what reaches the bank and the status, for its owner only."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import Money
from payments.payouts import services
from payments.payouts.models import Payout
from payments.payouts.tests.support import card_payee, deliver_events, make_user, settle
from payments.wallets.selectors import wallet_statement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_destination_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    settings.PAYOUT_INSTANT_FEE_BPS = 150
    settings.PAYOUT_INSTANT_FEE_MIN = 50


def page(user, url: str):
    client = Client()
    client.force_login(user)
    return client.get(url)


def test_a_paid_payout_line_opens_its_page(settings):
    # An instant payout to a debit card, so that the page has a fee line to show.
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    creator = card_payee(15000)
    payout = services.payout_request(
        user=creator, amount=Money(10000, "USD"), method="instant", request_key="k1"
    )
    services.payout_submit(payout_id=payout.pk)
    remote_id = Payout.objects.get(pk=payout.pk).processor_payout_id
    settle(remote_id)
    deliver_events(remote_id, "payout.paid")
    payout.refresh_from_db()

    (line,) = [
        ln
        for ln in wallet_statement(user=creator, currency="USD").lines
        if ln.reference.startswith("payout-request:")
    ]
    html = page(creator, line.detail_url).content.decode()
    assert "Payout to your" in html and "Paid" in html
    assert "Payout fee" in html and f"${payout.fee / 100:.2f}" in html
    assert f"${(payout.amount + payout.fee) / 100:.2f}" in html and "$100.00" in html
    assert page(make_user(), line.detail_url).status_code == 404
