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
    """Products on a post and its public tips (for the post page; two queries)."""
    from payments.creators.models import Product
    from payments.creators.selectors import post_tips_public

    shown = post.repost_of or post
    products = list(Product.objects.filter(post_id=shown.pk, is_active=True).order_by("id")[:20])
    return {"products": products, "tips": list(post_tips_public(post_id=shown.pk)[:20])}


@register.simple_tag
def profile_money(author) -> dict:
    """A creator's active membership tiers, cheapest first (one query)."""
    from payments.creators.models import MembershipTier

    tiers = MembershipTier.objects.filter(creator_id=author.pk, is_active=True)
    return {"tiers": list(tiers.order_by("price_amount")[:10])}
