"""Reads about people: lookups by handle, the social graph, search, notifications.

``is_blocked`` is the one question other apps ask before letting two people interact
(following, mentioning, paying): true when either of the two blocked the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.handles import handle_key
from accounts.models import ApiToken, Block, Follow, Mute, Notification, User
from core.exceptions import NotFound

SEARCH_MAX_RESULTS = 50


class UserNotFound(NotFound):
    code = "not_found"
    default_message = _("No such person.")


def is_blocked(a_id: int, b_id: int) -> bool:
    """True when ``a`` blocked ``b`` or ``b`` blocked ``a`` (ids, so any app can ask)."""
    return Block.objects.filter(
        Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)
    ).exists()


def user_get_by_handle(*, handle: str) -> User:
    """An active person by handle (any case, with or without ``@``). Raises ``UserNotFound``."""
    if not isinstance(handle, str) or "\x00" in handle or len(handle) > 64:
        raise UserNotFound()
    user = User.objects.filter(
        handle_key=handle_key(handle.removeprefix("@")), is_active=True
    ).first()
    if user is None:
        raise UserNotFound()
    return user


def user_search(*, query: str, limit: int = 20) -> list[User]:
    """People whose handle or display name starts with (or contains) ``query``.

    Exact and prefix handle matches come first. Bounded: at most ``SEARCH_MAX_RESULTS``.
    """
    query = (query or "").strip().removeprefix("@")[:60]
    if not query or "\x00" in query:
        return []
    limit = max(1, min(limit, SEARCH_MAX_RESULTS))
    key = handle_key(query)
    prefix = list(
        User.objects.filter(is_active=True)
        .filter(Q(handle_key__startswith=key) | Q(display_name__istartswith=query))
        .order_by("handle_key")[:limit]
    )
    if len(prefix) >= limit:
        return prefix
    seen = {u.pk for u in prefix}
    more = (
        User.objects.filter(is_active=True)
        .filter(Q(handle_key__contains=key) | Q(display_name__icontains=query))
        .exclude(pk__in=seen)
        .order_by("handle_key")[: limit - len(prefix)]
    )
    return prefix + list(more)


@dataclass(frozen=True)
class Relationship:
    following: bool = False
    followed_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False


def relationship(*, viewer: User | None, other: User) -> Relationship:
    """How ``viewer`` relates to ``other`` (all false for anonymous viewers or oneself)."""
    if viewer is None or not viewer.is_authenticated or viewer.pk == other.pk:
        return Relationship()
    follows = set(
        Follow.objects.filter(
            Q(follower=viewer, followee=other) | Q(follower=other, followee=viewer)
        ).values_list("follower_id", flat=True)
    )
    blocks = set(
        Block.objects.filter(
            Q(blocker=viewer, blocked=other) | Q(blocker=other, blocked=viewer)
        ).values_list("blocker_id", flat=True)
    )
    return Relationship(
        following=viewer.pk in follows,
        followed_by=other.pk in follows,
        blocking=viewer.pk in blocks,
        blocked_by=other.pk in blocks,
        muting=Mute.objects.filter(muter=viewer, muted=other).exists(),
    )


def follow_counts(*, user: User) -> dict[str, int]:
    return {
        "followers": Follow.objects.filter(followee=user).count(),
        "following": Follow.objects.filter(follower=user).count(),
    }


def notification_list(*, recipient: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=recipient).select_related("actor").order_by("-id")


def notification_unread_count(*, recipient: User) -> int:
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).count()


def user_security_flags(*, user: User) -> dict[str, bool]:
    """Whether the primary e-mail is verified and a second factor is set up.

    One hand-written query for both (every ``GET /me`` asks): the second factor as
    allauth's default MFA adapter decides it (``is_mfa_enabled``: any authenticator)."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    with connection.cursor() as cur:
        cur.execute(_SECURITY_FLAGS_SQL.format(
            emails=EmailAddress._meta.db_table, authenticators=Authenticator._meta.db_table
        ), {"user": user.pk})  # fmt: skip
        email_verified, mfa_enabled = cur.fetchone()
    return {"email_verified": email_verified, "mfa_enabled": mfa_enabled}


# Only table names (from the models) are formatted in; the user id is a parameter.
_SECURITY_FLAGS_SQL = """
SELECT EXISTS (SELECT 1 FROM {emails} WHERE user_id = %(user)s AND "primary" AND verified),
       EXISTS (SELECT 1 FROM {authenticators} WHERE user_id = %(user)s)
"""


TOKEN_LIST_MAX = 100


def token_list(*, user: User) -> list[ApiToken]:
    """``user``'s tokens that are not revoked (expired ones included, marked by their
    ``expires_at``), newest first; at most ``TOKEN_LIST_MAX``."""
    return list(
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-id")[
            :TOKEN_LIST_MAX
        ]
    )
