"""The rules every money flow shares, from their one home: the payer check (fresh from the
database, share-locked, the same for every outgoing payment), the text cleaner, the
visibility parser, the errors (one class per code) and the receipts builder."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from accounts.models import Notification, User
from accounts.reauth import ReauthenticationRequired
from accounts.services import TextInvalid
from core.exceptions import DomainError, InvalidChoice
from core.money import Money
from core.text import text_clean
from payments.creators import services as creators
from payments.creators.models import Tip
from payments.creators.tests.factories import connect_with_retry
from payments.wallets import errors
from payments.wallets.models import MoneyRequest, Receipt, Transfer
from payments.wallets.payer import payer_check
from payments.wallets.receipts import receipts_outbox_drain
from payments.wallets.requests import request_create, request_pay
from payments.wallets.tests.support import api, fund, generous_throttles, key, person
from payments.wallets.text import note_clean, visibility_parse
from payments.wallets.transfers import transfer_create

pytestmark = pytest.mark.django_db


def freeze(user) -> None:
    """Staff freeze the account; the caller keeps its stale (unfrozen) object."""
    User.objects.filter(pk=user.pk).update(is_frozen=True)


# --- the payer check ------------------------------------------------------------------------
def test_a_staff_freeze_stops_a_transfer_made_with_a_stale_user_object():
    alice, bob = person(), person()
    fund(alice, 1000)
    freeze(alice)
    assert alice.is_frozen is False  # what a long-lived request or task still holds
    with pytest.raises(errors.AccountFrozen):
        transfer_create(sender=alice, to=bob, money=Money(100, "USD"), client_key=key())
    assert not Transfer.objects.exists()


def test_a_staff_freeze_stops_paying_a_request_with_a_stale_user_object():
    alice, bob = person(), person()
    fund(bob, 1000)
    req = request_create(requester=alice, payer=bob, money=Money(100, "USD"), client_key=key())
    freeze(bob)
    with pytest.raises(errors.AccountFrozen):
        request_pay(user=bob, request_id=req.pk)
    assert MoneyRequest.objects.get(pk=req.pk).status == "open"
    assert not Transfer.objects.exists()


def test_a_staff_freeze_stops_a_payout_made_with_a_stale_user_object():
    from payments.payouts import services as payouts
    from payments.payouts.tests.support import payee

    creator = payee(5000)
    freeze(creator)
    with pytest.raises(errors.AccountFrozen):
        payouts.payout_request(
            user=creator, amount=Money(1000, "USD"), method="standard", request_key=key()
        )


def test_the_per_payment_limit_follows_the_tier_in_the_database():
    """Verified by staff a moment ago: the larger per-payment limit applies at once, whatever
    the request's user object says (unverified: 250.00, verified: 5,000.00)."""
    alice, bob = person(), person()
    fund(alice, 100_000)
    User.objects.filter(pk=alice.pk).update(verification_tier="verified")
    assert alice.verification_tier == "unverified"
    transfer = transfer_create(sender=alice, to=bob, money=Money(30_000, "USD"), client_key=key())
    assert transfer.status == "completed"
    User.objects.filter(pk=alice.pk).update(verification_tier="unverified")
    alice.verification_tier = "verified"  # now stale the other way
    with pytest.raises(errors.LimitExceeded):
        transfer_create(sender=alice, to=bob, money=Money(30_000, "USD"), client_key=key())


@pytest.mark.django_db(transaction=True)
def test_a_freeze_waits_for_a_payment_in_flight():
    """The payer's row is share-locked by the payment's transaction: a staff freeze (an
    UPDATE of that row) cannot commit in between; it waits until the payment is done."""
    alice = person()
    with pytest.raises(AssertionError):  # outside a transaction the lock would not last
        payer_check(payer_id=alice.pk, money=None, reauthenticated=None)
    in_payment, freeze_tried = threading.Event(), threading.Event()
    outcome: list[str] = []

    def staff():
        try:
            connect_with_retry()
            in_payment.wait(10)
            with connection.cursor() as cur, transaction.atomic():
                cur.execute("SET LOCAL lock_timeout = '300ms'")
                cur.execute("UPDATE accounts_user SET is_frozen = true WHERE id = %s", [alice.pk])
            outcome.append("frozen")
        except OperationalError:
            outcome.append("waited")
        finally:
            freeze_tried.set()
            connection.close()

    thread = threading.Thread(target=staff)
    thread.start()
    with transaction.atomic():
        payer_check(payer_id=alice.pk, money=Money(100, "USD"), reauthenticated=True)
        in_payment.set()
        freeze_tried.wait(10)
    thread.join()
    assert outcome == ["waited"]
    # Once the payment committed, the freeze goes through and the next payment sees it.
    freeze(alice)
    with pytest.raises(errors.AccountFrozen), transaction.atomic():
        payer_check(payer_id=alice.pk, money=Money(100, "USD"), reauthenticated=True)


