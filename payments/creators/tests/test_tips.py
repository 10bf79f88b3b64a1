"""Tips: worked example, self / blocked / bad input refusals, privacy of amounts, API."""

from __future__ import annotations

import pytest

from accounts.models import Notification
from accounts.services import block_create
from core.money import Money
from ledger.errors import InsufficientFunds
from payments.creators import errors, services
from payments.creators.models import Tip
from payments.creators.tests.factories import (
    FEES,
    api_for,
    assert_ledger_ok,
    at_once,
    available,
    fund,
    key,
    make_post,
    make_user,
    postings_of,
    wallet,
)
from payments.wallets.errors import LimitExceeded
from payments.wallets.receipts import receipts_outbox_drain

pytestmark = pytest.mark.django_db


def test_tip_worked_example_500_450_50():
    fan, creator = make_user("fan"), make_user("creator")
    fund(fan, 1000)
    post = make_post(creator)
    tip = services.tip_send(
        tipper=fan, post_id=post.pk, amount=Money(500, "USD"), request_key=key(), message="great"
    )
    assert tip.status == "completed" and (tip.amount, tip.fee) == (500, 50)
    assert postings_of(tip.entry) == [
        (wallet(fan), "D", 500, "USD"),
        (wallet(creator), "C", 450, "USD"),
        (FEES, "C", 50, "USD"),
    ]
    assert available(fan) == 500 and available(creator) == 450
    receipts_outbox_drain()  # the receipts were written to the outbox with the tip
    note = Notification.objects.get(recipient=creator, kind="tip_received")
    assert note.data["amount"] == 500 and note.target_id == post.pk
    assert_ledger_ok()


def test_tip_jar_on_a_profile():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    tip = services.tip_send(
        tipper=fan, creator=creator, amount=Money(200, "USD"), request_key=key()
    )
    assert tip.post_id is None and available(creator) == 180


def test_same_request_key_pays_once():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = make_post(creator)
    k = key()
    first = services.tip_send(tipper=fan, post_id=post.pk, amount=Money(300, "USD"), request_key=k)
    again = services.tip_send(tipper=fan, post_id=post.pk, amount=Money(300, "USD"), request_key=k)
    assert first.pk == again.pk and available(fan) == 700


def test_a_retry_after_the_weekly_limit_is_used_up_returns_the_first_tip(settings):
    # The tip that used up the limit was made; its retry must say so, not "limit exceeded".
    settings.WALLET_LIMITS = {
        tier: {"weekly_send": 300, "per_transfer": 300} for tier in ("unverified", "verified")
    }
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    k = key()
    first = services.tip_send(tipper=fan, creator=creator, amount=Money(300, "USD"), request_key=k)
    again = services.tip_send(tipper=fan, creator=creator, amount=Money(300, "USD"), request_key=k)
    assert first.pk == again.pk and again.status == "completed" and available(fan) == 700
    with pytest.raises(LimitExceeded):
        services.tip_send(tipper=fan, creator=creator, amount=Money(1, "USD"), request_key=key())


def test_a_tip_jar_by_handle_is_resolved_with_its_block_check():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    tip = services.tip_send(
        tipper=fan, creator_handle=f"@{creator.handle.upper()}", amount=Money(100, "USD"),
        request_key=key(),
    )  # fmt: skip
    assert tip.creator_id == creator.pk and available(creator) == 90
    with pytest.raises(errors.CannotPaySelf):
        services.tip_send(
            tipper=fan, creator_handle=fan.handle, amount=Money(1, "USD"), request_key=key()
        )
    block_create(blocker=fan, blocked=creator)
    for handle in (creator.handle, "nobody-here", "x" * 65, "a\x00b"):
        with pytest.raises(errors.CreatorNotFound):
            services.tip_send(
                tipper=fan, creator_handle=handle, amount=Money(1, "USD"), request_key=key()
            )
    assert Tip.objects.count() == 1


