"""Wallet pages through Django's test client: the forms work without JavaScript, money
forms are idempotent (a double submit pays once), fee and total are shown before paying,
nobody else's objects are reachable, and the admin review of verification is audited."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import AccountAuditEvent
from payments.wallets.models import MoneyRequest, TopUp, Transfer, VerificationRequest
from payments.wallets.tests.support import fund, person
from payments.wallets.verification import verification_request_create

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_key(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html)[1]


def test_wallet_page_shows_balances_limits_statement_and_csv():
    alice, bob = person(), person()
    fund(alice, 5000)
    from core.money import Money
    from payments.wallets.transfers import transfer_create

    transfer_create(sender=alice, to=bob, money=Money(1250, "USD"), note="=cmd()", client_key="k1")
    page = browser(alice).get("/wallet?currency=USD")
    html = page.content.decode()
    assert page.status_code == 200
    assert "$37.50" in html and "Your limits" in html and f"To @{bob.handle}" in html
    csv = b"".join(browser(alice).get("/wallet/statement.csv?currency=USD").streaming_content)
    lines = csv.decode().splitlines()
    assert lines[0].startswith("entry_id,date,description")
    assert f"To @{bob.handle} · =cmd()" in lines[1] and "-12.50" in lines[1]
    assert lines[2].split(",")[2] == "Top-up by card"
    assert browser(alice).get("/wallet?currency=usd").status_code == 404


def test_send_money_review_then_pay_once_on_double_submit():
    alice, bob = person(), person()
    fund(alice, 5000)
    client = browser(alice)
    assert 'list="people"' in client.get("/wallet/send").content.decode()
    people = client.get(f"/wallet/people?to={bob.handle[:4]}").content.decode()
    assert f'value="{bob.handle}"' in people

    review = client.post(
        "/wallet/send",
        {"to": bob.handle, "amount": "12.50", "currency": "USD", "note": "<script>x</script>"},
    )
    html = review.content.decode()
    assert review.status_code == 200
    assert "$12.50" in html and "Fee" in html and "$0.00" in html and "Total" in html
    assert "<script>x</script>" not in html  # escaped
    body = {
        "idempotency_key": form_key(html),
        "to": bob.handle,
        "amount": "12.50",
        "currency": "USD",
        "note": "pizza",
        "visibility": "private",
    }
    first = client.post("/wallet/send/confirm", body)
    second = client.post("/wallet/send/confirm", body)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Transfer.objects.filter(sender=alice).count() == 1
    assert client.get(first["Location"]).status_code == 200
    assert browser(person()).get(first["Location"]).status_code == 404


def test_send_money_errors_rerender_the_form():
    alice, bob = person(), person()
    client = browser(alice)
    for amount in ("abc", "1.234", "-1", "1e3", "NaN"):
        res = client.post("/wallet/send", {"to": bob.handle, "amount": amount, "currency": "USD"})
        assert res.status_code == 400, amount
    res = client.post("/wallet/send", {"to": "nobody_x", "amount": "1", "currency": "USD"})
    assert res.status_code == 400 and "nobody you can pay" in res.content.decode()


def test_topup_page_uses_test_cards_only():
    fan = person()
    client = browser(fan)
    page = client.get("/wallet/topup").content.decode()
    assert 'value="pm_card_visa"' in page
    assert 'name="number"' not in page and 'name="cvc"' not in page
    form = {
        "idempotency_key": form_key(page),
        "amount": "20.00",
        "currency": "USD",
        "card": "pm_card_visa",
    }
    review = client.post("/wallet/topup", form | {"step": "review"})
    # The review shows amount, fee and total, and charges nothing yet.
    assert review.status_code == 200 and not TopUp.objects.filter(user=fan).exists()
    text = review.content.decode()
    assert "Card processing fee" in text and "$0.00" in text and "Top up $20.00" in text
    res = client.post("/wallet/topup", form | {"step": "confirm"})
    assert res.status_code == 302
    topup = TopUp.objects.get(user=fan)
    assert (topup.amount, topup.status) == (2000, "pending")
    res = client.post(
        "/wallet/topup",
        {
            "idempotency_key": form_key(page) + "0",
            "amount": "20.00",
            "currency": "USD",
            "card": "4242424242424242",
        },
    )
    assert res.status_code == 400
    declined = client.post(
        "/wallet/topup",
        {
            "idempotency_key": "a" * 32,
            "amount": "5",
            "currency": "USD",
            "card": "pm_card_chargeDeclined",
            "step": "confirm",
        },
    )
    assert declined.status_code == 400
    assert "Your card was declined and nothing was charged" in declined.content.decode()
    assert "generic_decline" not in declined.content.decode()
    assert TopUp.objects.filter(user=fan, status="failed").count() == 1


def test_request_pages_and_actions():
    alice, bob = person(), person()
    fund(bob, 1000)
    a, b = browser(alice), browser(bob)
    page = a.get("/wallet/request").content.decode()
    res = a.post(
        "/wallet/request",
        {
            "idempotency_key": form_key(page),
            "from": bob.handle,
            "amount": "3.00",
            "currency": "USD",
        },
    )
    assert res.status_code == 302
    req = MoneyRequest.objects.get(requester=alice)
    inbox = b.get("/wallet/requests").content.decode()
    assert f"@{alice.handle} asks you for" in inbox and "$3.00" in inbox
    res = b.post(f"/wallet/requests/{req.pk}/pay", {"idempotency_key": form_key(inbox)})
    assert res.status_code == 302
    req.refresh_from_db()
    assert req.status == "paid"
    assert (
        a.post(f"/wallet/requests/{req.pk}/pay", {"idempotency_key": "b" * 32}).status_code == 404
    )


def test_feed_page_hides_amounts_from_third_parties():
    alice, bob, eve = person(), person(), person()
    fund(alice, 1000)
    from core.money import Money
    from payments.wallets.transfers import transfer_create

    transfer_create(
        sender=alice,
        to=bob,
        money=Money(777, "USD"),
        note="tacos",
        visibility="public",
        client_key="k",
    )
    mine = browser(alice).get("/wallet/feed").content.decode()
    theirs = browser(eve).get("/wallet/feed").content.decode()
    assert "tacos" in mine and "$7.77" in mine
    assert "tacos" in theirs and "7.77" not in theirs


def test_admin_approves_verification_with_an_audit_event(admin_client, admin_user):
    alice = person()
    req = verification_request_create(user=alice, legal_name="Alice Liddell", country="gb")
    res = admin_client.post(
        "/admin/wallets/verificationrequest/",
        {"action": "approve", "_selected_action": [req.pk]},
    )
    assert res.status_code == 302
    alice.refresh_from_db()
    assert alice.verification_tier == "verified"
    assert VerificationRequest.objects.get(pk=req.pk).status == "approved"
    event = AccountAuditEvent.objects.get(user=alice)
    assert (event.actor_id, event.action) == (admin_user.pk, "verification_approve")


def test_a_large_payment_asks_to_reauthenticate_first():
    alice, bob = person(), person()
    fund(alice, 100_000)
    res = browser(alice).post(
        "/wallet/send/confirm",
        {"idempotency_key": "c" * 32, "to": bob.handle, "amount": "250.00", "currency": "USD"},
    )
    assert res.status_code == 302 and "reauthenticate" in res["Location"]
    assert not Transfer.objects.exists()


def test_verification_is_requested_through_the_api(monkeypatch):
    from payments.wallets.tests.support import api, generous_throttles

    generous_throttles(monkeypatch)
    alice = person()
    client = api(alice)
    res = client.post(
        "/api/v1/verification", {"legal_name": "Alice L", "country": "FR"}, format="json"
    )
    again = client.post(
        "/api/v1/verification", {"legal_name": "Alice L", "country": "FR"}, format="json"
    )
    assert res.status_code == again.status_code == 201
    assert res.json()["id"] == again.json()["id"]
    bad = client.post("/api/v1/verification", {"legal_name": "A", "country": "F1"}, format="json")
    assert bad.status_code == 400
    extra = client.post(
        "/api/v1/verification",
        {"legal_name": "Alice L", "country": "FR", "tier": "verified"},
        format="json",
    )
    assert (extra.status_code, extra.json()["error"]["code"]) == (400, "unknown_field")
    alice.refresh_from_db()
    assert alice.verification_tier == "unverified"
