"""Posts: short texts by a user, newest first on timelines.

Invariants: a post has an author; ``text`` is at most ``POST_MAX_LENGTH`` characters.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

POST_MAX_LENGTH = 500


class Post(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    text = models.TextField(max_length=POST_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["author", "-id"], name="posts_author_newest")]
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), POST_MAX_LENGTH), name="posts_text_length"
            )
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"
