"""Payment links: worked examples with exact postings, every refusal writing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Notification
from accounts.services import block_create
from core.exceptions import InvalidChoice
from core.money import InvalidAmount, Money
from core.text import TextTooLong
from ledger.errors import InsufficientFunds
from payments.creators.errors import AmountOutOfRange, CannotPaySelf
from payments.creators.tests.factories import (
    FEES,
    assert_ledger_ok,
    available,
    fund,
    key,
    make_user,
    postings_of,
    wallet,
)
from payments.links import errors, services
from payments.links.models import LinkPayment, PaymentLink
from payments.wallets.receipts import receipts_outbox_drain

pytestmark = pytest.mark.django_db


def fixed(owner, amount=500, **kw):
    return services.link_create(
        owner=owner, kind="fixed", currency="USD", amount=Money(amount, "USD"), **kw
    )


def open_link(owner, minimum=300, **kw):
    return services.link_create(
        owner=owner, kind="open", currency="USD", min_amount=Money(minimum, "USD"), **kw
    )


def nothing_written(payer_balance, payer):
    assert not LinkPayment.objects.exists()
    assert available(payer) == payer_balance
    assert_ledger_ok()


def test_fixed_link_worked_example_500_450_50():
    fan, owner = make_user("fan"), make_user("owner")
    fund(fan, 1000)
    link = fixed(owner, note="Concert ticket")
    payment = services.link_pay(payer=fan, slug=link.slug, request_key=key(), message="see you")
    assert payment.status == "completed" and (payment.amount, payment.fee) == (500, 50)
    assert postings_of(payment.entry) == [
        (wallet(fan), "D", 500, "USD"),
        (wallet(owner), "C", 450, "USD"),
        (FEES, "C", 50, "USD"),
    ]
    assert payment.entry.code == "link.payment"
    assert payment.entry.idempotency_key == f"links:payment:{payment.pk}"
    assert available(fan) == 500 and available(owner) == 450
    receipts_outbox_drain()
    note = Notification.objects.get(recipient=owner, kind="link_paid")
    assert note.data["amount"] == 500 and note.actor_id == fan.pk
    assert Notification.objects.filter(recipient=fan, kind="money_sent").count() == 1
    assert_ledger_ok()


def test_open_link_worked_example_1234_fee_rounds_half_up():
    fan, owner = make_user(), make_user()
    fund(fan, 2000)
    link = open_link(owner, minimum=300)
    payment = services.link_pay(
        payer=fan, slug=link.slug, request_key=key(), amount=Money(1235, "USD")
    )
    # 1235 * 10% = 123.5 → 124 (half up); the owner gets 1111.
    assert postings_of(payment.entry) == [
        (wallet(fan), "D", 1235, "USD"),
        (wallet(owner), "C", 1111, "USD"),
        (FEES, "C", 124, "USD"),
    ]
    assert_ledger_ok()


def test_slugs_are_random_and_long():
    owner = make_user()
    slugs = {fixed(owner).slug for _ in range(20)}
    assert len(slugs) == 20 and all(len(s) >= 32 for s in slugs)


def test_same_request_key_pays_once():
    fan, owner = make_user(), make_user()
    fund(fan, 2000)
    link = fixed(owner)
    k = key()
    first = services.link_pay(payer=fan, slug=link.slug, request_key=k)
    again = services.link_pay(payer=fan, slug=link.slug, request_key=k)
    assert first.pk == again.pk and available(fan) == 1500
    assert LinkPayment.objects.count() == 1


def test_unlimited_link_is_never_written_by_payments():
    fan, owner = make_user(), make_user()
    fund(fan, 2000)
    link = fixed(owner)
    services.link_pay(payer=fan, slug=link.slug, request_key=key())
    services.link_pay(payer=fan, slug=link.slug, request_key=key())
    link.refresh_from_db()
    assert link.uses == 0 and LinkPayment.objects.filter(link=link).count() == 2


def test_use_limited_link_refuses_the_use_after_the_last():
    a, b, owner = make_user(), make_user(), make_user()
    fund(a, 1000)
    fund(b, 1000)
    link = fixed(owner, max_uses=1)
    services.link_pay(payer=a, slug=link.slug, request_key=key())
    with pytest.raises(errors.LinkUsedUp):
        services.link_pay(payer=b, slug=link.slug, request_key=key())
    link.refresh_from_db()
    assert link.uses == 1
    nothing_written_for_b = available(b) == 1000
    assert nothing_written_for_b and LinkPayment.objects.count() == 1


def test_insufficient_funds_writes_nothing_and_keeps_the_use():
    fan, owner = make_user(), make_user()
    fund(fan, 100)
    link = fixed(owner, max_uses=1)
    with pytest.raises(InsufficientFunds):
        services.link_pay(payer=fan, slug=link.slug, request_key=key())
    link.refresh_from_db()
    assert link.uses == 0
    nothing_written(100, fan)


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        (Money(299, "USD"), errors.AmountBelowMinimum),
        (Money(500, "EUR"), Exception),  # currency mismatch
        (Money(0, "USD"), AmountOutOfRange),
        (Money(-5, "USD"), AmountOutOfRange),
        (None, InvalidAmount),
    ],
)
def test_open_link_bad_amounts_write_nothing(amount, error):
    fan, owner = make_user(), make_user()
    fund(fan, 1000)
    link = open_link(owner, minimum=300)
    with pytest.raises(error) as exc:
        services.link_pay(payer=fan, slug=link.slug, request_key=key(), amount=amount)
    assert 400 <= exc.value.status < 500
    nothing_written(1000, fan)


def test_fixed_link_refuses_another_amount():
    fan, owner = make_user(), make_user()
    fund(fan, 1000)
    link = fixed(owner, 500)
    with pytest.raises(InvalidChoice):
        services.link_pay(payer=fan, slug=link.slug, request_key=key(), amount=Money(1, "USD"))
    nothing_written(1000, fan)


def test_cannot_pay_own_link_and_blocked_looks_missing():
    fan, owner = make_user(), make_user()
    fund(owner, 1000)
    fund(fan, 1000)
    link = fixed(owner)
    with pytest.raises(CannotPaySelf):
        services.link_pay(payer=owner, slug=link.slug, request_key=key())
    block_create(blocker=owner, blocked=fan)
    with pytest.raises(errors.LinkNotFound):
        services.link_pay(payer=fan, slug=link.slug, request_key=key())
    nothing_written(1000, fan)


def test_deactivated_and_expired_links_refuse():
    fan, owner = make_user(), make_user()
    fund(fan, 1000)
    off = fixed(owner)
    services.link_deactivate(owner=owner, slug=off.slug)
    with pytest.raises(errors.LinkInactive):
        services.link_pay(payer=fan, slug=off.slug, request_key=key())
    soon = fixed(owner, expires_at=timezone.now() + timedelta(days=1))
    PaymentLink.objects.filter(pk=soon.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(errors.LinkExpired):
        services.link_pay(payer=fan, slug=soon.slug, request_key=key())
    with pytest.raises(errors.LinkNotFound):
        services.link_pay(payer=fan, slug="x" * 500, request_key=key())
    nothing_written(1000, fan)


def test_only_the_owner_deactivates():
    owner, other = make_user(), make_user()
    link = fixed(owner)
    with pytest.raises(errors.LinkNotFound):
        services.link_deactivate(owner=other, slug=link.slug)
    link.refresh_from_db()
    assert link.active
    services.link_deactivate(owner=owner, slug=link.slug)
    services.link_deactivate(owner=owner, slug=link.slug)  # idempotent
    link.refresh_from_db()
    assert not link.active and link.deactivated_at is not None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": "gift"}, InvalidChoice),
        ({"amount": None}, InvalidChoice),
        ({"amount": Money(0, "USD")}, AmountOutOfRange),
        ({"note": "x" * 281}, TextTooLong),
        ({"expires_at": "past"}, errors.InvalidExpiry),
        ({"expires_at": "far"}, errors.InvalidExpiry),
        ({"max_uses": 0}, errors.InvalidUseLimit),
        ({"max_uses": True}, errors.InvalidUseLimit),
        ({"max_uses": 10**7}, errors.InvalidUseLimit),
    ],
)
def test_bad_link_inputs_write_nothing(kwargs, error):
    owner = make_user()
    args = {"kind": "fixed", "currency": "USD", "amount": Money(500, "USD")}
    args.update(kwargs)
    if args.get("expires_at") == "past":
        args["expires_at"] = timezone.now() - timedelta(minutes=1)
    elif args.get("expires_at") == "far":
        args["expires_at"] = timezone.now() + timedelta(days=3650)
    with pytest.raises(error):
        services.link_create(owner=owner, **args)
    assert not PaymentLink.objects.exists()
