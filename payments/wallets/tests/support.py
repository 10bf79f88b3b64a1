"""Helpers for the wallet tests: people, API clients and funded wallets, all made through
the services (a funded wallet is a real sandbox top-up settled as its webhook would)."""

from __future__ import annotations

import itertools
import uuid

from rest_framework.test import APIClient

from accounts.services import token_create, user_signup
from core.money import Money
from ledger.models import Entry
from payments.wallets import topups

_counter = itertools.count(1)
PASSWORD = "correct horse battery staple"


def person(handle: str | None = None, **fields):
    handle = handle or f"w{uuid.uuid4().hex[:6]}{next(_counter)}"
    user = user_signup(handle=handle, email=f"{handle}@example.com", password=PASSWORD)
    if fields:
        for name, value in fields.items():
            setattr(user, name, value)
        user.save(update_fields=list(fields))
    return user


def api(user) -> APIClient:
    client = APIClient()
    _, secret = token_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def key() -> str:
    return uuid.uuid4().hex


def fund(user, amount: int, currency: str = "USD"):
    """Top up by card (sandbox ``pm_card_visa``) and settle it like the webhook does."""
    topup = topups.topup_create(
        user=user,
        money=Money(amount, currency),
        payment_method="pm_card_visa",
        client_key=f"test:{uuid.uuid4().hex}",
    )
    return topups.topup_settle(topup_id=topup.pk, payment_id=topup.payment_id)


def postings(entry_id: int) -> list[tuple[str, str, int]]:
    entry = Entry.objects.get(pk=entry_id)
    return [
        (p.account.key, p.direction, p.amount)
        for p in entry.postings.select_related("account").order_by("id")
    ]


def generous_throttles(monkeypatch) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict(SimpleRateThrottle.THROTTLE_RATES)
    rates.update({k: "100000/min" for k in ("anon", "user", "auth", "money")})
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
