"""Stable error codes of the wallet area (the API renders them as
``{"error": {"code", "message", "details"}}``).

The payer's rules live in ``payments.wallets.payer`` and their errors here, once, for every
money flow (transfers, requests, creators, FX, payouts): ``account_frozen``,
``verification_required``, ``limit_exceeded``, and the card errors ``card_declined`` /
``processor_unavailable``. Other areas import them from here (their ``errors`` modules
re-export them); none defines its own copy.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError, NotFound, PermissionDenied, ValidationFailed
from ledger import errors as ledger_errors


class RecipientNotFound(NotFound):
    # One answer for unknown, deactivated and blocking (or blocked) people, so that the
    # answer reveals nothing about who exists or who blocked whom.
    code = "recipient_not_found"
    default_message = _("There is nobody you can pay with this handle.")


class AccountFrozen(PermissionDenied):
    code = "account_frozen"
    default_message = _("Your account is frozen: it cannot send money. Contact support.")


class VerificationRequired(PermissionDenied):
    code = "verification_required"
    default_message = _("Only verified accounts can be paid out.")


class LimitExceeded(DomainError):
    code = "limit_exceeded"
    status = 422
    default_message = _("This payment is over your limits.")


class VelocityExceeded(LimitExceeded):
    # 429: not stored by the idempotency layer, so the same key can be retried later.
    status = 429
    default_message = _("Too many payments in a short time. Wait a minute and try again.")


class AccountsMustBeDifferent(ledger_errors.AccountsMustBeDifferent):
    # The ledger's code, said the way a person paying reads it.
    default_message = _("You cannot pay yourself.")


class InvalidNote(ValidationFailed):
    code = "invalid_note"
    default_message = _("The note must be at most 140 characters, without control characters.")


class InvalidPaymentMethod(ValidationFailed):
    code = "invalid_payment_method"
    default_message = _("Choose a card token from the processor (such as pm_card_visa).")


class CardDeclined(DomainError):
    code = "card_declined"
    status = 402
    default_message = _("The card was declined; nothing was charged.")


class ProcessorUnavailable(DomainError):
    code = "processor_unavailable"
    status = 503
    default_message = _("The card processor is not reachable right now. Try again shortly.")


class TopUpNotFound(NotFound):
    code = "not_found"
    default_message = _("No such top-up.")


class TransferNotFound(NotFound):
    code = "not_found"
    default_message = _("No such transfer.")


class PaymentNotFound(NotFound):
    code = "not_found"
    default_message = _("No such payment.")


class RequestNotFound(NotFound):
    code = "not_found"
    default_message = _("No such request.")


class InvalidState(DomainError):
    code = "invalid_state"
    status = 409
    default_message = _("This cannot be done in the object's current state.")


class AmountNotPositive(ledger_errors.AmountMustBePositive):
    # The ledger's code; a bad input of the caller's, so 400 as for every validation error.
    status = 400
    default_message = _("The amount must be a positive whole number of minor units.")
