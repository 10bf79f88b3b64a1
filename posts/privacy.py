"""What posts contribute to a person's data export and to closing their account
(``accounts.exports``, ``accounts.closing``; registered in ``PostsConfig.ready``).

Product rule for closing: every post of the person is deleted as the author would delete
it (soft: the text and locked text wiped, the row kept so replies by others keep their
thread), and their likes and reports go. Counters of other people's posts follow.
"""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exports import ExportFile, rows_of
from accounts.models import User
from posts.models import Like, Post, Report


def export_files(*, user: User) -> list[ExportFile]:
    posts = rows_of(
        Post.objects.filter(author=user, deleted_at__isnull=True),
        fields=[
            "id",
            "text",
            "locked_text",
            "price_amount",
            "price_currency",
            "reply_to_id",
            "repost_of_id",
            "like_count",
            "reply_count",
            "repost_count",
            "created_at",
            "hidden_at",
        ],
    )
    likes = rows_of(Like.objects.filter(user=user), fields=["post_id", "created_at"])
    reports = rows_of(
        Report.objects.filter(reporter=user),
        fields=["post_id", "reason", "status", "created_at"],
    )
    return [
        ExportFile("posts/posts", _("Your posts, replies and reposts."), posts),
        ExportFile("posts/likes", _("Posts you liked."), likes),
        ExportFile("posts/reports", _("Posts you reported."), reports),
    ]


def closing_erase(*, user: User) -> None:
    now = timezone.now()
    mine = Post.objects.filter(author=user, deleted_at__isnull=True)
    for parent_id in mine.filter(reply_to__isnull=False).values_list("reply_to_id", flat=True):
        Post.objects.filter(pk=parent_id, reply_count__gt=0).update(
            reply_count=F("reply_count") - 1
        )
    for original_id in mine.filter(repost_of__isnull=False).values_list("repost_of_id", flat=True):
        Post.objects.filter(pk=original_id, repost_count__gt=0).update(
            repost_count=F("repost_count") - 1
        )
    mine.update(deleted_at=now, text="", locked_text="")
    for post_id in Like.objects.filter(user=user).values_list("post_id", flat=True):
        Post.objects.filter(pk=post_id, like_count__gt=0).update(like_count=F("like_count") - 1)
    Like.objects.filter(user=user).delete()
    Report.objects.filter(reporter=user, status=Report.Status.OPEN).delete()
