"""Publishing a post together with parts another app owns (paid or members-only content).

Locked text, prices and tiers are sold by ``payments.creators``, which sits above posts: it
registers its publisher here when Django starts (``AppConfig.ready``), so the post API can
take those fields in one request, and one transaction, without posts importing payments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.exceptions import ValidationFailed
from posts.models import Post

# (author, text, reply_to_id, parts) -> the published post, parts and all, or an error
# with nothing written. ``parts`` holds the request's extra fields as parsed by the API.
PaidPostPublisher = Callable[..., Post]

_publisher: PaidPostPublisher | None = None


def paid_post_publisher_register(publisher: PaidPostPublisher) -> None:
    global _publisher
    _publisher = publisher


def paid_post_publish(
    *, author: User, text: str, reply_to_id: int | None, parts: dict[str, Any]
) -> Post:
    """Raises ``ValidationFailed`` when no app sells paid content; otherwise whatever the
    registered publisher raises (it checks everything before writing)."""
    if _publisher is None:
        raise ValidationFailed(_("Paid posts are not available here."))
    return _publisher(author=author, text=text, reply_to_id=reply_to_id, parts=parts)
