"""A link's totals on /links, its owner's page and the API count its completed wallet
payments and its completed guest card payments, each once (a repeated webhook, a pending
or failed guest payment and another link's payments add nothing)."""

from __future__ import annotations

import pytest
from django.test import Client

from core.money import Money
from payments.creators.tests.factories import api_for, fund, key, make_user
from payments.creators.tests.test_guest_payments import deliver
from payments.links import selectors, services

pytestmark = pytest.mark.django_db


def _guest(link, *, method="pm_card_visa", settle=True):
    guest = services.link_pay_guest(
        slug=link.slug,
        email="fan@example.com",
        payment_method=method,
        client_key=key(),
        ip="203.0.113.20",
    )
    if settle:
        deliver(guest.payment_id)
        deliver(guest.payment_id)  # delivered twice: still one payment
    return guest


def test_totals_count_wallet_and_guest_payments_once_each():
    owner, fan = make_user(), make_user()
    fund(fan, 5000)
    link = services.link_create(owner=owner, kind="fixed", currency="USD", amount=Money(500, "USD"))
    other = services.link_create(
        owner=owner, kind="fixed", currency="USD", amount=Money(700, "USD")
    )
    for _ in range(2):
        services.link_pay(payer=fan, slug=link.slug, request_key=key())
    _guest(link)
    _guest(link)
    _guest(link, settle=False)  # pending: not counted
    _guest(other)

    rows = {row.slug: row for row in selectors.links_of_owner(owner=owner)}
    assert (rows[link.slug].paid_count, rows[link.slug].paid_total) == (4, 2000)
    assert (rows[other.slug].paid_count, rows[other.slug].paid_total) == (1, 700)

    listed = api_for(owner).get("/api/v1/links").json()["data"]
    by_slug = {row["slug"]: row for row in listed}
    assert by_slug[link.slug]["paid_count"] == 4
    assert by_slug[link.slug]["paid_total"] == {"amount": 2000, "currency": "USD"}
    assert by_slug[other.slug]["paid_total"] == {"amount": 700, "currency": "USD"}

    client = Client()
    client.force_login(owner)
    page = client.get("/links").content.decode()
    assert '<td class="paid-count">4</td>' in page and "$20.00" in page
    manage = client.get(f"/links/{link.slug}/manage").content.decode()
    assert "4 payments" in manage and "$20.00" in manage


def test_a_new_link_has_zero_totals_in_the_api():
    owner = make_user()
    created = api_for(owner).post(
        "/api/v1/links", {"kind": "fixed", "amount": 500, "currency": "USD"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["paid_count"] == 0
    assert created.json()["paid_total"] == {"amount": 0, "currency": "USD"}
