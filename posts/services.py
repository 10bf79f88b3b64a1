"""Every write to posts: create, reply, repost, like, delete, hide, report.

Counters move with ``F()`` inside the same transaction as the row they count, so they
cannot drift under concurrency. Notifications are rows in the same database and the same
transaction: a rolled-back post leaves no notification behind.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Notification, User
from accounts.selectors import is_blocked
from accounts.services import Blocked, TextInvalid, notification_create, text_clean
from core.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from posts.images import PreparedImage, TooManyImages, images_delete, images_store
from posts.models import (
    POST_IMAGES_MAX,
    POST_MAX_LENGTH,
    REPORT_REASON_MAX_LENGTH,
    Like,
    Post,
    Report,
)
from posts.rendering import mentioned_handles
from posts.timeline_cache import post_published, post_removed

MAX_MENTION_NOTIFICATIONS = 10


class PostNotFound(NotFound):
    code = "not_found"
    default_message = _("No such post.")


class PostEmpty(ValidationFailed):
    code = "post_empty"
    default_message = _("Write something first.")


class PostTooLong(ValidationFailed):
    code = "post_too_long"
    default_message = format_lazy(_("Posts are at most {count} characters."), count=POST_MAX_LENGTH)


class NotYourPost(PermissionDenied):
    code = "not_your_post"
    default_message = _("Only the author can do that.")


class AlreadyReported(Conflict):
    code = "already_reported"
    status = 409
    default_message = _("You reported this post already.")


def _post_text_clean(text: str, *, may_be_empty: bool = False) -> str:
    if not isinstance(text, str):
        raise TextInvalid(details={"field": "text"})
    if len(text) > POST_MAX_LENGTH * 2:  # cheap early exit before scanning huge input
        raise PostTooLong(details={"max_length": POST_MAX_LENGTH})
    try:
        text = text_clean(value=text, max_length=POST_MAX_LENGTH, field="text")
    except ValidationFailed as exc:
        if exc.code == "text_too_long":
            raise PostTooLong(details={"max_length": POST_MAX_LENGTH}) from None
        raise
    if not text and not may_be_empty:
        raise PostEmpty()
    return text


def _visible_for_interaction(*, post_id: int, actor: User) -> Post:
    """Lock the post row (counters change next) and check it may be interacted with.

    Raises ``PostNotFound`` for missing, deleted or hidden posts and ``Blocked`` when the
    author and the actor block each other (either way).
    """
    post = (
        Post.objects.select_for_update()
        .filter(pk=post_id, deleted_at__isnull=True, hidden_at__isnull=True)
        .first()
    )
    if post is None:
        raise PostNotFound()
    if post.author_id != actor.pk and is_blocked(post.author_id, actor.pk):
        raise Blocked()
    return post


def post_create(
    *,
    author: User,
    text: str,
    reply_to_id: int | None = None,
    images: Sequence[PreparedImage] = (),
) -> Post:
    """Publish a post or a reply, with its photos (already checked and re-encoded by
    ``posts.images.images_prepare``), and notify the mentioned people and the parent's
    author. A post with photos may have no text.

    Raises ``PostEmpty``, ``PostTooLong``, ``TextInvalid``, ``TooManyImages``,
    ``PostNotFound`` (parent) and ``Blocked`` (replying to someone who blocks you or whom
    you block).
    """
    text = _post_text_clean(text, may_be_empty=bool(images))
    if len(images) > POST_IMAGES_MAX:
        raise TooManyImages(details={"field": "images", "max": POST_IMAGES_MAX})
    with transaction.atomic():
        parent = None
        if reply_to_id is not None:
            parent = _visible_for_interaction(post_id=reply_to_id, actor=author)
            if parent.repost_of_id is not None:
                raise PostNotFound(_("Reply to the original post, not to a repost."))
        post = Post.objects.create(
            author=author,
            text=text,
            reply_to=parent,
            thread_root_id=(parent.thread_root_id or parent.pk) if parent else None,
        )
        if images:
            images_store(post_id=post.pk, images=images)
        if parent is not None:
            Post.objects.filter(pk=parent.pk).update(reply_count=F("reply_count") + 1)
            notification_create(
                recipient=parent.author,
                actor=author,
                kind=Notification.Kind.REPLY,
                target_type="post",
                target_id=post.pk,
            )
        _notify_mentions(post=post, skip_user_id=parent.author_id if parent else None)
        if parent is None:  # replies are not on home timelines
            post_published(post_id=post.pk)
    return post


def _notify_mentions(*, post: Post, skip_user_id: int | None) -> None:
    handles = mentioned_handles(post.text)[:MAX_MENTION_NOTIFICATIONS]
    if not handles:
        return
    for person in User.objects.filter(handle_key__in=handles, is_active=True):
        if person.pk == skip_user_id:
            continue  # already told about the reply
        notification_create(
            recipient=person,
            actor=post.author,
            kind=Notification.Kind.MENTION,
            target_type="post",
            target_id=post.pk,
        )


def post_delete(*, post_id: int, actor: User) -> None:
    """Soft-delete one's own post: the text and photos are wiped, replies keep their place.

    Raises ``PostNotFound`` (missing, already deleted, or someone else's: a foreign post
    answers exactly like a missing one).
    """
    with transaction.atomic():
        post = (
            Post.objects.select_for_update()
            .filter(pk=post_id, author=actor, deleted_at__isnull=True)
            .first()
        )
        if post is None:
            raise PostNotFound()
        Post.objects.filter(pk=post.pk).update(deleted_at=timezone.now(), text="")
        images_delete(post_id=post.pk)
        if post.reply_to_id:
            Post.objects.filter(pk=post.reply_to_id, reply_count__gt=0).update(
                reply_count=F("reply_count") - 1
            )
        if post.repost_of_id:
            Post.objects.filter(pk=post.repost_of_id, repost_count__gt=0).update(
                repost_count=F("repost_count") - 1
            )
        if post.reply_to_id is None:
            post_removed(post_id=post.pk)


def post_hide(*, post_id: int, staff: User) -> None:
    """Staff moderation: hide a post from every timeline and page; open reports close."""
    if not staff.is_staff:
        raise PermissionDenied()
    now = timezone.now()
    with transaction.atomic():
        updated = Post.objects.filter(pk=post_id, hidden_at__isnull=True).update(
            hidden_at=now, hidden_by=staff
        )
        if not updated and not Post.objects.filter(pk=post_id).exists():
            raise PostNotFound()
        Report.objects.filter(post_id=post_id, status=Report.Status.OPEN).update(
            status=Report.Status.ACTIONED, resolved_at=now, resolved_by=staff
        )


def post_unhide(*, post_id: int, staff: User) -> None:
    if not staff.is_staff:
        raise PermissionDenied()
    Post.objects.filter(pk=post_id).update(hidden_at=None, hidden_by=None)


def like_create(*, user: User, post_id: int) -> bool:
    """Like a post; idempotent. Returns True when a new like was recorded."""
    with transaction.atomic():
        post = _visible_for_interaction(post_id=post_id, actor=user)
        _, created = Like.objects.get_or_create(user=user, post=post)
        if created:
            Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)
            notification_create(
                recipient=post.author,
                actor=user,
                kind=Notification.Kind.LIKE,
                target_type="post",
                target_id=post.pk,
            )
    return created


def like_delete(*, user: User, post_id: int) -> None:
    with transaction.atomic():
        deleted, _ = Like.objects.filter(user=user, post_id=post_id).delete()
        if deleted:
            Post.objects.filter(pk=post_id, like_count__gt=0).update(like_count=F("like_count") - 1)


def repost_create(*, user: User, post_id: int) -> Post:
    """Repost a post (a repost of a repost reposts the original); idempotent."""
    with transaction.atomic():
        post = _visible_for_interaction(post_id=post_id, actor=user)
        if post.repost_of_id is not None:
            post = _visible_for_interaction(post_id=post.repost_of_id, actor=user)
        existing = Post.objects.filter(author=user, repost_of=post, deleted_at__isnull=True).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                repost = Post.objects.create(author=user, repost_of=post, text="")
        except IntegrityError:
            # A concurrent identical repost won the partial unique index.
            return Post.objects.get(author=user, repost_of=post, deleted_at__isnull=True)
        Post.objects.filter(pk=post.pk).update(repost_count=F("repost_count") + 1)
        post_published(post_id=repost.pk)
        notification_create(
            recipient=post.author,
            actor=user,
            kind=Notification.Kind.REPOST,
            target_type="post",
            target_id=post.pk,
        )
    return repost


def repost_delete(*, user: User, post_id: int) -> None:
    repost = Post.objects.filter(author=user, repost_of_id=post_id, deleted_at__isnull=True).first()
    if repost is not None:
        post_delete(post_id=repost.pk, actor=user)


def report_create(*, reporter: User, post_id: int, reason: str = "") -> Report:
    """Flag a post for staff. Raises ``PostNotFound`` or ``AlreadyReported``."""
    reason = text_clean(value=reason, max_length=REPORT_REASON_MAX_LENGTH, field="reason")
    post = Post.objects.filter(pk=post_id, deleted_at__isnull=True).first()
    if post is None:
        raise PostNotFound()
    try:
        with transaction.atomic():
            return Report.objects.create(post=post, reporter=reporter, reason=reason)
    except IntegrityError:
        raise AlreadyReported() from None


def report_dismiss(*, report_id: int, staff: User) -> None:
    Report.objects.filter(pk=report_id, status=Report.Status.OPEN).update(
        status=Report.Status.DISMISSED, resolved_at=timezone.now(), resolved_by=staff
    )