def _week_used(user) -> int | None:
    with connection.cursor() as cur:
        cur.execute("SELECT week_used FROM payments_sendlimit WHERE user_id = %s", [user.pk])
        row = cur.fetchone()
    return row[0] if row else None


def test_the_reservation_is_made_in_the_payer_rows_statement_and_undone_by_a_refusal(settings):
    """``reserve=True`` reads the payer's row and reserves the limits in one statement. The
    first payment ever creates the limits row; later ones add to it; a frozen payer
    reserves nothing at all; a refusal judged on the row after the reservation (the step-up
    here) raises, and the payment's transaction takes the reservation back with it."""
    settings.WALLET_REAUTH_ABOVE = 500
    alice = person()
    assert _week_used(alice) is None
    with transaction.atomic():
        payer = payer_check(
            payer_id=alice.pk, money=Money(100, "USD"), reauthenticated=False, reserve=True
        )
    assert payer.counted == 100 and _week_used(alice) == 100
    with transaction.atomic():
        payer_check(payer_id=alice.pk, money=Money(200, "USD"), reauthenticated=False, reserve=True)
    assert _week_used(alice) == 300

    with pytest.raises(ReauthenticationRequired), transaction.atomic():
        payer_check(payer_id=alice.pk, money=Money(600, "USD"), reauthenticated=False, reserve=True)
    assert _week_used(alice) == 300

    freeze(alice)
    with pytest.raises(errors.AccountFrozen), transaction.atomic():
        try:
            payer_check(
                payer_id=alice.pk, money=Money(100, "USD"), reauthenticated=True, reserve=True
            )
        finally:
            # Read inside the refused payment's own transaction: nothing was reserved.
            assert _week_used(alice) == 300
    assert _week_used(alice) == 300


# --- text -----------------------------------------------------------------------------------
def test_one_text_rule_for_notes_messages_and_posts():
    # NFC: an "é" typed as "e" + combining accent is stored as one character, everywhere.
    assert note_clean("caf\u0065\u0301") == "caf\u00e9"
    assert text_clean(value=" caf\u0065\u0301 ", max_length=4, field="bio") == "caf\u00e9"
    # C1 control characters are refused like C0 ones, in notes and in every other text.
    for bad in ("a\x00b", "a\x1bb", "a\x85b", "a\x9bb"):
        with pytest.raises(errors.InvalidNote):
            note_clean(bad)
        with pytest.raises(TextInvalid):
            text_clean(value=bad, max_length=100, field="text")
    # A note is one line; a tip's message may have several.
    with pytest.raises(errors.InvalidNote) as refused:
        note_clean("two\nlines")
    assert refused.value.details == {"reason": "control_character"}
    assert text_clean(value="two\r\nlines", max_length=100, field="note") == "two\nlines"
    with pytest.raises(errors.InvalidNote) as refused:
        note_clean(5)
    assert refused.value.details == {"reason": "not_a_string"}


def test_a_tip_message_is_cleaned_by_the_same_rule():
    fan, creator = person(), person()
    fund(fan, 1000)
    tip = creators.tip_send(
        tipper=fan,
        creator=creator,
        amount=Money(100, "USD"),
        request_key=key(),
        message="  merci beaucoup, caf\u0065\u0301  ",
    )
    assert tip.message == "merci beaucoup, caf\u00e9"
    with pytest.raises(TextInvalid):
        creators.tip_send(
            tipper=fan,
            creator=creator,
            amount=Money(100, "USD"),
            request_key=key(),
            message="bell\x07",
        )


