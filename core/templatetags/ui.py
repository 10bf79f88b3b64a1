"""Template helpers of the shared components (``templates/components/``): money in the
reader's language and the human sentence for an error code."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.translation import get_language, pgettext_lazy, to_locale
from django.utils.translation import gettext_lazy as _

from core import error_messages
from core.exceptions import DomainError
from core.money import Money

register = template.Library()


def _locale() -> str:
    return to_locale(get_language() or "en")


@register.simple_tag
def money_text(value=None, amount=None, currency=None) -> str:
    """A ``Money`` or minor units plus a currency, formatted for the active language:
    ``{% money_text quote.fee %}``, ``{% money_text amount=p.amount currency=p.currency %}``."""
    if not isinstance(value, Money):
        try:
            value = Money(int(amount), currency)
        except (TypeError, ValueError, DomainError):
            return ""
    try:
        return value.format(locale=_locale())
    except (ValueError, LookupError):
        return value.format()


@register.simple_tag
def money_abs(value: Money) -> str:
    """The size of a movement without its sign (the template shows the sign itself)."""
    return money_text(Money(abs(value.amount), value.currency))


@register.filter
def human_error(error) -> str:
    """``{{ error|human_error }}``: the catalogue's sentence for a ``DomainError`` or code."""
    return error_messages.error_message(error) if error else ""


@register.filter
def decline_reason(decline_code: str) -> str:
    """``{{ topup.decline_code|decline_reason }}``: why a card was declined, for people."""
    return error_messages.decline_message(decline_code or "")


@register.filter
def payout_failure(failure_code: str) -> str:
    """``{{ payout.failure_code|payout_failure }}``: why the bank returned a payout."""
    return error_messages.payout_failure_message(failure_code or "")


@register.simple_tag
def review_lines(*args):
    """Pairs for the review table of ``components/confirm.html``:
    ``{% review_lines _("Amount") quote.amount _("Fee") quote.fee as lines %}``."""
    if len(args) % 2:
        raise template.TemplateSyntaxError("review_lines takes label/value pairs")
    return [(args[i], args[i + 1]) for i in range(0, len(args), 2)]


@register.simple_tag
def icon(name: str, label: str = "") -> str:
    """An icon from the vendored Lucide sprite: ``{% icon "wallet" %}``. Decorative unless a
    ``label`` is given (then it is the icon's spoken name). The sprite is one cached file,
    so a page pays a few bytes per icon, not the icon's paths."""
    href = f"{static('icons/sprite.svg')}#{name}"
    if label:
        return format_html(
            '<svg class="icon" role="img" aria-label="{}" focusable="false">'
            '<use href="{}"></use></svg>',
            label,
            href,
        )
    return format_html(
        '<svg class="icon" aria-hidden="true" focusable="false"><use href="{}"></use></svg>', href
    )


AVATAR_COLOURS = 6


@register.filter
def avatar_colour(person) -> int:
    """A stable colour slot (``avatar-c0`` … ``avatar-c5``) for a person without a picture."""
    return (getattr(person, "pk", 0) or 0) % AVATAR_COLOURS


@register.filter
def initial(person) -> str:
    """The first letter of a person's name (or handle), for the avatar placeholder."""
    name = (getattr(person, "name", "") or getattr(person, "handle", "") or "?").strip()
    return name[:1].upper() or "?"


# Statuses as people read them, in their language: the models keep lowercase codes (and
# some English labels meant for staff). A kind ("order") picks the wording of that flow.
STATUS_LABELS = {
    "pending": _("Pending"),
    "requires_action": _("Needs your action"),
    "succeeded": _("Completed"),
    "completed": _("Completed"),
    "failed": _("Failed"),
    "open": _("Open"),
    "paying": _("Paying"),
    "paid": _("Paid"),
    "declined": _("Declined"),
    "cancelled": _("Cancelled"),
    "canceled": _("Cancelled"),
    "expired": _("Expired"),
    "active": _("Active"),
    "past_due": _("Payment overdue"),
    "requested": _("Requested"),
    "submitting": _("Sending to your bank"),
    "reversed": _("Returned by the bank"),
    "shipped": _("Shipped"),
    "released": _("Completed"),
    "releasing": _("Completing"),
    "refunded": _("Refunded"),
    # kinds of things, shown beside their status
    "digital": _("Digital download"),
    "physical": _("Shipped to you"),
    "standard": _("Standard"),
    "instant": _("Instant"),
}
KIND_STATUS_LABELS = {
    ("order", "paid"): pgettext_lazy("order status", "Paid, held until delivery"),
    ("order", "shipped"): pgettext_lazy("order status", "Shipped, held until delivery"),
    ("payout", "pending"): pgettext_lazy("payout status", "On its way"),
}


@register.filter
def status_label(status: str, kind: str = "") -> str:
    """``{{ order.status|status_label:"order" }}``: a status code as a translated word."""
    label = KIND_STATUS_LABELS.get((kind, status)) or STATUS_LABELS.get(status)
    return str(label) if label is not None else str(status).replace("_", " ").capitalize()
