"""Send limits: per tier (unverified / verified) a weekly amount and a per-transfer maximum,
plus a velocity limit (transfers per minute). Values live in settings (``WALLET_LIMITS``).

Amounts are counted in ``WALLET_LIMITS_CURRENCY`` (minor units); other currencies are
converted with ``WALLET_LIMIT_RATES`` and rounded up, so a limit can never be dodged by
paying in small amounts of another currency.

Concurrency: ``limits_reserve`` checks and reserves in ONE ``UPDATE`` of the sender's
``SendLimit`` row. The UPDATE takes the row lock and PostgreSQL re-reads the latest
committed version before applying it, so twenty concurrent transfers of one person are
applied one after the other and together can never pass the weekly limit: the one that
would cross it sees the others' reservations and its transaction rolls back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import EXPONENTS, Money, UnsupportedCurrency
from payments.wallets.errors import LimitExceeded, VelocityExceeded


@dataclass(frozen=True, slots=True)
class Limits:
    tier: str
    currency: str
    weekly_send: int
    per_transfer: int
    week_used: int
    week_resets_at: dt.datetime
    transfers_per_minute: int

    @property
    def weekly_remaining(self) -> int:
        return max(self.weekly_send - self.week_used, 0)

    def as_dict(self) -> dict:
        def money(amount: int) -> dict:
            return {"amount": amount, "currency": self.currency}

        return {
            "tier": self.tier,
            "weekly_send": money(self.weekly_send),
            "weekly_used": money(self.week_used),
            "weekly_remaining": money(self.weekly_remaining),
            "per_transfer": money(self.per_transfer),
            "week_resets_at": self.week_resets_at,
            "transfers_per_minute": self.transfers_per_minute,
            "payouts_allowed": self.tier == "verified",
        }


def tier_limits(tier: str) -> dict[str, int]:
    return settings.WALLET_LIMITS.get(tier) or settings.WALLET_LIMITS["unverified"]


def limit_amount(money: Money) -> int:
    """``money`` in minor units of the limits currency, rounded up."""
    target = settings.WALLET_LIMITS_CURRENCY
    if money.currency == target:
        return money.amount
    rate_text = settings.WALLET_LIMIT_RATES.get(money.currency)
    if rate_text is None:
        raise UnsupportedCurrency(details={"currency": money.currency})
    rate = Decimal(rate_text)
    scaled = Decimal(money.amount) * rate * Decimal(10) ** (EXPONENTS[target] - money.exponent)
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


def _week_start(now: dt.datetime) -> dt.date:
    today = now.astimezone(dt.UTC).date()
    return today - dt.timedelta(days=today.weekday())


def limits_check_amount(*, tier: str, amount: int) -> None:
    """The per-transfer maximum (no lock needed). Raises ``LimitExceeded``."""
    per_transfer = tier_limits(tier)["per_transfer"]
    if amount > per_transfer:
        raise LimitExceeded(
            _("This payment is over your per-payment limit."),
            details={
                "limit": "per_transfer",
                "max": {"amount": per_transfer, "currency": settings.WALLET_LIMITS_CURRENCY},
            },
        )


# The reservation as one UPDATE (named parameters: week, amount, minute_ago, now, user).
# ``transfers`` runs it inside the same statement as the transfer's INSERT.
RESERVE_UPDATE_SQL = """
UPDATE payments_sendlimit SET
    week_used = CASE WHEN week_start = %(week)s THEN week_used ELSE 0 END + %(amount)s,
    week_start = %(week)s,
    minute_count = CASE WHEN minute_start > %(minute_ago)s THEN minute_count ELSE 0 END + 1,
    minute_start = CASE WHEN minute_start > %(minute_ago)s THEN minute_start ELSE %(now)s END
WHERE user_id = %(user)s
"""
_RESERVE_SQL = RESERVE_UPDATE_SQL + " RETURNING week_used, minute_count"


def reserve_params(*, user_id: int, amount: int) -> dict:
    now = timezone.now()
    return {
        "week": _week_start(now),
        "amount": amount,
        "minute_ago": now - dt.timedelta(minutes=1),
        "now": now,
        "user": user_id,
    }


def limits_row_create(*, user_id: int) -> None:
    """Make sure the user's ``SendLimit`` row exists (first payment ever)."""
    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO payments_sendlimit (user_id, week_start, week_used, minute_start,"
            " minute_count) VALUES (%s, %s, 0, %s, 0) ON CONFLICT (user_id) DO NOTHING",
            [user_id, _week_start(now), now],
        )


def limits_reserve(*, user_id: int, tier: str, amount: int) -> None:
    """Count ``amount`` (limits currency) against the user's week and this minute.

    Must run inside the caller's transaction (``transaction.atomic``); it locks the user's
    ``SendLimit`` row until that transaction ends. Raises ``LimitExceeded`` (weekly) or
    ``VelocityExceeded``; the caller's transaction must then roll back (raising does that).
    """
    assert connection.in_atomic_block, "limits_reserve runs inside the caller's transaction"
    params = reserve_params(user_id=user_id, amount=amount)
    with connection.cursor() as cur:
        cur.execute(_RESERVE_SQL, params)
        row = cur.fetchone()
        if row is None:
            limits_row_create(user_id=user_id)
            cur.execute(_RESERVE_SQL, params)
            row = cur.fetchone()
    limits_check_reserved(tier=tier, amount=amount, week_used=row[0], minute_count=row[1])


def limits_check_reserved(*, tier: str, amount: int, week_used: int, minute_count: int) -> None:
    """Raise if a reservation just made (``week_used`` and ``minute_count`` include it) is
    over the limits; the caller's transaction must then roll back."""
    limits = tier_limits(tier)
    if minute_count > settings.WALLET_TRANSFERS_PER_MINUTE:
        raise VelocityExceeded(
            details={"limit": "velocity", "per_minute": settings.WALLET_TRANSFERS_PER_MINUTE}
        )
    if week_used > limits["weekly_send"]:
        remaining = max(limits["weekly_send"] - (week_used - amount), 0)
        raise LimitExceeded(
            _("This payment is over what you can still send this week."),
            details={
                "limit": "weekly_send",
                "remaining": {"amount": remaining, "currency": settings.WALLET_LIMITS_CURRENCY},
            },
        )


def limits_release(*, user_id: int, amount: int, reserved_at: dt.datetime) -> None:
    """Give back a reservation whose payment did not happen (same week only).

    Runs inside the caller's transaction and locks the ``SendLimit`` row."""
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE payments_sendlimit SET week_used = greatest(week_used - %s, 0)"
            " WHERE user_id = %s AND week_start = %s",
            [amount, user_id, _week_start(reserved_at)],
        )


def limits_summary(*, user) -> Limits:
    """What the user may send and what is left this week (no lock)."""
    now = timezone.now()
    week = _week_start(now)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT week_start, week_used FROM payments_sendlimit WHERE user_id = %s", [user.pk]
        )
        row = cur.fetchone()
    used = int(row[1]) if row and row[0] == week else 0
    limits = tier_limits(user.verification_tier)
    resets = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(), tzinfo=dt.UTC)
    return Limits(
        tier=user.verification_tier,
        currency=settings.WALLET_LIMITS_CURRENCY,
        weekly_send=limits["weekly_send"],
        per_transfer=limits["per_transfer"],
        week_used=used,
        week_resets_at=resets,
        transfers_per_minute=settings.WALLET_TRANSFERS_PER_MINUTE,
    )