# --- visibility -----------------------------------------------------------------------------
def test_the_visibility_parser_refuses_what_is_not_a_choice():
    choices = ["private", "followers", "public"]
    assert visibility_parse(None, choices=choices, default="followers") == "followers"
    assert visibility_parse("", choices=choices, default="private") == "private"
    assert visibility_parse("public", choices=choices, default="private") == "public"
    for bad in ("everyone", "PUBLIC", 1, ["public"]):
        with pytest.raises(InvalidChoice) as refused:
            visibility_parse(bad, choices=choices, default="private")
        assert refused.value.details["field"] == "visibility"


def test_a_transfer_with_a_bad_visibility_is_refused_not_made_private(monkeypatch):
    generous_throttles(monkeypatch)
    alice, bob = person(), person()
    fund(alice, 1000)
    with pytest.raises(InvalidChoice):
        transfer_create(
            sender=alice, to=bob, money=Money(100, "USD"), client_key=key(), visibility="all"
        )
    res = api(alice).post(
        "/api/v1/transfers",
        {"to": bob.handle, "amount": 100, "currency": "USD", "visibility": "all"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert (res.status_code, res.json()["error"]["code"]) == (400, "invalid_choice")
    from django.test import Client

    page = Client()
    page.force_login(alice)
    form = {"to": bob.handle, "amount": "1.00", "currency": "USD", "visibility": "all"}
    review = page.post("/wallet/send", form)
    assert review.status_code == 400  # the form again with the error, not a 404
    confirm = page.post("/wallet/send/confirm", {"idempotency_key": key(), **form})
    assert confirm.status_code == 400
    assert not Transfer.objects.exists()
    assert transfer_create(
        sender=alice, to=bob, money=Money(100, "USD"), client_key=key(), visibility=None
    ).visibility == (alice.payment_visibility_default)


# --- errors ---------------------------------------------------------------------------------
def test_each_error_class_exists_once_and_other_areas_reexport_it():
    from payments.creators import errors as creator_errors
    from payments.payouts import errors as payout_errors
    from posts import services as posts

    assert creator_errors.AccountFrozen is errors.AccountFrozen is payout_errors.AccountFrozen
    assert creator_errors.CardDeclined is errors.CardDeclined
    assert creator_errors.ProcessorUnavailable is errors.ProcessorUnavailable
    assert payout_errors.ProcessorUnavailable is errors.ProcessorUnavailable
    assert payout_errors.VerificationRequired is errors.VerificationRequired
    assert creator_errors.PostNotFound is posts.PostNotFound
    assert creator_errors.NotYourPost is posts.NotYourPost
    assert creator_errors.InvalidChoice is InvalidChoice


def test_no_two_error_classes_of_payments_and_posts_share_a_code():
    """``not_found`` is the one code shared on purpose: every missing thing answers it,
    each with its own message."""
    import importlib
    import pkgutil

    import payments
    import posts

    for package in (payments, posts):
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            if ".tests" not in info.name and ".migrations" not in info.name:
                importlib.import_module(info.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    by_code: dict[str, list[str]] = {}
    for cls in set(subclasses(DomainError)):
        if not cls.__module__.startswith(("payments.", "posts.")) or ".tests" in cls.__module__:
            continue
        if "code" in cls.__dict__ and cls.code != "not_found":
            by_code.setdefault(cls.code, []).append(f"{cls.__module__}.{cls.__qualname__}")
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}


# --- receipts -------------------------------------------------------------------------------
def test_both_sides_of_a_creator_payment_get_a_receipt_in_their_own_language():
    fan, creator = person(language="de"), person(language="en")
    fund(fan, 1000, "EUR")
    receipts_outbox_drain()  # the top-up's own receipt
    tip = creators.tip_send(
        tipper=fan, creator=creator, amount=Money(500, "EUR"), request_key=key(), message="danke"
    )
    assert receipts_outbox_drain() == 1  # one outbox row: the event, both sides
    assert receipts_outbox_drain() == 0
    assert set(Receipt.objects.values_list("key", flat=True)) >= {
        f"tip:{tip.pk}:creator",
        f"tip:{tip.pk}:tipper",
    }
    received = Notification.objects.get(recipient=creator, kind="tip_received")
    sent = Notification.objects.get(recipient=fan, kind="tip_sent")
    assert received.actor_id == fan.pk and sent.actor_id == creator.pk
    assert received.data["text"] == "tipped you €5.00"
    assert sent.data["text"].replace("\xa0", " ") == "— du hast 5,00 € Trinkgeld gegeben."
    assert Tip.objects.get(pk=tip.pk).status == "completed"
