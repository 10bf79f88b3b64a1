"""Unlocks of paid posts: worked example, once only (also under concurrency), refusals."""

from __future__ import annotations

import pytest
from django.db import connection

from core.money import Money
from ledger.errors import InsufficientFunds
from ledger.models import Entry
from payments.creators import errors, services
from payments.creators.models import Unlock
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


def paid_post(author, price: int = 300):
    post = make_post(author, "teaser")
    return services.post_set_paid_content(
        author=author, post=post, locked_text="the secret", price=Money(price, "USD")
    )


@pytest.mark.django_db
def test_unlock_worked_example_300_270_30():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = paid_post(creator)
    unlock, created = services.unlock_purchase(buyer=fan, post_id=post.pk)
    assert created and unlock.status == "completed"
    assert postings_of(unlock.entry) == [
        (wallet(fan), "D", 300, "USD"),
        (wallet(creator), "C", 270, "USD"),
        (FEES, "C", 30, "USD"),
    ]
    again, created_again = services.unlock_purchase(buyer=fan, post_id=post.pk)
    assert again.pk == unlock.pk and not created_again
    assert available(fan) == 700 and available(creator) == 270
    assert_ledger_ok()


@pytest.mark.django_db
def test_unlock_refusals():
    fan, creator = make_user(), make_user()
    fund(fan, 100)
    free = make_post(creator)
    with pytest.raises(errors.PostNotForSale):
        services.unlock_purchase(buyer=fan, post_id=free.pk)
    post = paid_post(creator)
    with pytest.raises(errors.CannotPaySelf):
        services.unlock_purchase(buyer=creator, post_id=post.pk)
    with pytest.raises(InsufficientFunds):
        services.unlock_purchase(buyer=fan, post_id=post.pk)
    assert not Unlock.objects.exists()  # refused in its one transaction: nothing is kept
    fund(fan, 500)  # a failed unlock does not block a later one
    unlock, _ = services.unlock_purchase(buyer=fan, post_id=post.pk)
    assert unlock.status == "completed" and available(fan) == 300
    with pytest.raises(errors.PostNotFound):
        services.unlock_purchase(buyer=fan, post_id=10**9)


@pytest.mark.django_db
def test_api_unlock_then_repeat_returns_the_same_unlock():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = paid_post(creator)
    client = api_for(fan)
    first = client.post(f"/api/v1/posts/{post.pk}/unlock", HTTP_IDEMPOTENCY_KEY=key())
    second = client.post(f"/api/v1/posts/{post.pk}/unlock", HTTP_IDEMPOTENCY_KEY=key())
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["locked_text"] == "the secret"
    assert available(fan) == 700
    free = make_post(creator)
    r = client.post(f"/api/v1/posts/{free.pk}/unlock", HTTP_IDEMPOTENCY_KEY=key())
    assert r.status_code == 409 and r.json()["error"]["code"] == "post_not_paid"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_unlocks_charge_once():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = paid_post(creator)
    results, failures = at_once(lambda: services.unlock_purchase(buyer=fan, post_id=post.pk)[0].pk)
    assert failures == []
    assert len(set(results)) == 1
    assert Unlock.objects.count() == 1
    assert Entry.objects.filter(code="creator.unlock").count() == 1
    assert available(fan) == 700
    assert_ledger_ok()


@pytest.mark.django_db
def test_buying_again_after_the_limit_is_used_up_returns_the_first_unlock(settings):
    settings.WALLET_LIMITS = {
        tier: {"weekly_send": 300, "per_transfer": 300} for tier in ("unverified", "verified")
    }
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = paid_post(creator, price=300)
    first, created = services.unlock_purchase(buyer=fan, post_id=post.pk)
    again, created_again = services.unlock_purchase(buyer=fan, post_id=post.pk)
    assert created and not created_again and first.pk == again.pk
    assert again.status == "completed" and available(fan) == 700


@pytest.mark.django_db
def test_an_unlock_by_api_is_a_fixed_short_list_of_statements():
    """A transfer's shape plus its fee leg: token, claim, post with the block check, row,
    payer check with the limits (one statement), ledger (resolve, entry, lock and apply
    in one message), completion, events and receipts, stored response."""
    from django.test.utils import CaptureQueriesContext

    fan, creator = make_user(), make_user()
    fund(fan, 10_000)
    client = api_for(fan)
    warm, post = paid_post(creator), paid_post(creator)
    client.post(f"/api/v1/posts/{warm.pk}/unlock", HTTP_IDEMPOTENCY_KEY=key())

    with CaptureQueriesContext(connection) as captured:
        res = client.post(f"/api/v1/posts/{post.pk}/unlock", HTTP_IDEMPOTENCY_KEY=key())

    assert res.status_code == 201, res.content
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
        # The once-per-session prepare probe repeats here: a test's transaction never commits.
        and "pg_prepared_statements" not in q["sql"]
    ]
    assert len(statements) == 11, "\n".join(s[:120] for s in statements)
