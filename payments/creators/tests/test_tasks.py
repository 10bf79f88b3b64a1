"""Tasks: escrow auto-release and renewals through a real Celery worker; the sweeper
drives rows left pending by a dead process to one final state."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from core.money import Money
from ledger.models import Entry
from payments.creators import services
from payments.creators.fees import fee_quote
from payments.creators.models import Order, Tip, Unlock
from payments.creators.tasks import orders_release_due_task, sweep_stuck_task
from payments.creators.tests.factories import (
    assert_ledger_ok,
    available,
    fund,
    key,
    make_post,
    make_user,
)


def wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_worker_releases_due_escrow(celery_worker_process):
    buyer, seller = make_user(), make_user()
    fund(buyer, 5000)
    product = services.product_create(
        seller=seller,
        post_id=make_post(seller).pk,
        title="Zine",
        description="",
        price=Money(2000, "USD"),
        stock=2,
        kind="digital",
        delivery_url="https://example.com/zine.pdf",
    )
    order = services.order_create(buyer=buyer, product_id=product.pk, quantity=1, request_key=key())
    # The window has passed (moved back in time rather than waiting 14 days).
    Order.objects.filter(pk=order.pk).update(release_after=timezone.now() - timedelta(seconds=1))
    orders_release_due_task.delay()
    wait_for(lambda: Order.objects.get(pk=order.pk).status == "released")
    assert available(seller) == 1800
    orders_release_due_task.delay()  # a second run is a no-op
    time.sleep(1)
    assert Entry.objects.filter(code="creator.order.release").count() == 1
    assert_ledger_ok()


@pytest.mark.django_db
def test_renewal_task_is_the_service():
    from payments.creators.tasks import memberships_renew_due_task

    assert memberships_renew_due_task() == 0


@pytest.mark.django_db
def test_sweeper_settles_rows_left_pending_exactly_once():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = make_post(creator)
    post = services.post_set_paid_content(
        author=creator, post=post, locked_text="s", price=Money(300, "USD")
    )
    # A process died right after recording the intents (step 1), before booking.
    tip = services._tip_record(
        tipper=fan,
        creator=creator,
        post=post,
        quote=fee_quote(kind="tip", gross=Money(500, "USD")),
        message="",
        visibility="private",
        show_amount=False,
        request_key=key(),
    )
    unlock = services._unlock_record(
        post=post, buyer=fan, quote=fee_quote(kind="unlock", gross=Money(300, "USD"))
    )
    old = timezone.now() - timedelta(hours=1)
    Tip.objects.filter(pk=tip.pk).update(created_at=old)
    Unlock.objects.filter(pk=unlock.pk).update(created_at=old)
    with override_settings(CREATOR_STUCK_AFTER_SECONDS=60):
        assert sweep_stuck_task() == 2
        assert sweep_stuck_task() == 0
    assert Tip.objects.get(pk=tip.pk).status == "completed"
    assert Unlock.objects.get(pk=unlock.pk).status == "completed"
    assert available(fan) == 200 and available(creator) == 720
    assert_ledger_ok()


@pytest.mark.django_db
def test_a_row_failed_meanwhile_gets_its_entry_reversed():
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    tip = services._tip_record(
        tipper=fan,
        creator=creator,
        post=None,
        quote=fee_quote(kind="tip", gross=Money(500, "USD")),
        message="",
        visibility="private",
        show_amount=False,
        request_key=key(),
    )
    # Another run gave up on it (failed) while this one was still booking.
    original = services._tip_complete

    def fail_first(*, tip, entry):
        Tip.objects.filter(pk=tip.pk).update(status="failed", failure_code="insufficient_funds")
        original(tip=tip, entry=entry)

    services._tip_complete = fail_first
    try:
        result = services.tip_settle(tip_id=tip.pk)
    finally:
        services._tip_complete = original
    assert result.status == "failed"
    assert Entry.objects.filter(code="reversal").count() == 1
    assert available(fan) == 1000 and available(creator) == 0
    assert_ledger_ok()
