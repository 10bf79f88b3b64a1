"""The cache, the API rate limits and the home timelines on a real six-node Redis Cluster
(scripts/scale_cluster.py: three masters, a replica each, 2 s node timeout), the broker
untouched: keys that are used together share a slot and different people spread over the
masters; fan-out and reads work; and a master killed with SIGKILL while threads read
timelines through the app's read path loses no read (they fall back to PostgreSQL until
the replica is promoted, then come back to Redis), after which writes land again."""

from __future__ import annotations

import random
import shutil
import threading
import time
import uuid

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test import override_settings
from redis.cluster import RedisCluster
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import User
from accounts.services import follow_create
from core import redis_clients
from core.api import throttling
from core.cache import ResilientRedisClusterCache
from posts import selectors, services, timeline_cache
from tests.scale_support import ROOT, Cluster

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = 20


@pytest.fixture(scope="module")
def redis_cluster():
    directory = ROOT / ".data" / f"redis-cluster-test-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(directory=directory)
    try:
        cluster.up_redis_cluster()
        yield cluster
    finally:
        cluster.down_redis_cluster()
        shutil.rmtree(directory, ignore_errors=True)


def _fresh_clients() -> None:
    """Every module's per-process client and breaker as at process start."""
    timeline_cache._client = None
    timeline_cache._scripts.clear()
    throttling._client = None
    for breaker in (timeline_cache._breaker, throttling._breaker):
        breaker._retry_at = 0.0
        breaker.succeeded()
    from core import cache as cache_module

    cache_module._breaker._retry_at = 0.0


@pytest.fixture
def on_cluster(redis_cluster, settings):
    """The app's settings as with ``REDIS_CLUSTER_URLS`` (the broker stays where it is)."""
    urls = redis_cluster.redis_cluster_urls
    caches = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisClusterCache",
            "LOCATION": urls,
            "KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    broker = settings.CELERY_BROKER_URL
    with override_settings(
        REDIS_CLUSTER_URLS=urls,
        CACHES=caches,
        REDIS_RETRY_AFTER_SECONDS=1.0,
        TIMELINE_FANOUT=True,
        TIMELINE_CACHE_SIZE=800,
        TIMELINE_CELEBRITY_FOLLOWERS=10_000,
    ):
        _fresh_clients()
        assert broker == settings.CELERY_BROKER_URL
        client = redis_clients.cluster_client(urls, socket_connect_timeout=1, socket_timeout=1)
        try:
            yield client
        finally:
            client.close()
            _fresh_clients()


@pytest.fixture
def make_user():
    def make() -> User:
        handle = f"rc{uuid.uuid4().hex[:10]}"
        return User.objects.create_user(handle=handle, email=f"{handle}@example.com")

    return make


def _master_of(client: RedisCluster, key: str) -> str:
    return client.get_node_from_key(key).name


def _publish(author, text="hello"):
    post = services.post_create(author=author, text=text)
    written = timeline_cache.timeline_fanout(post_id=post.pk)
    return post, written


def _page_ids(viewer) -> list[int]:
    posts, _ = selectors.timeline_home_page(viewer=viewer, before=None, size=PAGE)
    return [p.pk for p in posts]


def _database_page_ids(viewer) -> list[int]:
    with override_settings(TIMELINE_FANOUT=False):
        return _page_ids(viewer)


def test_a_persons_keys_share_a_slot_and_people_spread_over_the_masters(on_cluster):
    masters = set()
    for viewer_id in range(1, 61):
        key, meta = timeline_cache._keys(viewer_id)
        assert f"{{tl:{viewer_id}}}" in key
        assert on_cluster.keyslot(key) == on_cluster.keyslot(meta)
        masters.add(_master_of(on_cluster, key))
    assert masters == {node.name for node in on_cluster.get_primaries()}
    assert len(masters) == 3
    # A rate limit's current and previous windows (one pipelined round trip) share a slot.
    current = throttling.limit_key("rate", "throttle_user_42")
    assert on_cluster.keyslot(throttling.window_key(current, 7)) == on_cluster.keyslot(
        throttling.window_key(current, 6)
    )


def test_fanout_and_reads_on_the_cluster(make_user, on_cluster):
    author = make_user()
    followers = [make_user() for _ in range(24)]
    for someone in followers:
        follow_create(follower=someone, followee=author)
    first, _ = _publish(author, "before the caches are warm")
    # Cold reads build each follower's timeline from PostgreSQL into the cluster.
    for someone in followers:
        assert _page_ids(someone) == [first.pk]
    second, written = _publish(author, "fanned out")
    assert written == len(followers)  # every warm timeline (the author's own is cold)
    spread = set()
    for someone in followers:
        key, meta = timeline_cache._keys(someone.pk)
        assert [int(i) for i in on_cluster.zrevrange(key, 0, -1)] == [second.pk, first.pk]
        assert on_cluster.hget(meta, "full") == b"1"
        spread.add(_master_of(on_cluster, key))
        assert _page_ids(someone) == [second.pk, first.pk] == _database_page_ids(someone)
    assert len(spread) == 3  # the fan-out wrote to every master
    # A deleted post leaves every timeline (one ZREM per follower, on every master).
    services.post_delete(post_id=second.pk, actor=author)
    assert timeline_cache.timeline_remove(post_id=second.pk) == len(followers)
    for someone in followers:
        key, _ = timeline_cache._keys(someone.pk)
        assert [int(i) for i in on_cluster.zrevrange(key, 0, -1)] == [first.pk]


