"""Reads about people: lookups by handle, the social graph, search, notifications.

``is_blocked`` is the one question other apps ask before letting two people interact
(following, mentioning, paying): true when either of the two blocked the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Value
from django.utils.translation import gettext_lazy as _

from accounts.handles import handle_key
from accounts.models import ApiToken, Block, Follow, Mute, Notification, User
from core.exceptions import NotFound, PermissionDenied

SEARCH_MAX_RESULTS = 50
FOLLOW_LIST_PAGE_SIZE = 30


class UserNotFound(NotFound):
    code = "not_found"
    default_message = _("No such person.")


class FollowListBlocked(PermissionDenied):
    # The same code as ``accounts.services.Blocked``: one word for "these two block".
    code = "blocked"
    default_message = _("You cannot see who this person follows or is followed by.")


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


def follow_list(*, user: User, viewer: User | None, direction: str) -> QuerySet[Follow]:
    """``user``'s followers (``direction="followers"``) or the people they follow
    (``"following"``), newest follow first (paginate on the follow's ``id``). Each row has
    ``person`` (selected in the same query) and ``viewer_follows`` (whether the viewer
    follows that person; ``None`` when signed out).

    Blocks: when ``user`` and the viewer block each other (either way) the lists are not
    shown (``FollowListBlocked``); people who block the viewer, or whom the viewer blocks,
    are left out of the rows, and so are suspended accounts.
    """
    if direction not in ("followers", "following"):
        raise ValueError(direction)
    signed_in = viewer is not None and viewer.is_authenticated
    if signed_in and viewer.pk != user.pk and is_blocked(viewer.pk, user.pk):
        raise FollowListBlocked()
    if direction == "followers":
        person, qs = "follower", Follow.objects.filter(followee_id=user.pk)
    else:
        person, qs = "followee", Follow.objects.filter(follower_id=user.pk)
    qs = qs.filter(**{f"{person}__is_active": True}).select_related(person)
    if not signed_in:
        return qs.annotate(viewer_follows=Value(None, output_field=BooleanField())).order_by("-id")
    qs = qs.exclude(
        **{f"{person}_id__in": Block.objects.filter(blocker_id=viewer.pk).values("blocked_id")}
    ).exclude(
        **{f"{person}_id__in": Block.objects.filter(blocked_id=viewer.pk).values("blocker_id")}
    )
    return qs.annotate(
        viewer_follows=Exists(
            Follow.objects.filter(follower_id=viewer.pk, followee_id=OuterRef(f"{person}_id"))
        )
    ).order_by("-id")


def follow_list_page(
    *, user: User, viewer: User | None, direction: str, before: int | None
) -> tuple[list[Follow], int | None]:
    """One keyset page of ``follow_list`` (rows with ``id < before``) with ``person`` set on
    each row: (rows, next ``before`` or None). Raises ``FollowListBlocked``."""
    qs = follow_list(user=user, viewer=viewer, direction=direction)
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs[: FOLLOW_LIST_PAGE_SIZE + 1])
    more = len(rows) > FOLLOW_LIST_PAGE_SIZE
    rows = rows[:FOLLOW_LIST_PAGE_SIZE]
    for row in rows:
        row.person = row.follower if direction == "followers" else row.followee
    return rows, (rows[-1].pk if more and rows else None)


def notification_list(*, recipient: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=recipient).select_related("actor").order_by("-id")


def notification_unread_count(*, recipient: User) -> int:
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).count()


def user_security_flags(*, user: User) -> dict[str, bool]:
    """Whether the primary e-mail is verified and a second factor is set up.

    One hand-written query for both (every ``GET /me`` asks): the second factor as
    allauth's default MFA adapter decides it (``is_mfa_enabled``: any authenticator).
    Free when the token lookup already read them for this request (a view with
    ``prefetch_security_flags``, see ``accounts.authentication``): ``user`` then carries
    them, read in the same statement as the user row itself."""
    prefetched = user.__dict__.get(SECURITY_FLAGS_ATTR)
    if prefetched is not None:
        return prefetched
    with connection.cursor() as cur:
        cur.execute(f"SELECT {security_flags_columns('%(user)s')}", {"user": user.pk})
        return security_flags(cur.fetchone())


#: Where ``accounts.authentication`` leaves the flags it read with the user row.
SECURITY_FLAGS_ATTR = "_security_flags"


def security_flags_columns(user: str) -> str:
    """The two flags of ``user_security_flags`` as two SQL columns over ``user`` (a column
    such as ``u.id``, or a placeholder). Only table names from the models are formatted in;
    a user id comes in as a parameter or a column, never as text."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    emails, authenticators = EmailAddress._meta.db_table, Authenticator._meta.db_table
    return (
        f'EXISTS (SELECT 1 FROM {emails} WHERE user_id = {user} AND "primary" AND verified),'  # noqa: S608
        f" EXISTS (SELECT 1 FROM {authenticators} WHERE user_id = {user})"
    )


def security_flags(columns) -> dict[str, bool]:
    """The answer of ``user_security_flags`` from the two columns it selects."""
    email_verified, mfa_enabled = columns
    return {"email_verified": email_verified, "mfa_enabled": mfa_enabled}


TOKEN_LIST_MAX = 100


def token_list(*, user: User) -> list[ApiToken]:
    """``user``'s tokens that are not revoked (expired ones included, marked by their
    ``expires_at``), newest first; at most ``TOKEN_LIST_MAX``."""
    return list(
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-id")[:TOKEN_LIST_MAX]
    )
