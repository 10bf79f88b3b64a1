"""The chart of accounts: key builders and what each key means.

Every account key names its currency last, so one key is one balance:

======================================  ==========  ============  =============================
key                                     kind        no overdraft  holds
======================================  ==========  ============  =============================
``wallet:user:{id}:{CUR}``              liability   yes           a person's spendable money
``platform:processor_clearing:{p}:{CUR}`` asset     no            money held at processor ``p``
``platform:payouts_in_transit:{CUR}``   liability   no            payouts sent, not yet settled
``platform:escrow:{CUR}``               liability   no            buyer money until delivery
``platform:fees:{CUR}``                 revenue     no            the platform's fees
``platform:processor_fees:{CUR}``       expense     no            what the processor charges us
``platform:fx:{CUR}``                   equity      no            the FX position per currency
``platform:losses:{CUR}``               expense     no            disputes and write-offs
======================================  ==========  ============  =============================

``account_spec(key)`` parses a key back into its attributes; ``ledger.services`` creates a
chart account on first use from it, so callers only ever deal in keys. Every key, and every
key prefix a query matches on, is built here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.money import currency_require_supported
from ledger.models import AccountKind

_PROCESSOR_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True, slots=True)
class AccountSpec:
    key: str
    kind: str
    currency: str
    no_overdraft: bool
    owner_id: int | None = None


#: Every person's wallet key starts with this (``wallet:user:{id}:{CUR}``).
WALLET_PREFIX = "wallet:user:"


def wallet_key(user_id: int, currency: str) -> str:
    if type(user_id) is not int or user_id <= 0:
        raise ValueError("user_id must be a positive int")
    return f"{WALLET_PREFIX}{user_id}:{currency_require_supported(currency)}"


def processor_clearing_prefix(processor: str) -> str:
    """What the clearing accounts of ``processor`` (one per currency) have in common."""
    if not _PROCESSOR_RE.fullmatch(processor):
        raise ValueError("processor must be a short lower-case name")
    return f"platform:processor_clearing:{processor}:"


def processor_clearing_key(processor: str, currency: str) -> str:
    return f"{processor_clearing_prefix(processor)}{currency_require_supported(currency)}"


def payouts_in_transit_key(currency: str) -> str:
    return f"platform:payouts_in_transit:{currency_require_supported(currency)}"


def escrow_key(currency: str) -> str:
    return f"platform:escrow:{currency_require_supported(currency)}"


def fees_key(currency: str) -> str:
    return f"platform:fees:{currency_require_supported(currency)}"


def processor_fees_key(currency: str) -> str:
    return f"platform:processor_fees:{currency_require_supported(currency)}"


def fx_key(currency: str) -> str:
    return f"platform:fx:{currency_require_supported(currency)}"


def losses_key(currency: str) -> str:
    return f"platform:losses:{currency_require_supported(currency)}"


_PLATFORM_KINDS = {
    "payouts_in_transit": AccountKind.LIABILITY,
    "escrow": AccountKind.LIABILITY,
    "fees": AccountKind.REVENUE,
    "processor_fees": AccountKind.EXPENSE,
    "fx": AccountKind.EQUITY,
    "losses": AccountKind.EXPENSE,
}

_WALLET_RE = re.compile(r"wallet:user:([1-9][0-9]{0,18}):([A-Z]{3})")
_CLEARING_RE = re.compile(r"platform:processor_clearing:([a-z][a-z0-9_]{0,31}):([A-Z]{3})")
_PLATFORM_RE = re.compile(r"platform:([a-z_]+):([A-Z]{3})")


def account_spec(key: str) -> AccountSpec | None:
    """The attributes of a chart key, or None if ``key`` is not in the chart."""
    if m := _WALLET_RE.fullmatch(key):
        return AccountSpec(key, AccountKind.LIABILITY, m[2], True, int(m[1]))
    if m := _CLEARING_RE.fullmatch(key):
        return AccountSpec(key, AccountKind.ASSET, m[2], False)
    if (m := _PLATFORM_RE.fullmatch(key)) and m[1] in _PLATFORM_KINDS:
        return AccountSpec(key, _PLATFORM_KINDS[m[1]], m[2], False)
    return None