def test_the_cache_and_rate_limits_work_on_the_cluster(make_user, on_cluster, monkeypatch):
    assert isinstance(caches["default"], ResilientRedisClusterCache)
    tag = uuid.uuid4().hex
    keys = [f"{tag}-{n}" for n in range(12)]
    cache.set_many({k: {"n": n} for n, k in enumerate(keys)}, timeout=60)
    # Twelve keys on all three masters, read in one get_many.
    slots = {on_cluster.keyslot(cache.make_key(k)) for k in keys}
    assert len({on_cluster.nodes_manager.get_node_from_slot(s).name for s in slots}) == 3
    assert cache.get_many([*keys, "absent"]) == {k: {"n": n} for n, k in enumerate(keys)}
    assert cache.add(f"{tag}-lock", 1, timeout=60) is True
    assert cache.add(f"{tag}-lock", 1, timeout=60) is False
    cache.set(f"{tag}-count", 1)
    assert cache.incr(f"{tag}-count", 2) == 3
    cache.delete_many(keys)
    assert cache.get_many(keys) == {}
    assert cache.get(keys[0], "missing") == "missing"

    from core.tests.test_throttling import Clock, UserOnly, call

    rates = dict(SimpleRateThrottle.THROTTLE_RATES, user="3/min")
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(SimpleRateThrottle, "timer", Clock(60.0 * 10**7))
    alice = make_user()
    assert [call(UserOnly, alice).status_code for _ in range(4)] == [200, 200, 200, 429]
    current = throttling.limit_key("rate", f"throttle_user_{alice.pk}")
    # Counted in the cluster (3 allowed, the refusal taken back), not in this process.
    assert on_cluster.get(throttling.window_key(current, 10**7)) == b"3"
    assert throttling._breaker._down is False
    # /healthz asks every master of the cluster.
    from core.health import check_redis

    assert check_redis() == (True, "ok (3 masters)")


def test_a_master_killed_during_timeline_reads_loses_no_read(make_user, redis_cluster, on_cluster):
    cluster: Cluster = redis_cluster
    authors = [make_user() for _ in range(4)]
    viewers = [make_user() for _ in range(18)]
    for viewer in viewers:
        for author in random.Random(viewer.pk).sample(authors, 2):
            follow_create(follower=viewer, followee=author)
    for n in range(30):
        _publish(authors[n % 4], f"post {n}")
    expected = {v.pk: _database_page_ids(v) for v in viewers}
    for viewer in viewers:
        assert _page_ids(viewer) == expected[viewer.pk]  # warm: every timeline is cached

    # The master that holds the most of these timelines.
    by_master: dict[str, list] = {}
    for viewer in viewers:
        by_master.setdefault(_master_of(on_cluster, timeline_cache._keys(viewer.pk)[0]), []).append(
            viewer
        )
    victim_name, victims = max(by_master.items(), key=lambda item: len(item[1]))
    victim = cluster.redis_cluster_ports.index(int(victim_name.rsplit(":", 1)[1]))

    counts = {"attempted": 0, "answered": 0, "wrong": 0, "failed": 0}
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                viewer = rng.choice(viewers)
                with lock:
                    counts["attempted"] += 1
                try:
                    ids = _page_ids(viewer)
                except Exception as exc:  # counted: the test asserts there are none
                    with lock:
                        counts["failed"] += 1
                        failures.append(repr(exc))
                    continue
                with lock:
                    counts["answered"] += 1
                    if ids != expected[viewer.pk]:
                        counts["wrong"] += 1
                        failures.append(f"viewer {viewer.pk}: {ids} != {expected[viewer.pk]}")
        finally:
            connection.close()

    degraded_before = _degraded_timeline_reads()
    threads = [threading.Thread(target=reader, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        cluster.redis_cluster_node_kill(victim)
        # Reads go on while the master is down and until its replica is promoted.
        cluster.redis_cluster_wait(seconds=60)
        promoted = cluster.redis_cluster_masters()
        assert victim not in promoted and len(promoted) == 3
        # Once the breaker lets the timeline try Redis again, the victims' pages come from
        # the promoted replica (the client re-read the slot map): page_ids answers.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            answer = timeline_cache.page_ids(
                viewer_id=victims[0].pk,
                author_ids=selectors.timeline_author_ids(viewer=victims[0]),
                before=None,
                size=PAGE,
                load_ids=selectors.timeline_ids,
            )
            if answer is not None:
                break
            time.sleep(0.1)
        assert answer is not None, "the timeline did not come back to Redis"
        assert answer[0] == expected[victims[0].pk]
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert counts["failed"] == 0 and counts["wrong"] == 0, (counts, failures[:5])
    assert counts["answered"] == counts["attempted"] > 0
    # Some of them were answered by PostgreSQL while the shard had no master.
    assert _degraded_timeline_reads() > degraded_before

    # Writes land again: a new post is fanned out to the victims' timelines on the
    # promoted master (its scripts were loaded again), and read from there.
    post, written = _publish(authors[0], "after the failover")
    followers_of_0 = [
        v for v in viewers if authors[0].pk in selectors.timeline_author_ids(viewer=v)
    ]
    assert written == len(followers_of_0)  # their warm timelines (authors' own are cold)
    for viewer in followers_of_0:
        key, _ = timeline_cache._keys(viewer.pk)
        assert int(on_cluster.zrevrange(key, 0, 0)[0]) == post.pk
        assert _page_ids(viewer)[0] == post.pk

    # The killed node comes back as a replica; the cluster is whole again.
    cluster.redis_cluster_node_start(victim)
    cluster.redis_cluster_wait(whole=True, seconds=120)
    assert victim not in cluster.redis_cluster_masters()


def _degraded_timeline_reads() -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(
        "socialpay_degraded_operations_total", {"component": "timeline", "dependency": "redis"}
    )
    return value or 0.0
