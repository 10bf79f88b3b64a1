"""Template helpers of the creator pages: money from minor units, fee quotes."""

from __future__ import annotations

from django import template

from core.money import Money

register = template.Library()


@register.filter
def minor(amount, currency: str) -> str:
    """``{{ tip.amount|minor:tip.currency }}`` → ``$5.00``."""
    try:
        return Money(int(amount), currency).format()
    except (TypeError, ValueError, LookupError):
        return ""


@register.filter
def money(value) -> str:
    """``{{ quote.fee|money }}`` for a ``Money`` value."""
    return value.format() if isinstance(value, Money) else ""


@register.simple_tag
def post_commerce(post) -> dict:
    """A post's public tips (for the post page; one query). Its products come with the
    post itself (``shown_products``) and show on its card."""
    from payments.creators.selectors import post_tips_public

    shown = post.repost_of or post
    return {"tips": list(post_tips_public(post_id=shown.pk)[:20])}
