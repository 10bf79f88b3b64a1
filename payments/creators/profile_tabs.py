"""The Shop and Memberships tabs of a creator's profile (registered in ``posts.profile_tabs``
by ``CreatorsConfig.ready``): each shown only when the creator has something in it, each
loaded in one query whatever its size."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.models import User
from payments.creators import selectors
from payments.creators.models import MembershipTier, Product
from posts.profile_tabs import ProfileTab


def _shop_context(author: User, viewer: User | None, before: int | None) -> dict:
    products, next_before = selectors.shop_products(seller=author, before=before)
    return {"products": products, "next_before": next_before}


def _memberships_context(author: User, viewer: User | None, before: int | None) -> dict:
    return {"tiers": list(selectors.tiers_active(creator=author))}


SHOP = ProfileTab(
    key="shop",
    label=_("Shop"),
    template="payments/creators/_profile_shop.html",
    has_content=lambda author: Product.objects.filter(
        selectors.shop_products_q(), seller_id=author.pk
    ),
    context=_shop_context,
)
MEMBERSHIPS = ProfileTab(
    key="memberships",
    label=_("Memberships"),
    template="payments/creators/_profile_memberships.html",
    has_content=lambda author: MembershipTier.objects.filter(creator_id=author.pk, is_active=True),
    context=_memberships_context,
)
