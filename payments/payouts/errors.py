"""Stable error codes of payouts (``core.exceptions.DomainError`` subclasses).

The payer's errors (``account_frozen``, ``verification_required``) and
``processor_unavailable`` are the wallet's, re-exported here."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, NotFound, ValidationFailed
from payments.wallets.errors import (  # noqa: F401 - re-exported
    AccountFrozen,
    ProcessorUnavailable,
    VerificationRequired,
)


class PayoutNotFound(NotFound):
    code = "payout_not_found"
    default_message = _("No such payout.")


class NoPayoutDestination(Conflict):
    code = "no_payout_destination"
    default_message = _("Add a bank account before requesting a payout.")


class PayoutDestinationOnHold(Conflict):
    code = "payout_destination_on_hold"
    default_message = _("Your bank account was changed recently; payouts resume after the hold.")


class InvalidPayoutMethod(ValidationFailed):
    code = "invalid_payout_method"
    default_message = _("The method is standard or instant.")


class InvalidBankAccount(ValidationFailed):
    code = "invalid_bank_account"
    default_message = _("That bank account could not be attached.")


class IllegalPayoutTransition(Conflict):
    code = "illegal_payout_transition"
    default_message = _("A payout cannot change to that status from its current one.")


class PayoutRequestExpired(Conflict):
    code = "payout_request_expired"
    default_message = _("This payout request expired; send it again with a new key.")


class InvalidBankDetails(InvalidBankAccount):
    """Bank details that do not fit the country's format; ``details["fields"]`` maps each
    refused input to its reason (``payments.payouts.bank_formats.BANK_FIELD_ERRORS``)."""

    code = "invalid_bank_details"
    default_message = _("Some bank details are not right. Check the marked fields.")


class PayoutCurrencyMismatch(ValidationFailed):
    """A payout in another currency than its bank account's (``details["currency"]``)."""

    code = "payout_currency_mismatch"
    status = 422
    default_message = _(
        "Payouts to this bank account are in its currency; convert from your wallet first."
    )


class PayoutQuoteMismatch(Conflict):
    """A conversion quote that does not pay for this payout (other amount or currency)."""

    code = "payout_quote_mismatch"
    default_message = _("This exchange quote does not match the payout. Review it again.")


class InvalidPayoutCard(ValidationFailed):
    """A card token the processor does not know, or a card it cannot pay out to."""

    code = "invalid_payout_card"
    default_message = _("That card could not be added.")


class PayoutCardNotDebit(InvalidPayoutCard):
    """A credit or prepaid card: payouts go to debit cards only."""

    code = "payout_card_not_debit"
    default_message = _("Payouts go to debit cards only; this card is not one.")


class InstantPayoutUnavailable(ValidationFailed):
    """Instant payouts need an active debit card that the processor pays instantly."""

    code = "instant_payout_unavailable"
    status = 422
    default_message = _("Instant payouts go to a debit card. Add one, or choose standard.")