def test_a_wallet_tip_by_api_is_a_fixed_short_list_of_statements(settings):
    """A tip costs what a transfer costs plus its fee leg: token, claim, creator with the
    block check, row, payer check with the limits (one statement), ledger (resolve, entry,
    lock and apply in one message), completion, events and receipts, stored response. An
    extra lookup sneaking in shows up here."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fan, creator = make_user(), make_user()
    fund(fan, 10_000)
    client = api_for(fan)
    path = f"/api/v1/users/{creator.handle}/tips"
    body = {"amount": 100, "currency": "USD"}
    client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key())

    with CaptureQueriesContext(connection) as captured:
        res = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key())

    assert res.status_code == 201, res.content
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
        # The once-per-session prepare probe repeats here: a test's transaction never commits.
        and "pg_prepared_statements" not in q["sql"]
    ]
    assert len(statements) == 11, "\n".join(s[:120] for s in statements)


def test_insufficient_funds_writes_no_money_and_no_tip():
    fan, creator = make_user(), make_user()
    fund(fan, 100)
    post = make_post(creator)
    with pytest.raises(InsufficientFunds):
        services.tip_send(tipper=fan, post_id=post.pk, amount=Money(500, "USD"), request_key=key())
    # The transfer's shape: the refusal rolls the one transaction back, row included.
    assert not Tip.objects.exists() and available(fan) == 100
    assert_ledger_ok()


def test_cannot_tip_yourself():
    me = make_user()
    fund(me, 1000)
    with pytest.raises(errors.CannotPaySelf):
        services.tip_send(
            tipper=me, post_id=make_post(me).pk, amount=Money(100, "USD"), request_key=key()
        )
    assert not Tip.objects.exists()


def test_blocked_looks_like_a_missing_post():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = make_post(creator)
    block_create(blocker=creator, blocked=fan)
    with pytest.raises(errors.PostNotFound):
        services.tip_send(tipper=fan, post_id=post.pk, amount=Money(100, "USD"), request_key=key())
    assert not Tip.objects.exists()


def test_api_tip_and_public_listing_hides_amount_unless_shown():
    fan, other, creator = make_user(), make_user(), make_user()
    fund(fan, 1000)
    fund(other, 1000)
    post = make_post(creator)
    url = f"/api/v1/posts/{post.pk}/tips"
    r = api_for(fan).post(
        url,
        {"amount": 500, "currency": "USD", "note": "hi", "visibility": "public"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert r.status_code == 201, r.json()
    assert r.json()["fee"] == {"amount": 50, "currency": "USD"}
    api_for(other).post(
        url,
        {"amount": 200, "currency": "USD", "visibility": "public", "show_amount": True},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    api_for(other).post(
        url, {"amount": 100, "currency": "USD"}, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    listed = api_for(make_user()).get(url).json()["data"]
    assert [t["amount"] for t in listed] == [{"amount": 200, "currency": "USD"}, None]
    assert listed[1]["note"] == "hi"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": 0, "currency": "USD"}, "amount_out_of_range"),
        ({"amount": -5, "currency": "USD"}, "amount_out_of_range"),
        ({"amount": "5", "currency": "USD"}, "invalid_amount"),
        ({"amount": 1.5, "currency": "USD"}, "invalid_amount"),
        ({"amount": True, "currency": "USD"}, "invalid_amount"),
        ({"amount": 500, "currency": "usd"}, "invalid_currency"),
        ({"amount": 500, "currency": "XYZ"}, "invalid_currency"),
        ({"amount": 10**13, "currency": "USD"}, "amount_out_of_range"),
        ({"amount": 500}, "validation_error"),
        ({"amount": 500, "currency": "USD", "fee": 0}, "unknown_field"),
        ({"amount": 500, "currency": "USD", "note": "a\x00b"}, "null_characters_not_allowed"),
        ({"amount": 500, "currency": "USD", "visibility": "everyone"}, "invalid_choice"),
    ],
)
def test_api_bad_inputs_are_4xx_and_write_nothing(body, code):
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = make_post(creator)
    r = api_for(fan).post(
        f"/api/v1/posts/{post.pk}/tips", body, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert 400 <= r.status_code < 500, r.content
    assert r.json()["error"]["code"] == code
    assert not Tip.objects.exists() and available(fan) == 1000


def test_api_requires_idempotency_key_and_replays():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = make_post(creator)
    client = api_for(fan)
    url = f"/api/v1/posts/{post.pk}/tips"
    body = {"amount": 100, "currency": "USD"}
    assert client.post(url, body, format="json").json()["error"]["code"] == (
        "idempotency_key_required"
    )
    k = key()
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=k)
    second = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=k)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json() == second.json() and available(fan) == 900
    other = client.post(
        url, {"amount": 200, "currency": "USD"}, format="json", HTTP_IDEMPOTENCY_KEY=k
    )
    assert other.status_code == 422


def test_api_tip_missing_post_is_404():
    fan = make_user()
    r = api_for(fan).post(
        "/api/v1/posts/999999/tips",
        {"amount": 100, "currency": "USD"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.django_db(transaction=True)
def test_the_same_request_key_sent_twice_at_once_pays_once():
    """Two requests with one key race to insert the tip: the second waits at the unique key
    for the first's transaction, then returns its tip (nothing inserted, no error)."""
    from ledger.models import Entry

    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = make_post(creator)
    k = key()
    results, failures = at_once(
        lambda: (
            services.tip_send(
                tipper=fan, post_id=post.pk, amount=Money(300, "USD"), request_key=k
            ).pk
        )
    )
    assert failures == []
    assert len(results) == 2 and len(set(results)) == 1
    assert Tip.objects.filter(tipper=fan).count() == 1
    assert Entry.objects.filter(code="creator.tip").count() == 1
    assert available(fan) == 700
    assert_ledger_ok()
