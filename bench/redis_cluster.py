"""Home timeline reads on one Redis against a Redis Cluster, and a master's failover
during a read run: reads attempted, answered and failed, and how long until the cluster
was whole again.

    python bench/redis_cluster.py [--users 2000] [--follows 50] [--posts 100000]
                                  [--threads 4] [--seconds 10] [--failover-seconds 20]
                                  [--smoke]
    (make bench-redis-cluster BENCH_ARGS="...")

What it does:

1. Starts a six-node Redis Cluster of its own (scripts/scale_cluster.py: three masters, a
   replica each, ``cluster-node-timeout`` 2 s) under ``.data/redis-cluster-bench-*``, and
   seeds a throwaway copy of the migrated smoke template on the ``DATABASE_URL`` server:
   ``--users`` people each following ``--follows`` others, ``--posts`` posts.
2. With ``TIMELINE_FANOUT`` on, reads first pages of random people's home timelines with
   ``--threads`` threads in this process for ``--seconds``: through the app's selector
   (``posts.selectors.timeline_home_page``: the cached ids from Redis, then the posts from
   PostgreSQL) and through the cache alone (``posts.timeline_cache.page_ids``), once on
   the single Redis of ``REDIS_URL`` and once on the cluster (every timeline warm first).
3. Failover: the same selector reads on the cluster for ``--failover-seconds``; a few
   seconds in, the master holding most of the readers' timelines is killed with SIGKILL.
   Every read is checked against the page PostgreSQL gives. It reports reads attempted,
   answered (right), wrong and failed; the reads served by PostgreSQL meanwhile
   (``socialpay_degraded_operations{component="timeline"}``); the seconds from the kill
   until every slot had a live master again (the replica promoted), until a timeline on
   that shard was served from Redis again, and — the killed node restarted as soon as
   its replica was promoted — until the cluster was whole again (three masters with an
   in-sync replica each).

Everything runs on one machine and in one Python process (the GIL bounds the threads):
compare the columns of one run, not the absolute rates with other machines.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import harness  # noqa: E402
from harness import database_url, smoke_database  # noqa: E402
from scale_cluster import Cluster  # noqa: E402

BENCH_DB = "sp_bench_redis_cluster"
PAGE = 20


def seed(users: int, follows: int, posts: int) -> list[int]:
    """People, follows and posts in SQL; returns the people's ids."""
    import timeline as timeline_bench
    from django.db import connection

    from accounts.models import Follow, User
    from posts.models import Post

    with connection.cursor() as cur:
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            *harness.insert_select(
                User,
                timeline_bench._user_values("('rc' || i)", "('Reader ' || i)"),
                "generate_series(1, %(n)s) AS i",
                {"n": users},
            )
        )
        cur.execute("SELECT id FROM accounts_user WHERE handle LIKE 'rc%%' ORDER BY id")
        ids = [row[0] for row in cur.fetchall()]
        lo, hi = ids[0], ids[-1]
        sql, params = harness.insert_select(
            Follow,
            {"follower_id": "follower_id", "followee_id": "followee_id", "created_at": "now()"},
            """(
                SELECT f.id AS follower_id,
                       %(lo)s + floor(random() * (%(hi)s - %(lo)s + 1))::bigint AS followee_id
                FROM accounts_user f, LATERAL generate_series(1, %(k)s + 0 * f.id) g
                WHERE f.handle LIKE 'rc%%'
            ) edges WHERE follower_id <> followee_id""",
            {"lo": lo, "hi": hi, "k": follows},
        )
        cur.execute(sql + " ON CONFLICT DO NOTHING", params)
        cur.execute(
            *harness.insert_select(
                Post,
                {
                    "author_id": "%(lo)s + floor(random() * (%(hi)s - %(lo)s + 1))::bigint",
                    "text": "'cluster bench post ' || i",
                    "created_at": "now() - make_interval(secs => %(n)s - i)",
                },
                "generate_series(1, %(n)s) AS i",
                {"lo": lo, "hi": hi, "n": posts},
            )
        )
        cur.execute("ANALYZE")
    return ids


