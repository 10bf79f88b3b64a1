"""Celery tasks of posts: thin, they take ids and call ``posts.timeline_cache``."""

from __future__ import annotations

from celery import shared_task

from posts.timeline_cache import FanoutFailed


def fanout_retry_seconds(retries: int) -> float:
    """How long before the ``retries``-th retry of a fan-out: 2, 4, 8, 16, 30 s."""
    return min(2 ** (retries + 1), 30)


# A fan-out Redis could not take (down, or a Redis Cluster master in failover, which takes
# a few seconds) is tried again a few times over about a minute: afterwards the post would
# be missing from warm timelines until they are rebuilt.
@shared_task(name="posts.timeline_fanout", bind=True, ignore_result=True, max_retries=5)
def timeline_fanout_task(self, post_id: int) -> int:
    from posts.timeline_cache import timeline_fanout

    try:
        return timeline_fanout(post_id=post_id, raise_on_failure=True)
    except FanoutFailed as exc:
        raise self.retry(exc=exc, countdown=fanout_retry_seconds(self.request.retries)) from exc


@shared_task(name="posts.timeline_remove", ignore_result=True)
def timeline_remove_task(post_id: int) -> int:
    from posts.timeline_cache import timeline_remove

    return timeline_remove(post_id=post_id)
