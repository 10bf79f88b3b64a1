"""Stable error codes of the creator flows (``core.exceptions.DomainError`` subclasses).

Errors that belong to another domain are re-exported, never copied: the payer's and the
card's from ``payments.wallets.errors``, the post's from ``posts.services``, the generic
``invalid_choice`` from ``core.exceptions``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, DomainError, NotFound, ValidationFailed
from core.exceptions import InvalidChoice as InvalidChoice
from payments.wallets.errors import AccountFrozen as AccountFrozen
from payments.wallets.errors import CardDeclined as CardDeclined
from payments.wallets.errors import ProcessorUnavailable as ProcessorUnavailable
from posts.services import NotYourPost as NotYourPost
from posts.services import PostNotFound as PostNotFound


class CannotPaySelf(DomainError):
    code = "cannot_pay_self"
    status = 422
    default_message = _("You cannot pay yourself.")


class CreatorNotFound(NotFound):
    code = "not_found"
    default_message = _("No such person.")


class ProductNotFound(NotFound):
    code = "not_found"
    default_message = _("No such product.")


class OrderNotFound(NotFound):
    code = "not_found"
    default_message = _("No such order.")


class TierNotFound(NotFound):
    code = "not_found"
    default_message = _("No such membership tier.")


class MembershipNotFound(NotFound):
    code = "not_found"
    default_message = _("No such membership.")


class PostNotForSale(Conflict):
    code = "post_not_paid"
    default_message = _("This post has no locked content for sale.")


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = _("Not enough of this product is left.")


class InvalidQuantity(ValidationFailed):
    code = "invalid_quantity"
    default_message = _("The quantity must be a whole number from 1 to 100.")


class ShippingAddressRequired(ValidationFailed):
    code = "shipping_address_required"
    default_message = _("A physical product needs a shipping address.")


class OrderStateConflict(Conflict):
    code = "order_state_conflict"
    default_message = _("The order is not in a state that allows this.")


class RefundTooLarge(DomainError):
    code = "refund_exceeds_escrow"
    status = 422
    default_message = _("The refund is larger than what is still held for this order.")


class AmountOutOfRange(ValidationFailed):
    code = "amount_out_of_range"
    default_message = _("The amount is outside the allowed range.")


class AlreadyMember(Conflict):
    code = "already_member"
    default_message = _("You already have a membership with this creator.")


class PaymentFailed(DomainError):
    code = "payment_failed"
    status = 402
    default_message = _("The payment did not go through.")


# --- guest payments by card -------------------------------------------------------------------
class InvalidEmail(ValidationFailed):
    code = "invalid_email"
    default_message = _("Enter a valid e-mail address for your receipt.")


class GuestCardLimited(DomainError):
    # 429: nothing is stored, so the same form can be sent again once the window passed.
    code = "guest_card_limited"
    status = 429
    default_message = _("This card was used for too many payments recently. Try again later.")


class GuestIpLimited(DomainError):
    code = "guest_ip_limited"
    status = 429
    default_message = _("Too many card payments from this network recently. Try again later.")


class GuestTipCapExceeded(DomainError):
    code = "guest_tip_cap"
    status = 422
    default_message = _(
        "Tips by card without an account are capped. Sign up to tip more, or tip less."
    )


class GuestPaymentNotFound(NotFound):
    code = "not_found"
    default_message = _("No such payment.")


class GuestAccessInvalid(DomainError):
    code = "guest_access_invalid"
    status = 403
    default_message = _("This access link is not valid.")


class GuestAccessExpired(DomainError):
    code = "guest_access_expired"
    status = 410
    default_message = _("This access link has expired. Sign up with your e-mail to see it.")
