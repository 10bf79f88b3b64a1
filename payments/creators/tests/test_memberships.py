"""Memberships: first charge worked example, renewal, failed renewal → past_due → expired,
cancel at period end, members-only content, API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.money import Money
from ledger.errors import InsufficientFunds
from payments.creators import errors, selectors, services
from payments.creators.models import Membership, MembershipCharge
from payments.creators.tests.factories import (
    FEES,
    api_for,
    assert_ledger_ok,
    available,
    fund,
    key,
    make_post,
    make_user,
    postings_of,
    wallet,
)

pytestmark = pytest.mark.django_db


def tier_of(creator, price=1000, name="Gold"):
    return services.tier_create(creator=creator, name=name, price=Money(price, "USD"), perks="")


def test_subscribe_worked_example_and_renewal():
    fan, creator = make_user(), make_user()
    fund(fan, 2500)
    tier = tier_of(creator)
    m = services.membership_subscribe(member=fan, tier_id=tier.pk)
    assert m.status == "active"
    first = MembershipCharge.objects.get(membership=m)
    assert postings_of(first.entry) == [
        (wallet(fan), "D", 1000, "USD"),
        (wallet(creator), "C", 900, "USD"),
        (FEES, "C", 100, "USD"),
    ]
    # Not due yet: nothing happens.
    assert services.memberships_renew_due() == 0
    due = m.current_period_end + timedelta(minutes=1)
    assert services.memberships_renew_due(now=due) == 1
    m.refresh_from_db()
    assert m.status == "active" and m.current_period_end > due
    renewal = MembershipCharge.objects.exclude(pk=first.pk).get()
    assert postings_of(renewal.entry) == [
        (wallet(fan), "D", 1000, "USD"),
        (wallet(creator), "C", 900, "USD"),
        (FEES, "C", 100, "USD"),
    ]
    # Running the task again for the same moment changes nothing.
    assert services.memberships_renew_due(now=due) == 0
    assert available(fan) == 500 and available(creator) == 1800
    assert_ledger_ok()


def test_failed_renewal_is_past_due_then_recovers_or_expires():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    tier = tier_of(creator)
    m = services.membership_subscribe(member=fan, tier_id=tier.pk)
    due = m.current_period_end + timedelta(minutes=1)
    services.memberships_renew_due(now=due)
    m.refresh_from_db()
    assert m.status == "past_due" and m.grace_until is not None
    assert MembershipCharge.objects.filter(status="pending").count() == 1
    # Still readable during the grace period.
    post = make_post(creator, "teaser")
    services.post_set_paid_content(
        author=creator, post=post, locked_text="for members", members_tier_id=tier.pk
    )
    assert selectors.post_locked_readable(post=post, viewer=fan)
    # Money arrives: the retry pays the same period, once.
    fund(fan, 1000)
    services.memberships_renew_due(now=due + timedelta(hours=1))
    m.refresh_from_db()
    assert m.status == "active" and m.grace_until is None
    assert MembershipCharge.objects.filter(status="completed").count() == 2
    # Next period cannot be paid and the grace period runs out: expired.
    later = m.current_period_end + timedelta(minutes=1)
    services.memberships_renew_due(now=later)
    services.memberships_renew_due(now=later + timedelta(days=4))
    m.refresh_from_db()
    assert m.status == "expired"
    assert not selectors.post_locked_readable(post=post, viewer=fan)
    assert_ledger_ok()


def test_cancel_keeps_access_until_period_end():
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    tier = tier_of(creator)
    m = services.membership_subscribe(member=fan, tier_id=tier.pk)
    services.membership_cancel(member=fan, membership_id=m.pk)
    m.refresh_from_db()
    assert m.status == "active" and m.cancel_at_period_end
    services.memberships_renew_due(now=m.current_period_end + timedelta(minutes=1))
    m.refresh_from_db()
    assert m.status == "canceled" and MembershipCharge.objects.count() == 1
    with pytest.raises(errors.MembershipNotFound):
        services.membership_cancel(member=make_user(), membership_id=m.pk)


def test_members_only_post_for_tier_or_higher():
    creator, silver_fan, gold_fan, stranger = make_user(), make_user(), make_user(), make_user()
    silver = tier_of(creator, price=500, name="Silver")
    gold = tier_of(creator, price=1000, name="Gold")
    for fan in (silver_fan, gold_fan):
        fund(fan, 5000)
    services.membership_subscribe(member=silver_fan, tier_id=silver.pk)
    services.membership_subscribe(member=gold_fan, tier_id=gold.pk)
    post = services.post_set_paid_content(
        author=creator, post=make_post(creator), locked_text="gold only", members_tier_id=gold.pk
    )
    assert selectors.post_locked_readable(post=post, viewer=gold_fan)
    assert selectors.post_locked_readable(post=post, viewer=creator)
    assert not selectors.post_locked_readable(post=post, viewer=silver_fan)
    assert not selectors.post_locked_readable(post=post, viewer=stranger)
    seen = api_for(silver_fan).get(f"/api/v1/posts/{post.pk}").json()
    assert seen["locked_text"] is None and seen["members_tier"] == gold.pk
    assert api_for(gold_fan).get(f"/api/v1/posts/{post.pk}").json()["locked_text"] == "gold only"


def test_refusals():
    fan, creator = make_user(), make_user()
    tier = tier_of(creator)
    with pytest.raises(errors.CannotPaySelf):
        services.membership_subscribe(member=creator, tier_id=tier.pk)
    with pytest.raises(InsufficientFunds):
        services.membership_subscribe(member=fan, tier_id=tier.pk)
    # Refused in its one transaction: no membership, no charge is kept.
    assert not Membership.objects.exists() and not MembershipCharge.objects.exists()
    fund(fan, 5000)
    services.membership_subscribe(member=fan, tier_id=tier.pk)
    with pytest.raises(errors.AlreadyMember):
        services.membership_subscribe(member=fan, tier_id=tier.pk)
    with pytest.raises(errors.TierNotFound):
        services.membership_subscribe(member=fan, tier_id=10**9)


def test_api_memberships():
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    r = api_for(creator).post(
        "/api/v1/memberships/tiers",
        {"name": "Gold", "price": {"amount": 1000, "currency": "USD"}, "perks": "early posts"},
        format="json",
    )
    assert r.status_code == 201, r.json()
    tier_id = r.json()["id"]
    client = api_for(fan)
    r = client.post(
        "/api/v1/memberships", {"tier": tier_id}, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert r.status_code == 201 and r.json()["status"] == "active"
    r = client.post(
        "/api/v1/memberships", {"tier": tier_id}, format="json", HTTP_IDEMPOTENCY_KEY=key()
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_member"
    mid = client.get("/api/v1/memberships").json()["data"][0]["id"]
    r = client.post(f"/api/v1/memberships/{mid}/cancel")
    assert r.json()["cancel_at_period_end"] is True
    assert api_for(creator).post(f"/api/v1/memberships/{mid}/cancel").status_code == 404
    r = api_for(creator).post(
        "/api/v1/memberships/tiers",
        {"name": "Bad", "price": {"amount": -1, "currency": "USD"}},
        format="json",
    )
    assert r.status_code == 400


def test_renewal_for_a_period_not_yet_over_is_a_no_op():
    fan, creator = make_user(), make_user()
    fund(fan, 5000)
    m = services.membership_subscribe(member=fan, tier_id=tier_of(creator).pk)
    services.membership_renew(membership_id=m.pk, now=timezone.now())
    assert MembershipCharge.objects.count() == 1
