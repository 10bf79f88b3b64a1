"""Money requests: create, pay (a transfer, once), decline, cancel, inbox, authorisation;
and the payment feed's visibility rules."""

from __future__ import annotations

import pytest

from accounts.services import block_create, follow_create
from payments.wallets.models import MoneyRequest, Transfer
from payments.wallets.tests.support import api, fund, generous_throttles, key, person, postings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _throttles(monkeypatch):
    generous_throttles(monkeypatch)


def post(client, path, body=None):
    return client.post(path, body or {}, format="json", HTTP_IDEMPOTENCY_KEY=key())


def test_worked_example_request_paid():
    alice, bob = person("alice_r"), person("bob_r")
    fund(bob, 3000)
    res = post(
        api(alice),
        "/api/v1/requests",
        {"from": "bob_r", "amount": 1200, "currency": "USD", "note": "🍕"},
    )
    assert res.status_code == 201, res.json()
    rid = res.json()["id"]
    inbox = api(bob).get("/api/v1/requests").json()["data"]
    assert [(r["object"], r["id"], r["to"], r["amount"]) for r in inbox] == [
        ("money_request", rid, "alice_r", {"amount": 1200, "currency": "USD"})
    ]

    paid = post(api(bob), f"/api/v1/requests/{rid}/pay")
    again = post(api(bob), f"/api/v1/requests/{rid}/pay")

    assert paid.status_code == again.status_code == 200, paid.json()
    assert paid.json()["status"] == "paid"
    transfer = Transfer.objects.get(pk=paid.json()["transfer"])
    assert postings(transfer.entry_id) == [
        (f"wallet:user:{bob.pk}:USD", "D", 1200),
        (f"wallet:user:{alice.pk}:USD", "C", 1200),
    ]
    assert Transfer.objects.count() == 1
    assert api(bob).get("/api/v1/requests").json()["data"] == []


def test_paying_without_money_leaves_the_request_open():
    alice, bob = person(), person()
    rid = post(
        api(alice), "/api/v1/requests", {"from": bob.handle, "amount": 100, "currency": "USD"}
    ).json()["id"]
    res = post(api(bob), f"/api/v1/requests/{rid}/pay")
    assert (res.status_code, res.json()["error"]["code"]) == (422, "insufficient_funds")
    assert MoneyRequest.objects.get(pk=rid).status == "open"


def test_decline_and_cancel():
    alice, bob = person(), person()
    a, b = api(alice), api(bob)
    r1 = post(a, "/api/v1/requests", {"from": bob.handle, "amount": 100, "currency": "USD"})
    r2 = post(a, "/api/v1/requests", {"from": bob.handle, "amount": 200, "currency": "USD"})
    r1, r2 = r1.json()["id"], r2.json()["id"]
    assert post(b, f"/api/v1/requests/{r1}/decline").json()["status"] == "declined"
    assert post(a, f"/api/v1/requests/{r2}/cancel").json()["status"] == "cancelled"
    # The requester cannot decline, the payer cannot cancel: answered as not found.
    assert post(a, f"/api/v1/requests/{r2}/decline").status_code == 404
    assert post(b, f"/api/v1/requests/{r1}/cancel").status_code == 404
    res = post(b, f"/api/v1/requests/{r1}/pay")
    assert (res.status_code, res.json()["error"]["code"]) == (409, "invalid_state")


def test_requests_bad_input_and_strangers():
    alice, bob, eve = person(), person(), person()
    a = api(alice)
    cases = [
        ({"from": alice.handle, "amount": 1, "currency": "USD"}, 422, "accounts_must_be_different"),
        ({"from": "ghost_person", "amount": 1, "currency": "USD"}, 404, "recipient_not_found"),
        ({"from": bob.handle, "amount": -1, "currency": "USD"}, 400, "amount_must_be_positive"),
        ({"from": bob.handle, "amount": 1, "currency": "EURO"}, 400, "invalid_currency"),
        ({"from": bob.handle, "amount": 1, "currency": "USD", "to": "x"}, 400, "unknown_field"),
    ]
    for body, status, code in cases:
        res = post(a, "/api/v1/requests", body)
        assert (res.status_code, res.json()["error"]["code"]) == (status, code), body
    block_create(blocker=bob, blocked=alice)
    res = post(a, "/api/v1/requests", {"from": bob.handle, "amount": 1, "currency": "USD"})
    assert (res.status_code, res.json()["error"]["code"]) == (404, "recipient_not_found")
    rid = post(
        api(eve), "/api/v1/requests", {"from": alice.handle, "amount": 1, "currency": "USD"}
    ).json()["id"]
    assert api(bob).get(f"/api/v1/requests/{rid}").status_code == 404
    assert post(api(bob), f"/api/v1/requests/{rid}/pay").status_code == 404
    assert not MoneyRequest.objects.filter(requester=alice).exists()


def test_feed_visibility_and_amounts():
    alice, bob, fan, stranger = person(), person(), person(), person()
    follow_create(follower=fan, followee=alice)
    fund(alice, 10_000)
    sends = {}
    for visibility in ("private", "followers", "public"):
        res = post(
            api(alice),
            "/api/v1/transfers",
            {
                "to": bob.handle,
                "amount": 100,
                "currency": "USD",
                "note": f"<b>{visibility}</b>",
                "visibility": visibility,
            },
        )
        sends[visibility] = res.json()["id"]

    def seen(user):
        return {i["id"]: i for i in api(user).get("/api/v1/payments/feed").json()["data"]}

    assert set(seen(bob)) == set(sends.values())
    assert all(i["amount"] == {"amount": 100, "currency": "USD"} for i in seen(bob).values())
    assert set(seen(fan)) == {sends["followers"], sends["public"]}
    assert set(seen(stranger)) == {sends["public"]}
    item = seen(stranger)[sends["public"]]
    # No money anywhere in a stranger's item (its handles may well contain "100").
    assert item["amount"] is None and not any(isinstance(v, dict) for v in item.values())
    assert "1.00" not in item["text"] and "100" not in item["note"]
    assert item["text"] == f"@{alice.handle} paid @{bob.handle} · <b>public</b>"


def test_the_default_visibility_is_the_senders_setting():
    alice, bob, stranger = person(payment_visibility_default="public"), person(), person()
    fund(alice, 1000)
    res = post(api(alice), "/api/v1/transfers", {"to": bob.handle, "amount": 1, "currency": "USD"})
    assert res.json()["visibility"] == "public"
    assert [i["id"] for i in api(stranger).get("/api/v1/payments/feed").json()["data"]] == [
        res.json()["id"]
    ]
