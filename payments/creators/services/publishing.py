"""Publishing a post with what creators sell on it, in one step: locked (paid or
members-only) content and a product, checked first and written in one transaction with
the post and its photos (a refusal writes none of them). Registered in
``posts.publishing`` so that the post API and the composer reach it without posts
importing payments."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from accounts.models import User
from core.exceptions import DomainError
from payments.creators.services.orders import product_check, product_create
from payments.creators.services.unlocks import paid_content_check, post_set_paid_content
from posts import services as posts
from posts.images import PreparedImage
from posts.models import Post
from posts.publishing import PostExtras


def post_with_extras_publish(
    *,
    author: User,
    text: str,
    reply_to_id: int | None,
    extras: PostExtras,
    images: Sequence[PreparedImage] = (),
) -> Post:
    """Publish a post with its locked content and/or a product.

    Raises what ``paid_content_check`` and ``product_check`` raise (with ``details["part"]``
    ``"lock"`` or ``"product"``, so that a form shows the message in the right place) and
    what ``posts.services.post_create`` raises, before anything is written; nothing is
    locked beyond what ``post_create`` locks (the parent of a reply).
    """
    paid = bool(
        extras.locked_text or extras.price is not None or extras.members_tier_id is not None
    )
    product = extras.product
    try:
        part = "lock"
        if paid:
            paid_content_check(
                author=author,
                locked_text=extras.locked_text,
                price=extras.price,
                members_tier_id=extras.members_tier_id,
            )
        part = "product"
        if product is not None:
            product_check(
                title=product.title,
                description=product.description,
                price=product.price,
                stock=product.stock,
                kind=product.kind,
                delivery_url=product.delivery_url,
            )
    except DomainError as exc:
        exc.details = {**exc.details, "part": part}
        raise
    with transaction.atomic():
        post = posts.post_create(author=author, text=text, reply_to_id=reply_to_id, images=images)
        if paid:
            post = post_set_paid_content(
                author=author,
                post=post,
                locked_text=extras.locked_text,
                price=extras.price,
                members_tier_id=extras.members_tier_id,
            )
        if product is not None:
            product_create(
                seller=author,
                post_id=post.pk,
                title=product.title,
                description=product.description,
                price=product.price,
                stock=product.stock,
                kind=product.kind,
                delivery_url=product.delivery_url,
                photo=product.photo,
            )
    return post
