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


def _tip_event(payment_id: str, tip_id: int, *, kind="payment_intent.succeeded", account=None):
    import uuid

    from django.utils import timezone

    from payments.processors.base import Event

    return Event(
        id=f"evt_{uuid.uuid4().hex}",
        type=kind,
        created=timezone.now(),
        data={
            "id": payment_id,
            "object": "payment_intent",
            "amount": 300,
            "currency": "usd",
            "status": "succeeded" if kind.endswith("succeeded") else "requires_payment_method",
            "metadata": {"kind": services.CARD_TIP_KIND, "tip": str(tip_id)},
        },
        processor="sandbox",
        account=account,
    )


def _card_tip(fan, creator, amount=300):
    return services.tip_send_card(
        tipper=fan,
        creator=creator,
        amount=Money(amount, "USD"),
        payment_method="pm_card_visa",
        request_key=key(),
    )


@pytest.mark.django_db
def test_a_webhook_must_be_the_tips_own_payment_to_credit_it():
    """As top-ups: an event of a connected account (a creator's own processor account,
    with our metadata copied), another tip's payment, or a failure notice about another
    payment credits nothing and fails nothing; the tip's own event credits it once."""
    from payments.creators import webhook_handlers

    fan, creator = make_user(), make_user()
    mine, other = _card_tip(fan, creator), _card_tip(fan, creator)
    attempts = [
        _tip_event(mine.processor_payment_id, mine.pk, account="acct_creator_own"),
        _tip_event(other.processor_payment_id, mine.pk),
    ]
    for forged in attempts:
        with pytest.raises(services.TipPaymentMismatch):
            webhook_handlers.card_tip_succeeded(forged)
    for notice in (
        _tip_event(other.processor_payment_id, mine.pk, kind="payment_intent.payment_failed"),
        _tip_event(
            mine.processor_payment_id,
            mine.pk,
            kind="payment_intent.payment_failed",
            account="acct_creator_own",
        ),
    ):
        webhook_handlers.card_tip_failed(notice)
    assert Tip.objects.get(pk=mine.pk).status == "pending" and available(creator) == 0

    webhook_handlers.card_tip_succeeded(_tip_event(mine.processor_payment_id, mine.pk))
    webhook_handlers.card_tip_succeeded(_tip_event(mine.processor_payment_id, mine.pk))
    assert Tip.objects.get(pk=mine.pk).status == "completed" and available(creator) == 270
    assert Tip.objects.get(pk=other.pk).status == "pending"
    assert Entry.objects.filter(code="creator.tip.card").count() == 1
    assert_ledger_ok()


@pytest.mark.django_db
def test_an_event_that_overtakes_the_charge_answer_is_checked_with_the_processor():
    """Before the processor's answer is recorded the tip has no payment id: the
    processor's own record must name this tip, or nothing is credited."""
    fan, creator = make_user(), make_user()
    real = _card_tip(fan, creator)
    racing = _card_tip(fan, creator)
    Tip.objects.filter(pk=racing.pk).update(processor_payment_id="")
    with pytest.raises(services.TipPaymentMismatch):
        services.tip_settle_card_event(
            tip_id=racing.pk,
            processor="sandbox",
            payment_id=real.processor_payment_id,
            account=None,
        )
    assert Tip.objects.get(pk=racing.pk).status == "pending" and available(creator) == 0
