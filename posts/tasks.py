"""Celery tasks of posts: thin, they take ids and call ``posts.timeline_cache``."""

from __future__ import annotations

from celery import shared_task

from posts.timeline_cache import FanoutFailed


# A fan-out Redis could not take (down, or a Redis Cluster master in failover, which takes
# a few seconds) is tried again a few times over about a minute: afterwards the post would
# be missing from warm timelines until they are rebuilt.
@shared_task(
    name="posts.timeline_fanout",
    bind=True,
    ignore_result=True,
    autoretry_for=(FanoutFailed,),
    retry_backoff=2,
    retry_backoff_max=30,
    max_retries=5,
)
def timeline_fanout_task(self, post_id: int) -> int:
    from posts.timeline_cache import timeline_fanout

    return timeline_fanout(post_id=post_id, raise_on_failure=True)


@shared_task(name="posts.timeline_remove", ignore_result=True)
def timeline_remove_task(post_id: int) -> int:
    from posts.timeline_cache import timeline_remove

    return timeline_remove(post_id=post_id)
