"""``{% wallet_balance "USD" %}``: the signed-in person's spendable balance in a currency,
as a line that refreshes itself (htmx) whenever a money action on the page answers with
the ``balanceChanged`` event."""

from __future__ import annotations

from django import template

from core.exceptions import DomainError
from payments.wallets.models import Visibility
from payments.wallets.selectors import wallet_available

register = template.Library()


@register.inclusion_tag("payments/wallet/_balance.html", takes_context=True)
def wallet_balance(context, currency: str = ""):
    user = context["request"].user
    if not user.is_authenticated:
        return {"balance": None}
    try:
        balance = wallet_available(user=user, currency=currency or user.home_currency)
    except DomainError:
        balance = None
    return {"balance": balance}


@register.filter
def visibility_label(value: str) -> str:
    """``{{ item.visibility|visibility_label }}``: who sees a payment, in words."""
    try:
        return str(Visibility(value).label)
    except ValueError:
        return ""
