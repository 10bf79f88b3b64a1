"""Celery tasks of posts: thin, they take ids and call ``posts.timeline_cache``."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="posts.timeline_fanout", ignore_result=True)
def timeline_fanout_task(post_id: int) -> int:
    from posts.timeline_cache import timeline_fanout

    return timeline_fanout(post_id=post_id)


@shared_task(name="posts.timeline_remove", ignore_result=True)
def timeline_remove_task(post_id: int) -> int:
    from posts.timeline_cache import timeline_remove

    return timeline_remove(post_id=post_id)
