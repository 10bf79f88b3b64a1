"""Who may pay, and when they must prove it is them: the one rule every outgoing payment
checks — P2P transfers, request payments, tips (wallet and card), unlocks, orders,
memberships and payouts. FX sends and payout destination changes use the same step-up
decision (``stepup_required``).

``payer_check`` runs inside the payment's own transaction, before anything is written:

1. **Fresh and locked.** The payer's ``accounts_user`` row is read with ``FOR SHARE`` —
   never the request's cached ``User``, which may be minutes old. A staff freeze is an
   UPDATE of that row: it waits for the payments already past this point, and every
   payment after it sees the account frozen. ``FOR SHARE`` and not ``FOR UPDATE``: two
   payments of one person do not wait for each other here (those that count against the
   limits queue on the ``SendLimit`` row in step 4).
2. **Frozen** accounts pay nothing: ``account_frozen`` (403). **Verification** where the
   flow needs it (payouts): ``verification_required`` (403), from the fresh tier.
3. **Limits** (wallet sends): the per-payment maximum of the fresh tier,
   ``limit_exceeded`` (422).
4. **Step-up**: a payment above ``WALLET_REAUTH_ABOVE`` (minor units of the limits
   currency, converted like the limits) needs a proof of identity newer than
   ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` — a re-authenticated token or session
   (``accounts.reauth``): ``reauthentication_required`` (403). It comes after the refusals
   above, so nobody re-authenticates for a payment that would be refused anyway.
   Pages catch it and send the person to re-authenticate and back with what they typed
   (``payments.wallets.stepup``).
5. **Reservation** (``reserve=True``): the weekly and velocity limits, reserved on the
   payer's ``SendLimit`` row (``limits.limits_reserve``, a row lock until commit). The
   reservation is made in the same statement as step 1's read (one round trip; P2P
   transfers go further and reserve in the statement that inserts the transfer), so it
   is made before steps 2 to 4 judge the row: a refusal raises, and the payment's
   transaction rolls the reservation back with everything else, as it already did for a
   refused limit. A frozen payer reserves nothing.

``reauthenticated`` is what the caller proved: ``True``/``False`` from a request
(``payer_reauthenticated(request)``, passed by every page and API entry point), ``None``
when no person is present (a membership renewal, a scheduled payout): nobody can be asked,
and the person authorised it when setting it up.

Lock order of every money flow: the payer's user row (share), then its ``SendLimit`` row,
then the rows the flow writes, then the ledger's account rows (the ledger locks last). A
flow that decides on a row of its own first (a money request, a membership renewal) locks
that row before the payer's; nothing locks them the other way round.

Raises: ``AccountFrozen``, ``VerificationRequired``, ``LimitExceeded``,
``VelocityExceeded``, ``ReauthenticationRequired``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from accounts.reauth import ReauthenticationRequired, is_recently_authenticated
from core.money import Money
from payments.wallets.errors import AccountFrozen, VerificationRequired
from payments.wallets.limits import (
    RESERVE_UPDATE_SQL,
    limit_amount,
    limits_check_amount,
    limits_check_reserved,
    limits_reserve,
    reserve_params,
)

VERIFIED = "verified"

#: The fresh, locked read of step 1. ``%(payer)s`` is the payer's id. P2P transfers embed it
#: in the statement that inserts the transfer (one round trip); everyone else runs it alone.
PAYER_ROW_SQL = (
    "SELECT is_frozen, verification_tier FROM accounts_user WHERE id = %(payer)s FOR SHARE"
)


# Steps 1 and 5 in one round trip (``payer_check`` with ``reserve``): the payer's row,
# locked, and the reservation, made only for a payer who is not frozen. No SendLimit row
# yet (a first payment ever) gives NULLs for the reservation's columns.
_PAYER_ROW_AND_RESERVE_SQL = f"""
WITH p AS ({PAYER_ROW_SQL}
), l AS (
    {RESERVE_UPDATE_SQL} AND NOT (SELECT is_frozen FROM p)
    RETURNING week_used, minute_count
)
SELECT p.is_frozen, p.verification_tier, l.week_used, l.minute_count
FROM p LEFT JOIN l ON true
"""  # noqa: S608


@dataclass(frozen=True, slots=True)
class Payer:
    """The payer as the database says now (read under the lock of ``payer_check``)."""

    id: int
    verification_tier: str
    counted: int  # the payment in minor units of the limits currency (0 without an amount)


def payer_reauthenticated(request) -> bool:
    """What a page or API request proved: a re-authentication within the window."""
    return is_recently_authenticated(request)


def stepup_required(*, counted: int | None, reauthenticated: bool | None) -> bool:
    """The step-up decision, for every payment kind. ``counted`` is the amount in minor
    units of the limits currency (``limits.limit_amount``); ``None`` is an action that
    always needs a proof (changing where payouts go)."""
    if reauthenticated is None or reauthenticated:
        return False
    return counted is None or counted > settings.WALLET_REAUTH_ABOVE


def stepup_check(*, counted: int | None, reauthenticated: bool | None) -> None:
    """Raise ``ReauthenticationRequired`` (403) when ``stepup_required``."""
    if stepup_required(counted=counted, reauthenticated=reauthenticated):
        raise ReauthenticationRequired()


def payer_rules(
    *,
    payer_id: int,
    row: tuple[bool, str] | None,
    counted: int | None,
    reauthenticated: bool | None,
    check_limits: bool = False,
    require_verified: bool = False,
) -> Payer:
    """Steps 2 to 4 on ``row`` (``is_frozen``, ``verification_tier``), read by
    ``PAYER_ROW_SQL`` in the current transaction; ``None`` when there was no such row."""
    if row is None or row[0]:
        raise AccountFrozen()
    tier = row[1]
    if require_verified and tier != VERIFIED:
        raise VerificationRequired()
    if check_limits and counted is not None:
        limits_check_amount(tier=tier, amount=counted)
    if counted is not None:
        stepup_check(counted=counted, reauthenticated=reauthenticated)
    return Payer(id=payer_id, verification_tier=tier, counted=counted or 0)


def payer_check(
    *,
    payer_id: int,
    money: Money | None,
    reauthenticated: bool | None,
    check_limits: bool = False,
    reserve: bool = False,
    require_verified: bool = False,
    counted: int | None = None,
) -> Payer:
    """May ``payer_id`` pay ``money`` now? See the module docstring for the steps.

    Must run inside the payment's transaction (it locks until that transaction ends).
    ``check_limits``: the per-payment maximum; ``reserve``: also reserve the weekly and
    velocity limits (implies ``check_limits``). ``counted``: the amount already in the limits
    currency, for a caller that converts at rates of its own (FX at the quote's rates);
    otherwise ``money`` is converted like every wallet payment.
    Locks: the payer's user row (share), with ``reserve`` its ``SendLimit`` row.
    """
    assert connection.in_atomic_block, "payer_check runs inside the payment's transaction"
    if counted is None and money:
        counted = limit_amount(money)
    with connection.cursor() as cur:
        if reserve:
            params = reserve_params(user_id=payer_id, amount=counted or 0)
            params["payer"] = payer_id
            cur.execute(_PAYER_ROW_AND_RESERVE_SQL, params)
        else:
            cur.execute(PAYER_ROW_SQL, {"payer": payer_id})
        row = cur.fetchone()
    payer = payer_rules(
        payer_id=payer_id,
        row=row[:2] if row is not None else None,
        counted=counted,
        reauthenticated=reauthenticated,
        check_limits=check_limits or reserve,
        require_verified=require_verified,
    )
    if reserve:
        if row[2] is None:  # the first payment ever: no SendLimit row to reserve on yet
            limits_reserve(user_id=payer_id, tier=payer.verification_tier, amount=payer.counted)
        else:
            limits_check_reserved(
                tier=payer.verification_tier,
                amount=payer.counted,
                week_used=row[2],
                minute_count=row[3],
            )
    return payer
