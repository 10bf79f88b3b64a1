"""Publishing a post together with parts another app owns: locked (paid or members-only)
content and a product for sale.

Locked text, prices, tiers and products are sold by ``payments.creators``, which sits above
posts: it registers its publisher here when Django starts (``AppConfig.ready``), so the post
API and the composer take those parts in one request, and one transaction, without posts
importing payments. Callers parse what was sent (a price in minor units from the API, a
typed amount from a page) into the typed ``PostExtras`` below; the publisher checks the
rest and writes everything or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.exceptions import ValidationFailed
from core.money import Money
from posts.images import PreparedImage
from posts.models import Post


@dataclass(frozen=True)
class ProductDraft:
    """A product to sell from the new post (checked by the publisher)."""

    title: str
    price: Money
    stock: int
    kind: str  # "digital" or "physical"
    description: str = ""
    delivery_url: str = ""
    # Re-encoded by ``posts.images.image_prepare`` before the publisher sees it.
    photo: PreparedImage | None = None


@dataclass(frozen=True)
class PostExtras:
    """What a new post carries beyond text and photos."""

    locked_text: str = ""
    price: Money | None = None
    members_tier_id: int | None = None
    product: ProductDraft | None = None

    def __bool__(self) -> bool:
        return bool(
            self.locked_text
            or self.price is not None
            or self.members_tier_id is not None
            or self.product is not None
        )


# (author, text, reply_to_id, images, extras) -> the published post, parts and all, or an
# error with nothing written.
PostExtrasPublisher = Callable[..., Post]

_publisher: PostExtrasPublisher | None = None


def paid_post_publisher_register(publisher: PostExtrasPublisher) -> None:
    global _publisher
    _publisher = publisher


def paid_post_publish(
    *,
    author: User,
    text: str,
    reply_to_id: int | None,
    extras: PostExtras,
    images: Sequence[PreparedImage] = (),
) -> Post:
    """Raises ``ValidationFailed`` when no app sells paid content or products; otherwise
    whatever the registered publisher raises (it checks everything before writing)."""
    if _publisher is None:
        raise ValidationFailed(_("Paid posts are not available here."))
    return _publisher(
        author=author, text=text, reply_to_id=reply_to_id, images=images, extras=extras
    )
