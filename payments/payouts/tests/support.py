"""Helpers for the payout, dispute and reconciliation tests: people, money and processor
time, all set up through services."""

from __future__ import annotations

import uuid

from accounts.models import User
from accounts.services import user_signup
from core.money import Money
from ledger import chart
from ledger.errors import AccountNotFound
from ledger.models import Entry, Posting
from ledger.selectors import balance_of
from ledger.services import credit, debit, entry_post
from payments.payouts import services
from payments.processors import objects
from payments.processors.sandbox import engine
from payments.processors.sandbox import models as sandbox_models

PASSWORD = "correct horse battery staple"


def make_user(handle: str | None = None, *, verified: bool = True) -> User:
    handle = handle or f"u{uuid.uuid4().hex[:10]}"
    user = user_signup(handle=handle, email=f"{handle}@example.com", password=PASSWORD)
    if verified:
        # Verification (KYC) is a staff decision; there is no service for it on this branch.
        User.objects.filter(pk=user.pk).update(verification_tier="verified")
        user.refresh_from_db()
    return user


def fund(user: User, amount: int, currency: str = "USD", *, source: str | None = None) -> Entry:
    """A card top-up as the ledger books it: D clearing · C wallet."""
    money = Money(amount, currency)
    return entry_post(
        code="topup",
        idempotency_key=f"test-topup:{uuid.uuid4().hex}",
        postings=[
            debit(chart.processor_clearing_key("sandbox", currency), money),
            credit(chart.wallet_key(user.pk, currency), money),
        ],
        metadata={"processor_object": source} if source else {},
    )


def payee(amount: int = 0, *, bank: str = "000123456789", currency: str = "USD") -> User:
    user = make_user()
    services.payout_destination_add(user=user, account_number=bank, routing_number="110000000")
    if amount:
        fund(user, amount, currency)
    return user


def card_payee(amount: int = 0, *, token: str = "tok_visa_debit", currency: str = "USD") -> User:
    """A verified person whose payout destination is a debit card (instant payouts)."""
    user = make_user()
    services.payout_card_add(user=user, token=token, currency=currency)
    if amount:
        fund(user, amount, currency)
    return user


def available(key: str) -> int:
    try:
        return balance_of(account=key).available.amount
    except AccountNotFound:
        return 0


def posted(key: str) -> int:
    try:
        return balance_of(account=key).posted.amount
    except AccountNotFound:
        return 0


def legs_of(entry: Entry) -> list[tuple[str, str, int]]:
    rows = Posting.objects.filter(entry=entry).select_related("account").order_by("id")
    return sorted((p.direction, p.account.key, p.amount) for p in rows)


def deliver_events(object_id: str, *types: str) -> None:
    """Hand the sandbox's stored events for ``object_id`` to our handlers, in order (what
    the webhook task does, without the broker)."""
    from payments.webhooks.registry import handlers_for

    rows = sandbox_models.Event.objects.filter(object_id=object_id).order_by("seq")
    for row in rows:
        if types and row.type not in types:
            continue
        event = objects.event_from_body(row.body.encode(), processor="sandbox")
        for handler in handlers_for(event.type):
            if handler.__module__.startswith(("payments.payouts", "payments.disputes")):
                handler(event)


def settle(remote_id: str) -> str:
    return engine.payout_settle(remote_id)


def assert_paid_once(payout_ids: list[int]) -> None:
    """Each payout submitted to the processor once, paid once and booked once, and the
    ledger verified (the exactly-once checks of the tests that kill workers)."""
    from datetime import timedelta

    from django.db.models import Count

    from ledger.models import Entry
    from ledger.selectors import ledger_verify
    from payments.payouts.models import PayoutEvent
    from payments.processors.sandbox import models as sandbox_models

    remote = (
        sandbox_models.Payout.objects.filter(metadata__payout_id__in=[str(i) for i in payout_ids])
        .values("metadata__payout_id")
        .annotate(n=Count("id"))
    )
    assert sorted(int(r["metadata__payout_id"]) for r in remote) == sorted(payout_ids)
    assert {r["n"] for r in remote} == {1}
    paid = PayoutEvent.objects.filter(payout_id__in=payout_ids, to_status="paid")
    assert sorted(paid.values_list("payout_id", flat=True)) == sorted(payout_ids)
    keys = [f"payout:{pk}:{what}" for pk in payout_ids for what in ("paid", "settle")]
    assert Entry.objects.filter(idempotency_key__in=keys).count() == len(keys)
    report = ledger_verify(hold_max_age=timedelta(days=1))
    assert report.ok, report.findings
