"""Random sequences of postings, holds, posts, voids, reversals and folds against a simple
reference model; after every step the ledger agrees with the model and its invariants hold."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from core.exceptions import DomainError
from core.money import Money
from ledger import chart
from ledger.selectors import balance_of, ledger_verify
from ledger.services import (
    balance_deltas_fold,
    credit,
    debit,
    entry_post,
    entry_reverse,
    hold_create,
    hold_post,
    hold_void,
)

pytestmark = pytest.mark.django_db

_users = itertools.count(1000, 10)
_keys = itertools.count(1)
USERS = st.integers(min_value=0, max_value=2)
AMOUNTS = st.integers(min_value=1, max_value=600)
FEES = chart.fees_key("USD")
CLEARING = chart.processor_clearing_key("sandbox", "USD")


def usd(amount: int) -> Money:
    return Money(amount, "USD")


def key() -> str:
    return f"sm-{next(_keys)}"


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        base = next(_users)
        self.wallets = [chart.wallet_key(base + i, "USD") for i in range(3)]
        self.posted = [0, 0, 0]
        self.reserved = [0, 0, 0]
        self.fees = balance_of(account=FEES).posted.amount if self._exists(FEES) else 0
        self.holds: list[list] = []  # [hold, user, amount, status]
        self.entries: list[tuple] = []  # (entry, {account: change}, idempotency key, legs)
        self.reversed: set[int] = set()

    @staticmethod
    def _exists(account: str) -> bool:
        try:
            balance_of(account=account)
        except DomainError:
            return False
        return True

    def available(self, user: int) -> int:
        return self.posted[user] - self.reserved[user]

    def _book(self, legs, changes, code="transfer"):
        k = key()
        entry = entry_post(code=code, idempotency_key=k, postings=legs)
        self._apply(changes)
        self.entries.append((entry, changes, k, legs))
        return entry

    def _apply(self, changes, sign=1):
        for account, change in changes.items():
            if account == FEES:
                self.fees += sign * change
            elif account in self.wallets:
                self.posted[self.wallets.index(account)] += sign * change

    @rule(user=USERS, amount=AMOUNTS)
    def top_up(self, user, amount):
        self._book(
            [debit(CLEARING, usd(amount)), credit(self.wallets[user], usd(amount))],
            {self.wallets[user]: amount},
            code="topup",
        )

    @rule(src=USERS, dst=USERS, amount=AMOUNTS, with_fee=st.booleans())
    def pay(self, src, dst, amount, with_fee):
        a, b = self.wallets[src], self.wallets[dst]
        fee = amount // 10 if with_fee else 0
        legs = [debit(a, usd(amount)), credit(b, usd(amount - fee))]
        if fee:
            legs.append(credit(FEES, usd(fee)))
        try:
            self._book(legs, {a: -amount, b: amount - fee, FEES: fee})
        except DomainError as exc:
            if src == dst:
                assert exc.code == "accounts_must_be_different"
            else:
                assert exc.code == "insufficient_funds"
                assert self.available(src) < amount
        else:
            assert src != dst and self.available(src) >= 0

    @rule(user=USERS, amount=AMOUNTS)
    def reserve(self, user, amount):
        try:
            hold = hold_create(
                code="payout",
                idempotency_key=key(),
                postings=[
                    debit(self.wallets[user], usd(amount)),
                    credit(chart.payouts_in_transit_key("USD"), usd(amount)),
                ],
            )
        except DomainError as exc:
            assert exc.code == "insufficient_funds" and self.available(user) < amount
        else:
            assert self.available(user) >= amount
            self.reserved[user] += amount
            self.holds.append([hold, user, amount, "pending"])

    @rule(index=st.integers(min_value=0, max_value=50), post=st.booleans())
    def resolve(self, index, post):
        if not self.holds:
            return
        record = self.holds[index % len(self.holds)]
        hold, user, amount, status = record
        try:
            if post:
                hold_post(hold=hold, idempotency_key=key())
            else:
                hold_void(hold=hold)
        except DomainError as exc:
            assert exc.code == "hold_already_resolved"
            assert status == "posted" or (status == "voided" and post)
            return
        if status == "voided":
            assert not post  # voiding a voided hold is a no-op
            return
        assert status == "pending"
        self.reserved[user] -= amount
        if post:
            self.posted[user] -= amount
        record[3] = "posted" if post else "voided"

    @rule(index=st.integers(min_value=0, max_value=50))
    def reverse(self, index):
        if not self.entries:
            return
        entry, changes, _, _ = self.entries[index % len(self.entries)]
        try:
            entry_reverse(entry=entry, idempotency_key=f"rev-{entry.pk}")
        except DomainError as exc:
            if entry.pk in self.reversed:
                pytest.fail("a replayed reversal must return the original")
            assert exc.code == "insufficient_funds"
            assert any(
                self.available(self.wallets.index(a)) < change
                for a, change in changes.items()
                if a in self.wallets and change > 0
            )
            return
        if entry.pk not in self.reversed:
            self._apply(changes, sign=-1)
            self.reversed.add(entry.pk)

    @rule(index=st.integers(min_value=0, max_value=50))
    def replay(self, index):
        if not self.entries:
            return
        entry, _, k, legs = self.entries[index % len(self.entries)]
        assert entry_post(code=entry.code, idempotency_key=k, postings=legs).pk == entry.pk

    @rule()
    def fold(self):
        balance_deltas_fold()

    @invariant()
    def ledger_matches_the_model(self):
        for user, account in enumerate(self.wallets):
            if not self._exists(account):
                assert self.posted[user] == 0
                continue
            balance = balance_of(account=account)
            assert balance.posted.amount == self.posted[user]
            assert balance.pending_out.amount == self.reserved[user]
            assert balance.available.amount >= 0
        if self._exists(FEES):
            assert balance_of(account=FEES).posted.amount == self.fees

    def teardown(self):
        assert ledger_verify(hold_max_age=timedelta(days=1)).findings == []


def test_ledger_against_a_reference_model():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
