"""The Python client (``clients/python``) against the running app: a live server on the
test database, real tokens, real money through the ledger. Each test drives the client as a
developer would and checks what the server did."""

from __future__ import annotations

import httpx
import pytest
from socialpay_client import (
    API_VERSION,
    Me,
    Money,
    SocialPay,
    SocialPayError,
    StatementLine,
    Transfer,
)

from accounts.services import token_create
from payments.creators.tests.factories import available, fund, make_post, make_user
from payments.wallets.models import Transfer as TransferRow

pytestmark = pytest.mark.django_db(transaction=True)


def _client(live_server, user, **kwargs) -> SocialPay:
    _, secret = token_create(user=user)
    return SocialPay(live_server.url, token=secret, backoff=0.01, **kwargs)


def test_me_and_the_version_it_pins(live_server):
    alice = make_user("alice")
    seen: list[httpx.Request] = []
    transport = _Recording(seen)
    with _client(live_server, alice, transport=transport) as sp:
        me = sp.me()
    assert isinstance(me, Me) and me.handle == alice.handle
    assert me.date_joined.tzinfo is not None
    assert seen[0].headers["SocialPay-Version"] == API_VERSION
    with (
        _client(live_server, alice, version="1999-01-01") as old,
        pytest.raises(SocialPayError) as refused,
    ):
        old.me()
    assert refused.value.status == 400 and refused.value.code == "unsupported_api_version"


def test_balances_and_a_statement_iterated_across_pages(live_server):
    alice, bob = make_user("alice"), make_user("bob")
    fund(alice, 10_000)
    seen: list[httpx.Request] = []
    with _client(live_server, alice, transport=_Recording(seen)) as sp:
        for amount in (100, 200, 300):
            sp.transfers.create(to=bob.handle, amount=amount, currency="USD")
        (usd,) = [b for b in sp.wallet.balances() if b.currency == "USD"]
        assert usd.available == Money(10_000 - 600, "USD")
        lines = list(sp.wallet.statement(currency="USD", limit=2))
    assert all(isinstance(line, StatementLine) for line in lines)
    assert [line.amount.amount for line in lines] == [-300, -200, -100, 10_000]
    assert lines[0].balance_after == Money(9_400, "USD") and lines[0].counterparty == bob.handle
    statement_pages = [r for r in seen if r.url.path.endswith("/wallet/statement")]
    assert len(statement_pages) == 2  # 2 + 2 lines: the cursor was followed once


def test_a_transfer_whose_answer_is_lost_is_retried_with_its_key_and_made_once(live_server):
    alice, bob = make_user("alice"), make_user("bob")
    fund(alice, 5_000)
    transport = _LoseFirstAnswer(path="/api/v1/transfers")
    with _client(live_server, alice, transport=transport) as sp:
        transfer = sp.transfers.create(to=bob.handle, amount=1_250, currency="USD", note="pizza")
        again = sp.transfers.get(transfer.id)
    assert isinstance(transfer, Transfer) and transfer == again
    # The server ran the first try; the retry carried the same key and got its answer.
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1]
    assert TransferRow.objects.filter(sender=alice).count() == 1
    assert available(alice) == 3_750 and available(bob) == 1_250
    assert transfer.sender == alice.handle and transfer.recipient == bob.handle
    assert transfer.amount == Money(1_250, "USD") and transfer.fee == Money(0, "USD")
    assert transfer.created_at.utcoffset().total_seconds() == 0


def test_an_error_answer_is_an_exception_with_its_stable_code_and_nothing_moves(live_server):
    alice, bob = make_user("alice"), make_user("bob")
    fund(alice, 100)
    with _client(live_server, alice) as sp, pytest.raises(SocialPayError) as refused:
        sp.transfers.create(to=bob.handle, amount=5_000, currency="USD")
    assert refused.value.code == "insufficient_funds" and refused.value.status == 422
    assert refused.value.request_id
    assert available(alice) == 100


def test_money_requests_asked_listed_and_paid(live_server):
    alice, bob = make_user("alice"), make_user("bob")
    fund(bob, 5_000)
    with _client(live_server, alice) as sp_alice, _client(live_server, bob) as sp_bob:
        asked = [
            sp_alice.requests.create(payer=bob.handle, amount=100 * i, currency="USD")
            for i in (1, 2, 3)
        ]
        inbox = list(sp_bob.requests.list(limit=2))
        assert [r.id for r in inbox] == [r.id for r in reversed(asked)]
        assert [r.amount for r in inbox] == [Money(a, "USD") for a in (300, 200, 100)]
        paid = sp_bob.requests.pay(asked[0].id)
        assert paid.status == "paid" and paid.transfer is not None
        sent = {r.id: r.status for r in sp_alice.requests.list(box="sent")}
        declined = sp_bob.requests.decline(asked[1].id)
    assert sent == {asked[0].id: "paid", asked[1].id: "open", asked[2].id: "open"}
    assert declined.status == "declined"
    assert available(alice) == 100 and available(bob) == 4_900


def test_tips_to_a_post_and_a_creator_and_the_public_list(live_server):
    fan, creator = make_user("fan"), make_user("creator")
    fund(fan, 5_000)
    post = make_post(creator)
    with _client(live_server, fan) as sp:
        tips = [
            sp.tips.to_post(
                post.pk,
                amount=500,
                currency="USD",
                note=f"#{i}",
                visibility="public" if i else "private",
                show_amount=i == 1,
            )
            for i in range(4)
        ]
        jar = sp.tips.to_user(creator.handle, amount=200, currency="USD")
        public = list(sp.tips.on_post(post.pk, limit=2))
    assert [t.status for t in tips] == ["completed"] * 4 and jar.post is None
    assert tips[0].net.amount == tips[0].amount.amount - tips[0].fee.amount
    # Newest first across pages of two; the private tip is not listed, and only the tip that
    # said so shows its amount.
    assert [t.note for t in public] == ["#3", "#2", "#1"]
    assert [t.amount.amount if t.amount else None for t in public] == [None, None, 500]
    assert all(t.tipper == fan.handle for t in public)
    assert available(fan) == 5_000 - 2_200


class _Recording(httpx.HTTPTransport):
    def __init__(self, seen: list[httpx.Request]) -> None:
        super().__init__()
        self.seen = seen

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return super().handle_request(request)


class _LoseFirstAnswer(httpx.HTTPTransport):
    """Sends every request; the first answer to a POST on ``path`` never arrives (the
    server did the work, the client sees a timeout), as on a dropped connection."""

    def __init__(self, *, path: str) -> None:
        super().__init__()
        self.path = path
        self.keys: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path == self.path:
            self.keys.append(request.headers["Idempotency-Key"])
            if len(self.keys) == 1:
                response.read()
                response.close()
                raise httpx.ReadTimeout("the answer was lost", request=request)
        return response
