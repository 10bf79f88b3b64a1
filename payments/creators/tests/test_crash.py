"""Crash tests: every processor-free creator flow is one transaction, so a failure at any
point inside it — right after the limit reservation, right after the ledger wrote the
entry, at the outbox write of the receipts — leaves nothing half done: no row, no entry,
no receipt, no reservation, the stock and the balances as they were. The same payment
then goes through once the fault is gone.

Every flow is crashed at every point it passes through inside the test's transaction (the
flow's own block is then a savepoint: work committed by an inner transaction of its own
would survive and be seen), and a selection again with real commits, as in production.
What is stored is compared before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from core.money import Money
from ledger import services as ledger_services
from ledger.models import Account, BalanceDelta, Entry, Hold, Posting
from payments.creators import services
from payments.creators.models import (
    Membership,
    MembershipCharge,
    Order,
    OrderRefund,
    Product,
    Tip,
    Unlock,
)
from payments.creators.tests.factories import (
    assert_ledger_ok,
    fund,
    key,
    make_post,
    make_user,
)
from payments.wallets import payer, receipts
from payments.wallets.models import MoneyRequest, Receipt, ReceiptOutbox, SendLimit, Transfer


class Crash(Exception):
    """The process dies here (a bug, a killed worker, a lost connection)."""


@pytest.fixture(autouse=True)
def _no_background_work(monkeypatch):
    """Committed work must not wake a worker another test module may have started: it would
    deliver receipts (or sandbox webhooks) while this test compares what is stored."""
    from payments.processors.sandbox import engine

    monkeypatch.setattr(receipts, "_wake_worker", lambda: None)
    monkeypatch.setattr(engine, "schedule_delivery", lambda *args, **kwargs: None)


def crash_after(monkeypatch, module, name: str) -> None:
    """Run ``module.name`` for real, then crash: its writes are in the transaction."""
    original = getattr(module, name)

    def crashing(*args, **kwargs):
        original(*args, **kwargs)
        raise Crash(f"after {name}")

    monkeypatch.setattr(module, name, crashing)


#: Where a flow can die: right after reserving the payer's limits, right after the ledger
#: inserted the entry and its postings (before it locks and debits the wallet), and when
#: the receipts are written to the outbox (the last write before the commit).
POINTS = {
    "limits": (payer, "limits_reserve"),
    "ledger": (ledger_services, "_insert_entry"),
    "outbox": (receipts, "receipts_send"),
}


def stored() -> dict:
    """Everything a money flow may write, as committed."""
    models = [
        Tip,
        Unlock,
        Order,
        OrderRefund,
        Membership,
        MembershipCharge,
        Transfer,
        MoneyRequest,
        SendLimit,
        Product,
        Receipt,
        ReceiptOutbox,
        Entry,
        Posting,
        Hold,
        BalanceDelta,
    ]
    state = {m.__name__: list(m.objects.order_by("pk").values()) for m in models}
    state["Account"] = list(Account.objects.order_by("pk").values("key", "balance", "pending_out"))
    return state


# --- the flows: each returns the call that pays, everything before it already committed -----
def tip_on_a_post() -> Callable:
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    post = make_post(creator)
    return lambda: services.tip_send(
        tipper=fan, post_id=post.pk, amount=Money(500, "USD"), request_key=key(), message="hi"
    )


def tip_jar() -> Callable:
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    return lambda: services.tip_send(
        tipper=fan, creator=creator, amount=Money(500, "USD"), request_key=key()
    )


def unlock() -> Callable:
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    post = services.post_set_paid_content(
        author=creator, post=make_post(creator), locked_text="s", price=Money(300, "USD")
    )
    return lambda: services.unlock_purchase(buyer=fan, post_id=post.pk)


def _product(seller, kind="physical"):
    return services.product_create(
        seller=seller,
        post_id=make_post(seller).pk,
        title="Mug",
        description="",
        price=Money(2000, "USD"),
        stock=3,
        kind=kind,
        delivery_url="https://example.com/f.zip" if kind == "digital" else "",
    )


def _paid_order():
    buyer, seller = make_user(), make_user()
    fund(buyer, 5000)
    order = services.order_create(
        buyer=buyer,
        product_id=_product(seller).pk,
        quantity=2,
        shipping_address="1 Main St",
        request_key=key(),
    )
    return buyer, seller, order


def order() -> Callable:
    buyer, seller = make_user(), make_user()
    fund(buyer, 5000)
    product = _product(seller)
    return lambda: services.order_create(
        buyer=buyer,
        product_id=product.pk,
        quantity=2,
        shipping_address="1 Main St",
        request_key=key(),
    )


def order_ship() -> Callable:
    _, seller, paid = _paid_order()
    return lambda: services.order_ship(seller=seller, order_id=paid.pk)


def order_confirm() -> Callable:
    buyer, _, paid = _paid_order()
    return lambda: services.order_confirm(buyer=buyer, order_id=paid.pk)


def order_full_refund() -> Callable:
    _, seller, paid = _paid_order()
    return lambda: services.order_refund(seller=seller, order_id=paid.pk, reason="sorry")


def order_partial_refund() -> Callable:
    _, seller, paid = _paid_order()
    return lambda: services.order_refund(seller=seller, order_id=paid.pk, amount=Money(500, "USD"))


def _tier(creator):
    return services.tier_create(creator=creator, name="Gold", price=Money(1000, "USD"))


def membership_join() -> Callable:
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    tier = _tier(creator)
    return lambda: services.membership_subscribe(member=fan, tier_id=tier.pk)


def membership_renewal() -> Callable:
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    membership = services.membership_subscribe(member=fan, tier_id=_tier(creator).pk)
    due = membership.current_period_end + timedelta(minutes=1)
    return lambda: services.membership_renew(membership_id=membership.pk, now=due)


def membership_past_due() -> Callable:
    """A renewal the wallet cannot pay: the membership goes past due (no money, a receipt)."""
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    membership = services.membership_subscribe(member=fan, tier_id=_tier(creator).pk)
    due = membership.current_period_end + timedelta(minutes=1)
    return lambda: services.membership_renew(membership_id=membership.pk, now=due)


def card_tip_confirmed() -> Callable:
    """The webhook's half of a card tip: one transaction like the others."""
    fan, creator = make_user(), make_user()
    tip = services.tip_send_card(
        tipper=fan,
        creator=creator,
        amount=Money(500, "USD"),
        payment_method="pm_card_visa",
        request_key=key(),
    )
    return lambda: services.tip_settle_card(
        tip_id=tip.pk,
        processor="sandbox",
        payment_id=tip.processor_payment_id,
        amount=500,
        currency="USD",
    )


