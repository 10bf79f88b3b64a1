"""Closing an account that has moved money: the worked example (the ledger keeps every row,
balances stay, the other side sees "a closed account") and every case of held money,
refused with a stable code and nothing written."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from accounts.closing import AccountHoldsMoney, account_close, account_close_blockers
from accounts.models import AccountAuditEvent, ApiToken, Follow, User
from accounts.services import follow_create, token_create
from core.money import Money
from ledger.models import Entry, HoldLeg, Posting
from ledger.selectors import balances_of_owner, ledger_verify
from payments.creators import services as creators
from payments.creators.tests.factories import make_post
from payments.disputes.models import Dispute
from payments.links.services import link_create
from payments.payouts import services as payouts
from payments.payouts.tests.support import payee
from payments.wallets import topups
from payments.wallets.models import MoneyRequest, Transfer
from payments.wallets.requests import request_create
from payments.wallets.selectors import wallet_statement
from payments.wallets.tests.support import PASSWORD, fund, person
from payments.wallets.transfers import transfer_create
from posts.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_destination_hold(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0


def _key() -> str:
    return uuid.uuid4().hex


def _ledger_rows() -> tuple[int, int, list]:
    return (
        Entry.objects.count(),
        Posting.objects.count(),
        list(Posting.objects.order_by("pk").values_list("pk", "account_id", "direction", "amount")),
    )


def _balances(user) -> dict[str, int]:
    return {b.account: b.posted.amount for b in balances_of_owner(owner_id=user.pk)}


def test_worked_example_closing_keeps_the_ledger_and_pseudonymises_the_person():
    """Ada tops up 100.00 USD, pays Bob 60.00 and 40.00 (her wallet is then empty), follows
    him, posts, has a token and a second factor, and closes her account."""
    ada, bob = person("ada_closes"), person("bob_stays")
    fund(ada, 10000)
    first = transfer_create(sender=ada, to=bob, money=Money(6000, "USD"), client_key=_key())
    transfer_create(sender=ada, to=bob, money=Money(4000, "USD"), client_key=_key())
    request_create(requester=ada, payer=bob.handle, money=Money(500, "USD"), client_key=_key())
    follow_create(follower=ada, followee=bob)
    follow_create(follower=bob, followee=ada)
    post = make_post(ada, "my last words")
    link = link_create(owner=ada, kind="fixed", currency="USD", amount=Money(500, "USD"))
    token, _secret = token_create(user=ada)
    TOTP.activate(ada, generate_totp_secret())
    assert account_close_blockers(user=ada) == []

    before = _ledger_rows()
    bob_before = _balances(bob)
    ada_before = _balances(ada)
    assert ada_before == {f"wallet:user:{ada.pk}:USD": 0}
    assert bob_before == {f"wallet:user:{bob.pk}:USD": 10000}

    closed = account_close(user=ada, confirm_handle="@ada_closes")

    # The ledger: not one row added, changed or deleted; it still verifies.
    assert _ledger_rows() == before
    assert _balances(bob) == bob_before and _balances(ada) == ada_before
    assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []
    # The person, pseudonymised.
    ada = User.objects.get(pk=ada.pk)
    assert ada.handle.startswith("closed-") and ada.handle != "ada_closes"
    assert (ada.email, ada.display_name, ada.bio, ada.link, ada.avatar.name) == ("", "", "", "", "")
    assert not ada.is_active and ada.closed_at is not None and not ada.has_usable_password()
    assert ada.session_epoch == 1
    assert ada.name == "a closed account"
    assert closed.pk == ada.pk
    for login in ("ada_closes", ada.handle):
        client = Client()
        client.post("/accounts/login/", {"login": login, "password": PASSWORD})
        assert "_auth_user_id" not in client.session
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert not Authenticator.objects.filter(user=ada).exists()
    assert not EmailAddress.objects.filter(user=ada).exists()
    assert not Follow.objects.filter(follower=ada).exists()
    assert not Follow.objects.filter(followee=ada).exists()
    post.refresh_from_db()
    assert post.deleted_at is not None and post.text == ""
    assert MoneyRequest.objects.get(requester=ada).status == "cancelled"
    link.refresh_from_db()
    assert not link.active  # nobody pays into a closed account
    # Bob still sees his payments, from "a closed account".
    assert Transfer.objects.filter(recipient=bob).count() == 2
    lines = wallet_statement(user=bob, currency="USD").lines
    assert {line.counterparty for line in lines} == {ada.handle}
    assert {line.description for line in lines} == {"From a closed account"}
    assert first.entry_id in {line.entry_id for line in lines}
    # Staff see it in the audit trail.
    assert AccountAuditEvent.objects.filter(user=ada, action="account_closed").exists()


def _assert_refused(user, code: str) -> None:
    before = _ledger_rows()
    audit = AccountAuditEvent.objects.count()
    posts = Post.objects.filter(author=user, deleted_at__isnull=True).count()
    with pytest.raises(AccountHoldsMoney) as refused:
        account_close(user=user, confirm_handle=user.handle)
    assert refused.value.code == "account_holds_money"
    codes = [b["code"] for b in refused.value.details["blockers"]]
    assert code in codes, codes
    # Nothing written.
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.handle, fresh.email, fresh.is_active, fresh.closed_at) == (
        user.handle,
        user.email,
        True,
        None,
    )
    assert AccountAuditEvent.objects.count() == audit
    assert Post.objects.filter(author=user, deleted_at__isnull=True).count() == posts
    assert _ledger_rows() == before


def test_a_remaining_balance_must_be_paid_out_first():
    ada = person()
    make_post(ada)
    fund(ada, 1234)
    _assert_refused(ada, "balance_remaining")
    (blocker,) = account_close_blockers(user=ada)
    assert blocker.url == "/payouts/"


def test_a_pending_payout_holds_money():
    ada = payee(5000)
    payouts.payout_request(
        user=ada, amount=Money(5000, "USD"), method="standard", request_key=_key()
    )
    assert HoldLeg.objects.filter(hold__status="pending").exists()
    _assert_refused(ada, "payout_pending")
    _assert_refused(ada, "pending_holds")


def test_a_top_up_in_flight_holds_money():
    ada = person()
    topups.topup_create(
        user=ada, money=Money(2000, "USD"), payment_method="pm_card_visa", client_key=_key()
    )
    _assert_refused(ada, "topup_in_flight")


@pytest.mark.parametrize("side", ["buyer", "seller"])
def test_an_open_order_in_escrow_holds_money(side):
    buyer, seller = person(), person()
    fund(buyer, 5000)
    product = creators.product_create(
        seller=seller,
        post_id=make_post(seller).pk,
        title="Mug",
        description="A mug",
        price=Money(2000, "USD"),
        stock=5,
        kind="physical",
    )
    creators.order_create(
        buyer=buyer,
        product_id=product.pk,
        quantity=1,
        shipping_address="1 Main St",
        request_key=_key(),
    )
    _assert_refused(buyer if side == "buyer" else seller, "orders_open")


def test_an_open_dispute_holds_money():
    ada = person()
    # Disputes arrive only by the processor's webhook; this is the row dispute_record writes.
    Dispute.objects.create(
        processor="sandbox",
        processor_dispute_id=f"dp_{_key()}",
        payment_id=f"pi_{_key()}",
        user=ada,
        amount=1000,
        currency="USD",
        status="needs_response",
    )
    _assert_refused(ada, "dispute_open")
    Dispute.objects.filter(user=ada).update(status="won")
    assert account_close_blockers(user=ada) == []


def test_closing_twice_and_a_wrong_confirmation_are_refused():
    from accounts.closing import AccountAlreadyClosed, ClosingConfirmationMismatch

    ada = person()
    with pytest.raises(ClosingConfirmationMismatch):
        account_close(user=ada, confirm_handle="someone_else")
    assert User.objects.get(pk=ada.pk).closed_at is None
    account_close(user=ada, confirm_handle=ada.handle.upper())
    with pytest.raises(AccountAlreadyClosed):
        # A second request that raced the first (the object still has the old handle).
        account_close(user=ada, confirm_handle=ada.handle)


def test_a_guest_card_payment_on_its_way_holds_money():
    from payments.creators.services import guests

    ada = person()
    guests.guest_checkout_start(
        kind="tip",
        creator=ada,
        amount=Money(500, "USD"),
        email="visitor@example.com",
        payment_method="pm_card_authenticationRequired",
        client_key=_key(),
        ip="203.0.113.9",
    )
    _assert_refused(ada, "creator_payment_pending")


def test_the_export_carries_guest_payments_to_the_creator_and_the_claimed_ones():
    from payments.creators import privacy
    from payments.creators.models import GuestPayment
    from payments.creators.services import guests

    creator, visitor = person(), person()
    guest = guests.guest_checkout_start(
        kind="tip",
        creator=creator,
        amount=Money(700, "USD"),
        email="visitor@example.com",
        payment_method="pm_card_visa",
        client_key=_key(),
        ip="203.0.113.9",
        message="thanks!",
    )
    GuestPayment.objects.filter(pk=guest.pk).update(claimed_by=visitor)

    def rows(user):
        files = {f.name: f for f in privacy.export_files(user=user)}
        return files["payments/guest_payments"].rows

    (mine,) = rows(visitor)
    assert (mine["id"], mine["amount"], mine["currency"], mine["email"]) == (
        guest.pk,
        700,
        "USD",
        "visitor@example.com",
    )
    (theirs,) = rows(creator)
    assert (theirs["id"], theirs["creator"], theirs["message"]) == (
        guest.pk,
        creator.handle,
        "thanks!",
    )
    # The visitor's address stays the visitor's: not in the creator's copy.
    assert theirs["email"] == "" and theirs["shipping_address"] == ""
    assert rows(person()) == []
