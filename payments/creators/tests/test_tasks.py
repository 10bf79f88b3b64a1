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
def test_sweeper_settles_card_tips_whose_webhook_never_came_exactly_once():
    """The only flow that can be left half done is a processor-bound one: a card tip the
    processor charged but whose webhook never arrived. The sweeper asks the processor and
    settles it once; every processor-free flow commits in one transaction (see
    ``test_creators_crash``), so there is nothing else to sweep."""
    fan, creator = make_user(), make_user()
    post = make_post(creator)
    tip = services.tip_send_card(
        tipper=fan,
        post_id=post.pk,
        amount=Money(500, "USD"),
        payment_method="pm_card_visa",
        request_key=key(),
    )
    declined_at_the_processor = services.tip_send_card(
        tipper=fan,
        creator=creator,
        amount=Money(300, "USD"),
        payment_method="pm_card_visa",
        request_key=key(),
    )
    assert tip.status == "pending" and tip.processor_payment_id
    from payments.processors.sandbox import models as sandbox

    sandbox.PaymentIntent.objects.filter(id=declined_at_the_processor.processor_payment_id).update(
        status="canceled"
    )
    old = timezone.now() - timedelta(hours=1)
    Tip.objects.filter(pk__in=[tip.pk, declined_at_the_processor.pk]).update(created_at=old)
    with override_settings(CREATOR_STUCK_AFTER_SECONDS=60):
        assert sweep_stuck_task() == 2
        assert sweep_stuck_task() == 0
    assert Tip.objects.get(pk=tip.pk).status == "completed"
    assert Tip.objects.get(pk=declined_at_the_processor.pk).status == "failed"
    assert available(creator) == 450
    assert Entry.objects.filter(code="creator.tip.card").count() == 1
    assert_ledger_ok()


@pytest.mark.django_db
def test_no_processor_free_flow_leaves_a_row_for_the_sweeper():
    """What the sweeper once re-drove (wallet tips and unlocks left ``pending`` between
    three transactions) cannot exist any more: each commits whole or not at all."""
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    post = services.post_set_paid_content(
        author=creator, post=make_post(creator), locked_text="s", price=Money(300, "USD")
    )
    services.tip_send(tipper=fan, post_id=post.pk, amount=Money(500, "USD"), request_key=key())
    services.unlock_purchase(buyer=fan, post_id=post.pk)
    assert not Tip.objects.exclude(status="completed").exists()
    assert not Unlock.objects.exclude(status="completed").exists()
    old = timezone.now() - timedelta(hours=1)
    Tip.objects.update(created_at=old)
    with override_settings(CREATOR_STUCK_AFTER_SECONDS=60):
        assert sweep_stuck_task() == 0
    assert available(fan) == 200 and available(creator) == 720
    assert_ledger_ok()


@pytest.mark.django_db
def test_a_failure_after_the_entry_leaves_neither_entry_nor_row():
    """Formerly: a row failed meanwhile got its entry reversed (an undo). In one
    transaction there is no "meanwhile": a failure after the entry was booked rolls the
    entry back with the row, and nothing needs reversing."""
    fan, creator = make_user(), make_user()
    fund(fan, 1000)
    from payments.creators.services import tips

    original = tips._tip_complete

    def fail_after_booking(*, tip, entry):
        assert Entry.objects.filter(pk=entry.pk).exists()  # booked in this transaction
        raise RuntimeError("the process dies after the entry")

    tips._tip_complete = fail_after_booking
    try:
        with pytest.raises(RuntimeError):
            services.tip_send(
                tipper=fan, creator=creator, amount=Money(500, "USD"), request_key=key()
            )
    finally:
        tips._tip_complete = original
    assert not Tip.objects.exists()
    assert not Entry.objects.filter(code__in=["creator.tip", "reversal"]).exists()
    assert available(fan) == 1000 and available(creator) == 0
    assert_ledger_ok()