def use_redis(cluster_urls: list[str] | None) -> None:
    """Point the cache's, the rate limits' and the timeline's clients at one Redis (None)
    or at the cluster, as ``REDIS_CLUSTER_URLS`` would at start-up."""
    from django.conf import settings

    from core.api import throttling
    from posts import timeline_cache

    settings.REDIS_CLUSTER_URLS = cluster_urls or []
    settings.REDIS_RETRY_AFTER_SECONDS = 1.0 if cluster_urls else 5.0
    timeline_cache._client = None
    timeline_cache._scripts.clear()
    throttling._client = None
    timeline_cache._breaker._retry_at = 0.0


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run_readers(threads: int, seconds: float, read, viewers: list, check=None) -> dict:
    """``threads`` threads calling ``read(viewer)`` for ``seconds``; with ``check``,
    each answer is compared with ``check(viewer)``."""
    from django.db import connection

    counts = {"attempted": 0, "answered": 0, "wrong": 0, "failed": 0}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        try:
            while time.monotonic() < stop:
                viewer = rng.choice(viewers)
                started = time.perf_counter()
                try:
                    answer = read(viewer)
                except Exception as exc:  # counted and reported, the run goes on
                    with lock:
                        counts["attempted"] += 1
                        counts["failed"] += 1
                        errors.append(repr(exc))
                    continue
                mine.append((time.perf_counter() - started) * 1000)
                wrong = check is not None and answer != check(viewer)
                with lock:
                    counts["attempted"] += 1
                    counts["answered"] += not wrong
                    counts["wrong"] += wrong
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)

    started = time.monotonic()
    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    return {
        **counts,
        "rate": counts["attempted"] / elapsed,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p99": _pct(latencies, 0.99),
        "errors": errors[:3],
    }


