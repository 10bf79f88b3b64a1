"""Posts: short texts by a user, with photos, replies, likes, reposts and reports.

- ``Post``: text of at most ``POST_MAX_LENGTH`` characters. A reply points at its parent
  (``reply_to``) and at the first post of its thread (``thread_root``), so a whole thread
  is one indexed query. A repost is a post with ``repost_of`` set and no text of its own;
  one person reposts a post at most once. Deleting a post is soft (``deleted_at``, text
  wiped) so that a thread keeps its shape; staff hiding is ``hidden_at``. Counters
  (likes, replies, reposts) are denormalised and only changed with ``F()`` in services.
- ``Like``: one per person and post.
- ``Report``: a person flags a post for staff; one open report per person and post.
- ``PostImage``: up to ``POST_IMAGES_MAX`` photos of a post, in order, each stored as the
  server re-encoded it (``posts.images``: metadata stripped, at most
  ``POST_IMAGE_MAX_SIDE`` pixels a side, WebP) with its size and its alt text.
- Paid content: a post may carry ``locked_text`` with a price (unlocked per person, see
  ``payments.creators.models.Unlock``) or be members-only for a tier. Products sold from
  a post live in ``payments.creators``.

Invariants (database-enforced): text length ≤ ``POST_MAX_LENGTH``; a post is not both a
reply and a repost; a repost has empty text; counters ≥ 0; unique (person, post) for likes,
reposts and reports; at most ``POST_IMAGES_MAX`` images a post, one per position, each with
alt text and a size within the re-encoded bounds.

The home timeline reads ``posts_timeline`` (author, id DESC) restricted to visible
top-level posts, so "newest posts by these authors" never sorts the table.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

POST_MAX_LENGTH = 500
LOCKED_TEXT_MAX_LENGTH = 5000
REPORT_REASON_MAX_LENGTH = 500
POST_IMAGES_MAX = 4
POST_IMAGE_MAX_SIDE = 2048
IMAGE_ALT_MAX_LENGTH = 1000


class Post(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    text = models.TextField(max_length=POST_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reply_to = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replies"
    )
    thread_root = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    repost_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reposts"
    )
    like_count = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0)
    repost_count = models.PositiveIntegerField(default=0)
    deleted_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Paid content (creators): ``text`` is the public teaser, ``locked_text`` is shown only
    # to the author and to people holding a completed unlock; both price fields or neither.
    locked_text = models.TextField(max_length=LOCKED_TEXT_MAX_LENGTH, blank=True, default="")
    price_amount = models.BigIntegerField(null=True, blank=True)
    price_currency = models.CharField(max_length=3, blank=True, default="")
    # Members-only: visible to active members of this tier (or a pricier tier of the same
    # creator) and to the author.
    members_tier = models.ForeignKey(
        "creators.MembershipTier",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="posts",
    )

    class Meta:
        indexes = [
            models.Index(fields=["author", "-id"], name="posts_author_newest"),
            models.Index(
                fields=["author", "-id"],
                name="posts_timeline",
                condition=Q(reply_to__isnull=True, deleted_at__isnull=True, hidden_at__isnull=True),
            ),
            models.Index(fields=["thread_root", "id"], name="posts_thread"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), POST_MAX_LENGTH), name="posts_text_length"
            ),
            models.CheckConstraint(
                condition=Q(reply_to__isnull=True) | Q(repost_of__isnull=True),
                name="posts_reply_xor_repost",
            ),
            models.CheckConstraint(
                condition=Q(repost_of__isnull=True) | Q(text=""), name="posts_repost_no_text"
            ),
            models.CheckConstraint(
                condition=Q(reply_to__isnull=True, thread_root__isnull=True)
                | Q(reply_to__isnull=False, thread_root__isnull=False),
                name="posts_reply_has_root",
            ),
            models.UniqueConstraint(
                fields=["author", "repost_of"],
                condition=Q(repost_of__isnull=False, deleted_at__isnull=True),
                name="posts_repost_once",
            ),
            models.CheckConstraint(condition=~Q(repost_of=F("id")), name="posts_repost_not_self"),
            models.CheckConstraint(
                condition=Q(price_amount__isnull=True, price_currency="")
                | Q(price_amount__gt=0, price_currency__regex=r"^[A-Z]{3}$"),
                name="posts_price_complete_positive",
            ),
            models.CheckConstraint(
                condition=Q(price_amount__isnull=True) | ~Q(locked_text=""),
                name="posts_price_needs_locked_text",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"

    @property
    def is_visible(self) -> bool:
        return self.deleted_at is None and self.hidden_at is None


class PostImage(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField()
    # Always a file the server wrote (posts.images re-encodes every upload), never the
    # bytes a person sent: no metadata, no polyglot file served back as something else.
    image = models.FileField(upload_to="posts/%Y/%m/", max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    alt = models.TextField(max_length=IMAGE_ALT_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "position"], name="post_image_position_once"),
            models.CheckConstraint(
                condition=Q(position__lt=POST_IMAGES_MAX), name="post_image_position_max"
            ),
            models.CheckConstraint(
                condition=Q(width__gte=1, width__lte=POST_IMAGE_MAX_SIDE)
                & Q(height__gte=1, height__lte=POST_IMAGE_MAX_SIDE),
                name="post_image_size_bounded",
            ),
            models.CheckConstraint(
                condition=~Q(alt="") & LessThanOrEqual(Length("alt"), IMAGE_ALT_MAX_LENGTH),
                name="post_image_alt_present",
            ),
        ]

    def __str__(self) -> str:
        return f"image {self.position} of post {self.post_id}"


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="like_once")]
        indexes = [models.Index(fields=["post", "-id"], name="like_post_newest")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.post_id}"


class Report(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "open"
        ACTIONED = "actioned", "actioned (post hidden)"
        DISMISSED = "dismissed", "dismissed"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField(max_length=REPORT_REASON_MAX_LENGTH, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["post", "reporter"],
                condition=Q(status="open"),
                name="report_open_once",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-id"], name="report_queue"),
        ]

    def __str__(self) -> str:
        return f"report {self.pk} on post {self.post_id}"
