"""The creator's dashboard (selector, page data and API) counts completed guest card
payments with the wallet payments of the same kind, each once: a repeated webhook, a
pending or failed guest payment add nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import Money
from payments.creators import errors, selectors, services
from payments.creators.tests.factories import api_for, fund, key, make_post, make_user
from payments.creators.tests.test_guest_payments import deliver, digital_product, paid_post, start

pytestmark = pytest.mark.django_db


def _settled(guest):
    deliver(guest.payment_id)
    deliver(guest.payment_id)  # delivered twice: credited once
    return guest


def test_dashboard_counts_guest_tips_unlocks_and_sales_once_each():
    creator, fan = make_user(), make_user()
    fund(fan, 5000)
    post = make_post(creator)
    services.tip_send(tipper=fan, post_id=post.pk, amount=Money(500, "USD"), request_key=key())
    _settled(start(creator=creator, amount=Money(1000, "USD")))  # net 900
    _settled(start("unlock", post_id=paid_post(creator, price=300).pk))  # net 270
    _settled(start("product", product_id=digital_product(creator, price=1200).pk))  # net 1080
    start(creator=creator, amount=Money(700, "USD"))  # pending: not counted
    with pytest.raises(errors.CardDeclined):
        start(creator=creator, amount=Money(800, "USD"), method="pm_card_chargeDeclined")

    data = selectors.dashboard(creator=creator)
    assert data["totals"]["USD"] == {"tip": 450 + 900, "unlock": 270, "sale": 1080}
    assert sum(data["earnings"]["USD"]["tip"]) == 1350  # the same day: added, not replaced

    api = api_for(creator).get("/api/v1/creator/dashboard")
    assert api.status_code == 200, api.content
    assert api.json()["totals"]["USD"] == {"tip": 1350, "unlock": 270, "sale": 1080}
    (sale,) = api.json()["recent_guest_sales"]
    assert sale["title"] == "Wallpaper pack" and sale["amount"] == {
        "amount": 1200,
        "currency": "USD",
    }
    assert sale["shipping_address"] == ""
    client = Client()
    client.force_login(creator)
    page_data = client.get("/creator/dashboard/data").json()
    assert page_data["totals"]["USD"]["sale"] == 1080
    assert "Wallpaper pack" in client.get("/creator/dashboard").content.decode()
