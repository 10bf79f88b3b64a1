"""Staff see FX rate snapshots and quotes read-only: lists and detail pages work, nothing
can be added, changed or deleted."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from accounts.models import User
from payments.fx import services
from payments.fx.models import FxQuote, FxRateSnapshot
from payments.fx.tests.support import make_person, store_rates

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser(
        handle="fxroot", email="fxroot@example.com", password="x" * 12
    )
    # The admin lets only staff with a second factor in (accounts.admin_site).
    TOTP.activate(admin, generate_totp_secret())
    client.force_login(admin)
    return client


@pytest.fixture
def quote():
    store_rates()
    return services.fx_quote_create(
        user=make_person(), source_currency="EUR", target_currency="USD", source_amount=1000
    )


def test_snapshots_and_quotes_are_listed_and_shown(staff_client, quote):
    snapshot = FxRateSnapshot.objects.get()
    listing = staff_client.get("/admin/fx/fxratesnapshot/")
    assert listing.status_code == 200 and b"sandbox" in listing.content
    assert staff_client.get(f"/admin/fx/fxratesnapshot/{snapshot.pk}/change/").status_code == 200
    listing = staff_client.get("/admin/fx/fxquote/")
    assert listing.status_code == 200 and str(quote.pk).encode() in listing.content
    detail = staff_client.get(f"/admin/fx/fxquote/{quote.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # a view page, no save button
    assert staff_client.get(f"/admin/fx/fxquote/?q={quote.pk}").status_code == 200
    assert staff_client.get("/admin/fx/fxquote/?q=someone").status_code == 200


def test_nothing_can_be_added_changed_or_deleted(staff_client, quote):
    snapshot = FxRateSnapshot.objects.get()
    assert staff_client.get("/admin/fx/fxquote/add/").status_code == 403
    assert staff_client.get("/admin/fx/fxratesnapshot/add/").status_code == 403
    for url in (
        f"/admin/fx/fxquote/{quote.pk}/delete/",
        f"/admin/fx/fxratesnapshot/{snapshot.pk}/delete/",
    ):
        assert staff_client.post(url, {"post": "yes"}).status_code == 403
    response = staff_client.post(
        f"/admin/fx/fxquote/{quote.pk}/change/", {"source_amount": 1, "note": "x"}
    )
    assert response.status_code == 403
    response = staff_client.post(
        "/admin/fx/fxquote/",
        {"action": "delete_selected", "_selected_action": [str(quote.pk)], "post": "yes"},
    )
    assert FxQuote.objects.filter(pk=quote.pk, source_amount=1000).exists()
    assert FxRateSnapshot.objects.filter(pk=snapshot.pk).exists()


def test_people_who_are_not_staff_are_sent_to_the_login(client, quote):
    client.force_login(make_person())
    response = client.get("/admin/fx/fxquote/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
