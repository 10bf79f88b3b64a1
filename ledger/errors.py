"""The ledger's domain errors. Codes are stable; callers (the wallet API) map them.

Statuses: 422 for a request that is well-formed but cannot be booked (insufficient funds is
422, not 402: 402 is reserved for the card processor declining a payment); 409 for a
conflict with the current state (a hold already resolved, an entry already reversed); 404
for an account that does not exist. ``currency_mismatch`` is ``core.money.CurrencyMismatch``
so that Money arithmetic and the ledger report it with one code.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError
from core.money import CurrencyMismatch

__all__ = [
    "AccountConflict",
    "AccountNotFound",
    "AccountsMustBeDifferent",
    "AmountMustBePositive",
    "CurrencyMismatch",
    "EntryAlreadyReversed",
    "EntryNotReversible",
    "HoldAlreadyResolved",
    "IdempotencyKeyReused",
    "InsufficientFunds",
    "InvalidEntry",
    "LedgerError",
    "UnbalancedEntry",
]


class LedgerError(DomainError):
    status = 422


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    default_message = _("Insufficient funds.")


class UnbalancedEntry(LedgerError):
    code = "unbalanced_entry"
    default_message = _("The postings must sum to zero in every currency and be at least two.")


class AccountsMustBeDifferent(LedgerError):
    code = "accounts_must_be_different"
    default_message = _("An account may appear only once in an entry.")


class AmountMustBePositive(LedgerError):
    code = "amount_must_be_positive"
    default_message = _("Every amount must be a positive number of minor units.")


class IdempotencyKeyReused(LedgerError):
    code = "idempotency_key_reused"
    default_message = _("This idempotency key was already used for different content.")


class InvalidEntry(LedgerError):
    code = "invalid_entry"
    default_message = _("The entry is malformed.")


class AccountNotFound(LedgerError):
    code = "account_not_found"
    status = 404
    default_message = _("No such ledger account.")


class AccountConflict(LedgerError):
    code = "account_conflict"
    status = 409
    default_message = _("An account with this key exists with other attributes.")


class HoldAlreadyResolved(LedgerError):
    code = "hold_already_resolved"
    status = 409
    default_message = _("This hold was already posted or voided.")


class EntryAlreadyReversed(LedgerError):
    code = "entry_already_reversed"
    status = 409
    default_message = _("This entry was already reversed.")


class EntryNotReversible(LedgerError):
    code = "entry_not_reversible"
    status = 409
    default_message = _("A reversal cannot itself be reversed; post a new entry.")
