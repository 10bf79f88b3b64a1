"""``{% fx_wallet_total %}``: the signed-in person's balances and their total in the home
currency (``payments/fx/_wallet_total.html``), for the wallet page or any other."""

from __future__ import annotations

from django import template

from payments.fx.selectors import wallet_total_in_home_currency

register = template.Library()


@register.inclusion_tag("payments/fx/_wallet_total.html", takes_context=True)
def fx_wallet_total(context, show_balances: bool = True):
    """``show_balances=False`` gives only the total line (for a page listing balances)."""
    user = context["request"].user
    return {
        "total": wallet_total_in_home_currency(user) if user.is_authenticated else None,
        "show_balances": show_balances,
    }