def transfer() -> Callable:
    from payments.wallets.transfers import transfer_create

    alice, bob = make_user(), make_user()
    fund(alice, 5000)
    return lambda: transfer_create(
        sender=alice, to=bob, money=Money(700, "USD"), client_key=key(), note="pizza"
    )


def request_payment() -> Callable:
    from payments.wallets.requests import request_create, request_pay

    alice, bob = make_user(), make_user()
    fund(bob, 5000)
    req = request_create(requester=alice, payer=bob, money=Money(700, "USD"), client_key=key())
    return lambda: request_pay(user=bob, request_id=req.pk)


# (flow, the points it passes through)
FLOWS = {
    "tip_on_a_post": (tip_on_a_post, ("limits", "ledger", "outbox")),
    "tip_jar": (tip_jar, ("limits", "ledger", "outbox")),
    "unlock": (unlock, ("limits", "ledger", "outbox")),
    "order": (order, ("limits", "ledger", "outbox")),
    "order_ship": (order_ship, ("outbox",)),
    "order_confirm": (order_confirm, ("ledger", "outbox")),
    "order_full_refund": (order_full_refund, ("ledger", "outbox")),
    "order_partial_refund": (order_partial_refund, ("ledger", "outbox")),
    "membership_join": (membership_join, ("limits", "ledger", "outbox")),
    "membership_renewal": (membership_renewal, ("ledger", "outbox")),
    "membership_past_due": (membership_past_due, ("ledger", "outbox")),
    "card_tip_confirmed": (card_tip_confirmed, ("ledger", "outbox")),
    "transfer": (transfer, ("ledger", "outbox")),
    "request_payment": (request_payment, ("ledger", "outbox")),
}
CASES = [(flow, point) for flow, (_, points) in FLOWS.items() for point in points]


def _crash_then_pay(monkeypatch, flow: str, point: str) -> None:
    pay = FLOWS[flow][0]()
    before = stored()
    with monkeypatch.context() as patch:
        crash_after(patch, *POINTS[point])
        with pytest.raises(Crash):
            pay()
    assert stored() == before
    assert_ledger_ok()
    # Nothing was left to finish or undo: the same payment simply goes through now.
    pay()
    assert stored() != before
    assert_ledger_ok()


@pytest.mark.django_db
@pytest.mark.parametrize(("flow", "point"), CASES, ids=[f"{f}-{p}" for f, p in CASES])
def test_a_crash_anywhere_leaves_nothing_half_done(monkeypatch, flow, point):
    """Every flow at every point. The test's own transaction wraps the flow's, so the
    flow's block is a savepoint here: a flow that committed part of its work in a
    transaction of its own (as the three-step flows did) would keep that part and fail."""
    _crash_then_pay(monkeypatch, flow, point)


#: With real commits (nothing around the flow's transaction): the last write before the
#: commit for each kind of flow, and the ledger's write for the payments.
COMMITTED_CASES = [
    ("tip_on_a_post", "outbox"),
    ("unlock", "ledger"),
    ("order", "ledger"),
    ("order_full_refund", "outbox"),
    ("membership_join", "limits"),
    ("membership_renewal", "outbox"),
    ("card_tip_confirmed", "ledger"),
    ("request_payment", "outbox"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("flow", "point"), COMMITTED_CASES, ids=[f"{f}-{p}" for f, p in COMMITTED_CASES]
)
def test_a_crash_before_the_commit_leaves_nothing_committed(monkeypatch, flow, point):
    _crash_then_pay(monkeypatch, flow, point)


def test_every_processor_free_flow_passes_every_crash_point_it_can():
    """The table above is honest: a flow that books money passes through the ledger, and
    every flow writes receipts (or there would be nothing to crash at)."""
    for name, (_, points) in FLOWS.items():
        assert "outbox" in points, name
        if name not in {"order_ship", "membership_past_due"}:
            assert "ledger" in points, name
