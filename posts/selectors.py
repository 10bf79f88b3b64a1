from __future__ import annotations

from django.db.models import QuerySet

from posts.models import Post


def post_list_recent(*, limit: int = 50) -> QuerySet[Post]:
    return Post.objects.select_related("author").order_by("-id")[:limit]
