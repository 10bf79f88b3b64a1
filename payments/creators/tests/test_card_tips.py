"""Tips paid straight from a card: the sandbox charges, its webhook reaches our handler
through a real Celery worker, and only then is the creator credited (once)."""

from __future__ import annotations

import time

import pytest

from core.money import Money
from ledger import chart
from ledger.models import Entry
from payments.creators import errors, services
from payments.creators.models import Tip
from payments.creators.tests.factories import (
    FEES,
    api_for,
    assert_ledger_ok,
    available,
    key,
    make_post,
    make_user,
    postings_of,
    wallet,
)

CLEARING = chart.processor_clearing_key("sandbox", "USD")


def wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_card_tip_is_credited_when_the_webhook_confirms_it(celery_worker_process):
    fan, creator = make_user(), make_user()
    post = make_post(creator)
    r = api_for(fan).post(
        f"/api/v1/posts/{post.pk}/tips",
        {"amount": 500, "currency": "USD", "payment_method": "pm_card_visa"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert r.status_code in (201, 202), r.json()
    tip_id = r.json()["id"]
    wait_for(lambda: Tip.objects.get(pk=tip_id).status == "completed")
    tip = Tip.objects.get(pk=tip_id)
    assert tip.processor_payment_id
    assert postings_of(tip.entry) == [
        (CLEARING, "D", 500, "USD"),
        (wallet(creator), "C", 450, "USD"),
        (FEES, "C", 50, "USD"),
    ]
    assert available(creator) == 450 and available(fan) == 0
    assert Entry.objects.filter(code="creator.tip.card").count() == 1
    assert_ledger_ok()


@pytest.mark.django_db
def test_declined_card_fails_the_tip_and_credits_nothing():
    fan, creator = make_user(), make_user()
    post = make_post(creator)
    with pytest.raises(errors.CardDeclined):
        services.tip_send_card(
            tipper=fan,
            post_id=post.pk,
            amount=Money(500, "USD"),
            payment_method="pm_card_chargeDeclined",
            request_key=key(),
        )
    assert Tip.objects.get().status == "failed"
    r = api_for(fan).post(
        f"/api/v1/posts/{post.pk}/tips",
        {"amount": 500, "currency": "USD", "payment_method": "pm_card_chargeDeclined"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key(),
    )
    assert r.status_code == 402 and r.json()["error"]["code"] == "card_declined"
    assert not Entry.objects.filter(code="creator.tip.card").exists()


@pytest.mark.django_db
def test_settling_twice_or_with_a_wrong_amount():
    fan, creator = make_user(), make_user()
    tip = services.tip_send_card(
        tipper=fan,
        creator=creator,
        amount=Money(300, "USD"),
        payment_method="pm_card_visa",
        request_key=key(),
    )
    # A forged or mismatched confirmation never credits.
    wrong = services.tip_settle_card(
        tip_id=tip.pk,
        processor="sandbox",
        payment_id=tip.processor_payment_id,
        amount=999,
        currency="USD",
    )
    assert wrong.status == "failed" and available(creator) == 0
    ok_tip = services.tip_send_card(
        tipper=fan,
        creator=creator,
        amount=Money(300, "USD"),
        payment_method="pm_card_visa",
        request_key=key(),
    )
    for _ in range(2):
        services.tip_settle_card(
            tip_id=ok_tip.pk,
            processor="sandbox",
            payment_id=ok_tip.processor_payment_id,
            amount=300,
            currency="USD",
        )
    assert available(creator) == 270
    assert Entry.objects.filter(code="creator.tip.card").count() == 1
    assert_ledger_ok()
