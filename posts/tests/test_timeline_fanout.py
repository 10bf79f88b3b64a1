"""Home timelines with fan-out on write (``posts.timeline_cache``) against the real Redis and
PostgreSQL: a cold read builds the cache and later pages come from it, a fan-out writes
each warm timeline once however often it runs, the cap holds and older pages come from the
database, celebrities are merged at read time, unfollow / block / mute / delete never
show what they should not, and a dead Redis only sends reads back to the database. The
last test runs the fan-out through a real Celery worker after commit."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings as django_settings

from accounts.services import block_create, follow_create, follow_delete, mute_create
from core.metrics import DEGRADED
from posts import selectors, services, timeline_cache


@pytest.fixture
def fanout(settings):
    settings.TIMELINE_FANOUT = True
    settings.TIMELINE_CACHE_SIZE = 800
    settings.TIMELINE_CELEBRITY_FOLLOWERS = 10_000
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    prefix = django_settings.CACHES["default"]["KEY_PREFIX"]

    def clear():
        for pattern in (f"{prefix}:tl:*", f"{prefix}:{{tl:*"):
            keys = list(client.scan_iter(match=pattern, count=1000))
            if keys:
                client.delete(*keys)

    clear()
    timeline_cache._breaker.succeeded()
    timeline_cache._breaker._retry_at = 0.0
    yield client
    clear()
    client.close()


def _publish(author, text="hello", **kwargs):
    """Publish through the service; run the fan-out the commit would queue, in-process."""
    post = services.post_create(author=author, text=text, **kwargs)
    timeline_cache.timeline_fanout(post_id=post.pk)
    return post


def _page(viewer, before=None, size=20):
    posts, next_before = selectors.timeline_home_page(viewer=viewer, before=before, size=size)
    return [p.pk for p in posts], next_before


def _walk(viewer, size):
    out, before = [], None
    while True:
        ids, before = _page(viewer, before, size)
        out += ids
        if before is None:
            return out


def _database_walk(viewer, size, settings):
    settings.TIMELINE_FANOUT = False
    try:
        return _walk(viewer, size)
    finally:
        settings.TIMELINE_FANOUT = True


def _cached_ids(client, viewer) -> list[int]:
    key, _meta = timeline_cache._keys(viewer.pk)
    return [int(i) for i in client.zrevrange(key, 0, -1)]


@pytest.mark.django_db
def test_a_cold_read_builds_the_cache_and_the_next_page_comes_from_it(
    make_user, fanout, settings, django_assert_num_queries
):
    me, friend, stranger = make_user(), make_user(), make_user()
    follow_create(follower=me, followee=friend)
    mine = _publish(me, "mine")
    theirs = _publish(friend, "theirs")
    _publish(stranger, "stranger")
    services.post_create(author=friend, text="a reply", reply_to_id=mine.pk)
    assert _page(me) == ([theirs.pk, mine.pk], None)  # built from PostgreSQL
    assert _cached_ids(fanout, me) == [theirs.pk, mine.pk]
    later = _publish(friend, "later")
    # Followee ids and the posts: the page's ids come from Redis.
    with django_assert_num_queries(2):
        ids, _ = _page(me)
    assert ids == [later.pk, theirs.pk, mine.pk]
    assert _walk(me, 2) == _database_walk(me, 2, settings)


@pytest.mark.django_db
def test_fanout_writes_each_warm_timeline_once_however_often_it_runs(make_user, fanout):
    author = make_user()
    warm, cold = make_user(), make_user()
    for follower in (warm, cold):
        follow_create(follower=follower, followee=author)
    _page(warm)  # only this follower has a cached timeline
    post = services.post_create(author=author, text="once")
    assert timeline_cache.timeline_fanout(post_id=post.pk) == 1  # warm's, not cold's
    assert timeline_cache.timeline_fanout(post_id=post.pk) == 1
    assert _cached_ids(fanout, warm) == [post.pk]  # one copy
    assert not fanout.exists(timeline_cache._keys(cold.pk)[0])
    reply = services.post_create(author=author, text="reply", reply_to_id=post.pk)
    assert timeline_cache.timeline_fanout(post_id=reply.pk) == 0


@pytest.mark.django_db
def test_publishing_queues_the_fanout_after_commit_only_for_top_level_posts(
    make_user, fanout, settings, django_capture_on_commit_callbacks
):
    author = make_user()
    with django_capture_on_commit_callbacks() as callbacks:
        post = services.post_create(author=author, text="top")
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        services.post_create(author=author, text="reply", reply_to_id=post.pk)
    assert callbacks == []
    settings.TIMELINE_FANOUT = False
    with django_capture_on_commit_callbacks() as callbacks:
        services.post_create(author=author, text="off")
    assert callbacks == []


@pytest.mark.django_db
def test_the_cap_holds_and_older_pages_come_from_the_database(make_user, fanout, settings):
    settings.TIMELINE_CACHE_SIZE = 5
    me, friend = make_user(), make_user()
    follow_create(follower=me, followee=friend)
    _publish(friend, "first")
    _page(me)  # built with one post: the cache holds everything ("full")
    for n in range(8):
        _publish(friend, f"p{n}")
    cached = _cached_ids(fanout, me)
    assert len(cached) == 5
    assert fanout.hget(timeline_cache._keys(me.pk)[1], "full") == b"0"
    assert _walk(me, 2) == _database_walk(me, 2, settings)
    assert _walk(me, 2)[:5] == cached


@pytest.mark.django_db
def test_celebrities_are_not_fanned_out_but_merged_at_read_time(make_user, fanout, settings):
    settings.TIMELINE_CELEBRITY_FOLLOWERS = 2
    me, friend, star = make_user(), make_user(), make_user()
    for fan in (me, friend, make_user()):
        follow_create(follower=fan, followee=star)
    follow_create(follower=me, followee=friend)
    early = _publish(star, "before the cache")
    _page(me)
    a = _publish(friend, "a")
    starred = _publish(star, "star")
    assert timeline_cache.timeline_fanout(post_id=starred.pk) == 0
    assert fanout.sismember(timeline_cache._celebrities_key(), star.pk)
    b = _publish(friend, "b")
    assert starred.pk not in _cached_ids(fanout, me)
    assert _page(me) == ([b.pk, starred.pk, a.pk, early.pk], None)
    assert _walk(me, 1) == _database_walk(me, 1, settings)


@pytest.mark.django_db
def test_unfollow_block_and_mute_take_effect_on_the_next_read(make_user, fanout):
    me, a, b, c = make_user(), make_user(), make_user(), make_user()
    for other in (a, b, c):
        follow_create(follower=me, followee=other)
    posts = {who: _publish(who, "hi").pk for who in (a, b, c)}
    _page(me)
    assert set(_page(me)[0]) == set(posts.values())
    follow_delete(follower=me, followee=a)
    assert set(_page(me)[0]) == {posts[b], posts[c]}
    block_create(blocker=b, blocked=me)
    assert set(_page(me)[0]) == {posts[c]}
    mute_create(muter=me, muted=c)
    assert _page(me) == ([], None)
    # A fan-out that raced the unfollow (its push landed after the rebuild) is filtered.
    key, _meta = timeline_cache._keys(me.pk)
    fanout.zadd(key, {posts[a]: posts[a]})
    assert _page(me) == ([], None)


@pytest.mark.django_db
def test_deleted_and_hidden_posts_leave_the_timeline(make_user, fanout, admin_user):
    me, friend = make_user(), make_user()
    follow_create(follower=me, followee=friend)
    kept, deleted, hidden = (_publish(friend, t) for t in ("kept", "deleted", "hidden"))
    _page(me)
    services.post_delete(post_id=deleted.pk, actor=friend)
    services.post_hide(post_id=hidden.pk, staff=admin_user)
    assert _page(me) == ([kept.pk], None)  # filtered on read at once
    assert timeline_cache.timeline_remove(post_id=deleted.pk) == 1
    assert deleted.pk not in _cached_ids(fanout, me)


class _DeadRedis(redis.Redis):
    """A client of a port nobody listens on, that counts how often it was asked."""

    asked = 0

    def pipeline(self, *args, **kwargs):
        type(self).asked += 1
        return super().pipeline(*args, **kwargs)


@pytest.mark.django_db
def test_with_redis_down_timelines_come_from_the_database(make_user, fanout, monkeypatch):
    me, friend = make_user(), make_user()
    follow_create(follower=me, followee=friend)
    posts = [_publish(friend, f"p{n}").pk for n in range(3)]
    dead = _DeadRedis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setattr(timeline_cache, "_client", dead)
    monkeypatch.setattr(timeline_cache, "_scripts", {})
    degraded = DEGRADED.labels(component="timeline", dependency="redis")
    before = degraded._value.get()
    assert _page(me) == (posts[::-1], None)
    assert _DeadRedis.asked == 1
    assert timeline_cache.timeline_fanout(post_id=posts[0]) == 0  # a write fails softly
    asked = _DeadRedis.asked
    # The breaker leaves Redis alone for a while: no connection timeout per read.
    assert _page(me) == (posts[::-1], None)
    assert _DeadRedis.asked == asked
    assert degraded._value.get() >= before + 2


@pytest.mark.django_db
def test_a_fanout_redis_could_not_take_is_retried_by_its_task(make_user, fanout, monkeypatch):
    from posts import tasks

    # Over about a minute, then the post waits for the timelines' rebuild.
    assert [tasks.fanout_retry_seconds(n) for n in range(5)] == [2, 4, 8, 16, 30]
    me, friend = make_user(), make_user()
    follow_create(follower=me, followee=friend)
    _page(me)  # warm
    post = services.post_create(author=friend, text="while Redis is away")
    monkeypatch.setattr(timeline_cache, "_client", _DeadRedis(port=1, socket_connect_timeout=0.2))
    monkeypatch.setattr(timeline_cache, "_scripts", {})
    with pytest.raises(timeline_cache.FanoutFailed):
        timeline_cache.timeline_fanout(post_id=post.pk, raise_on_failure=True)
    assert timeline_cache.timeline_fanout(post_id=post.pk) == 0  # inline callers: softly
    attempts = []
    real = timeline_cache.timeline_fanout

    def counted(**kwargs):
        attempts.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(timeline_cache, "timeline_fanout", counted)
    monkeypatch.setattr(tasks, "fanout_retry_seconds", lambda retries: 0)
    # Run in this process (eagerly), the task retries up to its limit, then gives up.
    result = tasks.timeline_fanout_task.apply(args=[post.pk])
    assert isinstance(result.result, timeline_cache.FanoutFailed)
    assert len(attempts) == 1 + tasks.timeline_fanout_task.max_retries
    # Redis back: the same task lands the post.
    monkeypatch.setattr(timeline_cache, "_client", None)
    assert tasks.timeline_fanout_task.apply(args=[post.pk]).result == 1
    assert _cached_ids(fanout, me) == [post.pk]


@pytest.mark.django_db(transaction=True)
def test_a_published_post_reaches_warm_timelines_through_a_real_worker(
    celery_worker_process, make_user, fanout, django_assert_num_queries
):
    me, friend = make_user(), make_user()
    follow_create(follower=me, followee=friend)
    _page(me)  # warm: an empty cached timeline
    post = services.post_create(author=friend, text="through the worker")
    deadline = time.monotonic() + 30
    while post.pk not in _cached_ids(fanout, me) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _cached_ids(fanout, me) == [post.pk]
    with django_assert_num_queries(2):
        assert _page(me) == ([post.pk], None)
    services.post_delete(post_id=post.pk, actor=friend)
    while _cached_ids(fanout, me) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _cached_ids(fanout, me) == []