def _degraded() -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(
        "socialpay_degraded_operations_total", {"component": "timeline", "dependency": "redis"}
    )
    return value or 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--follows", type=int, default=50)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--readers", type=int, default=500, help="people whose timelines are read")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10, help="per case")
    parser.add_argument("--failover-seconds", type=float, default=20)
    parser.add_argument("--smoke", action="store_true", help="toy size (for the tests)")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.follows, args.posts, args.readers = 60, 8, 600, 30
        args.threads, args.seconds, args.failover_seconds = 2, 0.5, 6

    name = smoke_database(BENCH_DB)  # a throwaway migrated copy, seeded below
    os.environ["DATABASE_URL"] = database_url(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    prefix = f"bench-rc-{os.getpid()}"
    os.environ["CACHE_KEY_PREFIX"] = prefix
    sys.path.insert(0, str(ROOT / "bench"))
    import django

    django.setup()
    from django.conf import settings

    from accounts.models import User
    from posts import selectors, timeline_cache

    settings.DEBUG = False
    settings.TIMELINE_FANOUT = True
    directory = ROOT / ".data" / f"redis-cluster-bench-{uuid.uuid4().hex[:8]}"
    cluster = Cluster(directory=directory)
    load_before = os.getloadavg()
    try:
        cluster.up_redis_cluster()
        started = time.monotonic()
        ids = seed(args.users, args.follows, args.posts)
        print(
            f"seeded {args.users:,} people following {args.follows} each, {args.posts:,} posts "
            f"in {time.monotonic() - started:.1f} s"
        )
        viewers = list(User.objects.filter(pk__in=random.Random(1).sample(ids, args.readers)))
        expected = {}
        settings.TIMELINE_FANOUT = False
        for viewer in viewers:
            posts, _ = selectors.timeline_home_page(viewer=viewer, before=None, size=PAGE)
            expected[viewer.pk] = [p.pk for p in posts]
        settings.TIMELINE_FANOUT = True

        def selector_read(viewer) -> list[int]:
            posts, _ = selectors.timeline_home_page(viewer=viewer, before=None, size=PAGE)
            return [p.pk for p in posts]

        author_sets = {v.pk: selectors.timeline_author_ids(viewer=v) for v in viewers}

        def cache_read(viewer):
            return timeline_cache.page_ids(
                viewer_id=viewer.pk,
                author_ids=author_sets[viewer.pk],
                before=None,
                size=PAGE,
                load_ids=selectors.timeline_ids,
            )

        results = {}
        for label, urls in (("one Redis", None), ("Redis Cluster", cluster.redis_cluster_urls)):
            use_redis(urls)
            for viewer in viewers:  # every timeline warm
                assert selector_read(viewer) == expected[viewer.pk]
            results[(label, "selector")] = run_readers(
                args.threads, args.seconds, selector_read, viewers
            )
            results[(label, "cache")] = run_readers(args.threads, args.seconds, cache_read, viewers)

        # --- failover --------------------------------------------------------------------
        use_redis(cluster.redis_cluster_urls)
        client = timeline_cache._redis()
        by_master: dict[str, list] = {}
        for viewer in viewers:
            node = client.get_node_from_key(timeline_cache._keys(viewer.pk)[0]).name
            by_master.setdefault(node, []).append(viewer)
        victim_name, victims = max(by_master.items(), key=lambda item: len(item[1]))
        victim = cluster.redis_cluster_ports.index(int(victim_name.rsplit(":", 1)[1]))
        timings: dict[str, float] = {}

        def chaos() -> None:
            from django.db import connection

            time.sleep(min(3.0, args.failover_seconds / 4))
            killed = time.monotonic()
            try:
                cluster.redis_cluster_node_kill(victim)
                cluster.redis_cluster_wait(seconds=120)
                timings["promoted"] = time.monotonic() - killed
                cluster.redis_cluster_node_start(victim)  # it rejoins as a replica
                probe = victims[0]
                while time.monotonic() - killed < 120:
                    if cache_read(probe) is not None:
                        timings["redis again"] = time.monotonic() - killed
                        break
                    time.sleep(0.05)
                cluster.redis_cluster_wait(whole=True, seconds=180)
                timings["whole"] = time.monotonic() - killed
            finally:
                connection.close()

        degraded_before = _degraded()
        chaos_thread = threading.Thread(target=chaos)
        chaos_thread.start()
        failover = run_readers(
            args.threads,
            args.failover_seconds,
            selector_read,
            viewers,
            check=lambda v: expected[v.pk],
        )
        chaos_thread.join()
        degraded = _degraded() - degraded_before
        load_after = os.getloadavg()

        print(
            f"{len(viewers)} readers' timelines, {args.threads} threads, {args.seconds:.0f} s "
            f"per case; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, "
            f"{os.cpu_count()} CPUs (one machine for everything)"
        )
        print(f"{'first page of a home timeline':34}{'one Redis':>16}{'Redis Cluster':>16}")
        for kind, label in (("selector", "selector (Redis + posts)"), ("cache", "cache (Redis)")):
            for metric, unit in (("rate", "/s"), ("p50", " ms"), ("p99", " ms")):
                cells = [
                    f"{results[(setup, kind)][metric]:.1f}{unit}"
                    for setup in ("one Redis", "Redis Cluster")
                ]
                name = f"{label} {'reads' if metric == 'rate' else metric}"
                print(f"{name:34}" + "".join(f"{c:>16}" for c in cells))
        for setup in ("one Redis", "Redis Cluster"):
            failed = sum(results[(setup, kind)]["failed"] for kind in ("selector", "cache"))
            if failed:
                print(f"{setup}: {failed} failed reads: {results[(setup, 'selector')]['errors']}")
        print(
            f"\nfailover: master {victim_name} killed (SIGKILL) "
            f"{min(3.0, args.failover_seconds / 4):.0f} s into {args.failover_seconds:.0f} s "
            f"of reads; it held {len(victims)} of the {len(viewers)} timelines"
        )
        print(
            f"  reads attempted {failover['attempted']}, answered right {failover['answered']}, "
            f"wrong {failover['wrong']}, failed {failover['failed']}; "
            f"{degraded:.0f} timeline reads served by PostgreSQL instead (the readers' and a "
            f"probe's every 50 ms)"
        )
        print(
            f"  p50 {failover['p50']:.1f} ms, p99 {failover['p99']:.1f} ms over the run; "
            f"{failover['rate']:.1f} reads/s"
        )
        print(
            f"  after the kill: every slot had a live master (replica promoted) in "
            f"{timings.get('promoted', float('nan')):.1f} s; that shard's timelines were read "
            f"from Redis again in {timings.get('redis again', float('nan')):.1f} s; the "
            f"cluster was whole again (killed node back as a replica, in sync) in "
            f"{timings.get('whole', float('nan')):.1f} s"
        )
        if failover["errors"]:
            print(f"  errors: {failover['errors']}")
        return int(failover["failed"] > 0 or failover["wrong"] > 0 or "whole" not in timings)
    finally:
        use_redis(None)
        cluster.down_redis_cluster()
        shutil.rmtree(directory, ignore_errors=True)
        import redis

        single = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(single.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            single.delete(*keys[start : start + 500])
        single.close()


if __name__ == "__main__":
    sys.exit(main())
