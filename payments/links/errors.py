"""Stable error codes of payment links. Errors of other domains are re-exported."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, DomainError, NotFound, ValidationFailed
from core.exceptions import InvalidChoice as InvalidChoice
from payments.creators.errors import CannotPaySelf as CannotPaySelf


class LinkNotFound(NotFound):
    code = "not_found"
    default_message = _("No such payment link.")


class LinkInactive(DomainError):
    code = "link_inactive"
    status = 410
    default_message = _("This payment link was turned off by its owner.")


class LinkExpired(DomainError):
    code = "link_expired"
    status = 410
    default_message = _("This payment link has expired.")


class LinkUsedUp(Conflict):
    code = "link_used_up"
    default_message = _("This payment link has been used as often as its owner allowed.")


class AmountBelowMinimum(DomainError):
    code = "amount_below_minimum"
    status = 422
    default_message = _("The amount is below this link's minimum.")


class InvalidExpiry(ValidationFailed):
    code = "invalid_expiry"
    default_message = _("The expiry must be a date in the future, within two years.")


class InvalidUseLimit(ValidationFailed):
    code = "invalid_use_limit"
    default_message = _("The use limit must be a whole number from 1 to 1,000,000.")


class TooManyLinks(Conflict):
    code = "too_many_links"
    default_message = _("You have too many active payment links. Turn some off first.")


class RateLimited(DomainError):
    code = "throttled"
    status = 429
    default_message = _("Too many requests. Wait a minute and try again.")


class LinkGuestUnavailable(Conflict):
    # A use-limited link counts each use in the paying transaction; a card payment is
    # settled later by the processor's webhook, so the last use could be sold twice.
    code = "link_guest_unavailable"
    default_message = _("This link can only be paid from a SocialPay wallet. Log in to pay it.")
