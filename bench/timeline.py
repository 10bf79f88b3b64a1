"""Home timeline benchmark: server time and queries per page, at 10k users / 1M posts,
with fan-out on read (PostgreSQL) and fan-out on write (Redis, ``TIMELINE_FANOUT``).

    python bench/timeline.py [--reseed] [--rounds 40] [--warm 1000] [--posts 200]

Uses its own database, ``sp_bench_timeline`` on the server named by ``DATABASE_URL`` (created,
migrated and seeded on the first run or with ``--reseed``; seeding takes a minute or two
with ``generate_series``). Seeds 10,000 people, about 200 follows per person on average
(uniform 0..400) and 1,000,000 top-level posts spread over the authors, then three probe
people who follow exactly 10, 200 and 2,000 others.

For each probe it measures, ``--rounds`` times each:

- the selector (``posts.selectors.timeline_home_page``, one page of 20) — the database
  part of the request;
- the whole API request ``GET /api/v1/timeline`` through Django's test client (auth by
  Bearer token, pagination, serialisation to JSON), for the first page and a deep page
  (the page after the 1,000th post of that person's timeline);

and prints p50/p95 in milliseconds, the Python process's CPU milliseconds per call (steadier
than wall time on a busy machine; PostgreSQL's own CPU is not in it) and the number of SQL
queries per page. A reference, ``GET /api/v1/me`` (token check + one primary-key read),
is measured in the same loop, so that a ratio to it can be quoted from a single run.

It measures every case twice: fan-out on read (the timeline query in ``posts.selectors``)
and fan-out on write (the probes' timelines cached in Redis; a deep page past the cache's
``TIMELINE_CACHE_SIZE`` ids falls back to PostgreSQL, as in production). Then the write
side: ``--warm`` random people's timelines are cached, ``--posts`` posts by random authors
are fanned out (``posts.timeline_cache.timeline_fanout``, in-process), and it reports the
write amplification (Redis timelines written per post; with every timeline warm it would
be the audience, followers + 1), the posts skipped as a celebrity's, and the fan-out's
time per post. Its Redis keys live under a prefix of their own and are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import harness  # noqa: E402
from harness import database_ensure, database_url, smoke_database  # noqa: E402

BENCH_DB = "sp_bench_timeline"
USERS = 10_000
POSTS = 1_000_000
PROBES = {10: "probe10", 200: "probe200", 2000: "probe2000"}
# A person who follows 3 people with 5 posts each: fewer posts than a page, the case where
# scanning recent posts backwards (the plan PostgreSQL picks for a plain query) reads the
# whole table. Measured with both strategies.
SPARSE = "probesparse"


def _user_values(handle_sql: str, name_sql: str) -> dict[str, str]:
    """SQL for the columns of a seeded person; every other column takes its default."""
    return {
        "password": "'!'",
        "handle": handle_sql,
        "handle_key": handle_sql,
        # The skeleton folds 0/1 like the app does.
        "handle_skeleton": f"translate({handle_sql}, '01', 'ol')",
        "email": f"{handle_sql} || '@bench.invalid'",
        "display_name": name_sql,
        "date_joined": "now()",
    }


def seed(users: int, posts: int) -> None:
    from django.db import connection

    from accounts.models import Follow, User
    from posts.models import Post

    harness.migrate()
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT setseed(0.42)")
        # People: handles u1..uN.
        cur.execute(
            *harness.insert_select(
                User,
                _user_values("('u' || i)", "('User ' || i)"),
                "generate_series(1, %(n)s) AS i",
                {"n": users},
            )
        )
        cur.execute("SELECT min(id), max(id) FROM accounts_user")
        lo, hi = cur.fetchone()
        # Follows: each person follows a uniform 0..400 others (mean 200).
        sql, params = harness.insert_select(
            Follow,
            {"follower_id": "follower_id", "followee_id": "followee_id", "created_at": "now()"},
            """(
                SELECT f.id AS follower_id,
                       %(lo)s + floor(random() * (%(hi)s - %(lo)s + 1))::bigint AS followee_id
                FROM accounts_user f,
                     -- referencing f makes the series (and its random length) per person
                     LATERAL generate_series(1, floor(random() * 401 + 0 * f.id)::int) g
            ) edges WHERE follower_id <> followee_id""",
            {"lo": lo, "hi": hi},
        )
        cur.execute(sql + " ON CONFLICT DO NOTHING", params)
        # Posts: top-level posts, authors uniform, ids increasing with time.
        cur.execute(
            *harness.insert_select(
                Post,
                {
                    "author_id": "%(lo)s + floor(random() * (%(hi)s - %(lo)s + 1))::bigint",
                    "text": "'bench post number ' || i || ' #bench'",
                    "created_at": "now() - make_interval(secs => %(n)s - i)",
                },
                "generate_series(1, %(n)s) AS i",
                {"lo": lo, "hi": hi, "n": posts},
            )
        )
        # Probe people with an exact number of follows (at most everybody).
        for count, handle in PROBES.items():
            probe_id = _person(cur, handle, "Probe")
            cur.execute(
                *harness.insert_select(
                    Follow,
                    {"follower_id": "%(probe)s", "followee_id": "id", "created_at": "now()"},
                    "(SELECT id FROM accounts_user WHERE handle LIKE 'u%%' "
                    "ORDER BY random() LIMIT %(count)s) chosen",
                    {"probe": probe_id, "count": count},
                )
            )
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM accounts_follow")
        follows = cur.fetchone()[0]
    print(
        f"seeded {users:,} people, {follows:,} follows, {posts:,} posts "
        f"in {time.perf_counter() - started:.0f} s"
    )


def _person(cur, handle: str, name: str) -> int:
    from accounts.models import User

    sql, params = harness.insert_select(
        User, _user_values("%(handle)s::text", "%(name)s::text"), "(SELECT 1) one",
        {"handle": handle, "name": name},
    )  # fmt: skip
    cur.execute(sql + " RETURNING id", params)
    return cur.fetchone()[0]


def seed_sparse() -> None:
    from django.db import connection

    from posts.models import Post

    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM accounts_user WHERE handle = %s", [SPARSE])
        if cur.fetchone():
            return
        probe, *quiet = (_person(cur, h, "Quiet") for h in [SPARSE, "quiet1", "quiet2", "quiet3"])
        from accounts.models import Follow

        for author in quiet:
            Follow.objects.create(follower_id=probe, followee_id=author)
            cur.execute(
                *harness.insert_select(
                    Post,
                    {"author_id": "%(author)s", "text": "'rare post'", "created_at": "now()"},
                    "generate_series(1, 5)",
                    {"author": author},
                )
            )
        cur.execute("ANALYZE posts_post")


def measure_sparse(rounds: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from posts import selectors

    viewer = User.objects.get(handle_key=SPARSE)
    default_max = selectors.LATERAL_MAX_AUTHORS
    for label, limit in (("per-author (LATERAL)", default_max), ("single backward scan", 0)):
        selectors.LATERAL_MAX_AUTHORS = limit
        samples = []
        for _ in range(rounds if limit else max(3, rounds // 10)):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                page, _ = selectors.timeline_home_page(viewer=viewer, before=None, size=20)
                samples.append((time.perf_counter() - started) * 1000)
            assert len(page) == 15
        print(
            f"{'3 quiet':>8} {'selector, ' + label:<28} {statistics.median(samples):>8.1f} "
            f"{_pct(samples, 0.95):>8.1f} {'':>7} {'':>6} {len(queries):>8}"
        )
    selectors.LATERAL_MAX_AUTHORS = default_max


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(rounds: int, *, fanout: bool) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from accounts.services import token_create
    from posts import selectors

    settings.TIMELINE_FANOUT = fanout
    mode = "fan-out on write (Redis)" if fanout else "fan-out on read (PostgreSQL)"
    print(
        f"\n{mode}\n{'follows':>8} {'what':<28} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>7} "
        f"{'x ref':>6} {'queries':>8}\n{'-' * 80}"
    )
    for count, handle in PROBES.items():
        viewer = User.objects.get(handle_key=handle)
        qs = selectors.timeline_home(viewer=viewer)
        deep_before = next(iter(qs.values_list("id", flat=True)[1000:1001]))
        _, secret = token_create(user=viewer, name="bench")
        client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        first = client.get("/api/v1/timeline").json()
        assert len(first["data"]) == 20, first

        def selector_page(before, viewer=viewer):
            page, _ = selectors.timeline_home_page(viewer=viewer, before=before, size=20)
            assert len(page) == 20

        from posts.models import Post

        deep_cursor_url = _cursor_url_before(client, deep_before, Post)
        cases = [
            ("reference: API GET /me", lambda c=client: c.get("/api/v1/me")),
            ("selector, first page", lambda: selector_page(None)),
            ("selector, deep page (1000+)", lambda b=deep_before: selector_page(b)),
            ("API GET /timeline, first", lambda c=client: c.get("/api/v1/timeline")),
            ("API GET /timeline, deep", lambda u=deep_cursor_url, c=client: c.get(u)),
        ]
        for label, run in cases:
            run()  # warm caches and the connection
            samples, cpu = [], []
            for _ in range(rounds):
                with CaptureQueriesContext(connection) as queries:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    run()
                    samples.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - cpu_started) * 1000)
            p50 = statistics.median(samples)
            if label.startswith("reference"):
                reference = p50
            print(
                f"{count:>8} {label:<28} {p50:>8.1f} {_pct(samples, 0.95):>8.1f} "
                f"{statistics.median(cpu):>7.1f} {p50 / reference:>6.1f} {len(queries):>8}"
            )


def measure_fanout(*, warm: int, posts: int) -> None:
    """Write amplification and fan-out time, with ``warm`` random timelines cached."""
    import random

    from django.conf import settings
    from django.db import connection

    from accounts.models import Follow, User
    from posts import selectors, timeline_cache
    from posts.services import post_create

    rng = random.Random(42)
    people = list(User.objects.filter(handle__startswith="u").values_list("pk", flat=True))
    settings.TIMELINE_FANOUT = True
    started = time.perf_counter()
    for viewer_id in rng.sample(people, min(warm, len(people))):
        timeline_cache.page_ids(
            viewer_id=viewer_id,
            author_ids=selectors.timeline_author_ids(viewer=User(pk=viewer_id)),
            before=None,
            size=20,
            load_ids=selectors.timeline_ids,
        )
    warmed = min(warm, len(people))
    print(
        f"\nfan-out on write: {warmed:,} of {len(people):,} timelines warmed in "
        f"{time.perf_counter() - started:.0f} s; {posts} posts by random authors"
    )
    # The posts are written with the fan-out off (no task queued: nobody works on the
    # queue here) and fanned out in-process, timed.
    settings.TIMELINE_FANOUT = False
    writes, audiences, samples, celebrity = [], [], [], 0
    authors = list(User.objects.filter(pk__in=people))
    for _ in range(posts):
        author = rng.choice(authors)
        post = post_create(author=author, text="fan-out bench post")
        settings.TIMELINE_FANOUT = True
        began = time.perf_counter()
        written = timeline_cache.timeline_fanout(post_id=post.pk)
        samples.append((time.perf_counter() - began) * 1000)
        settings.TIMELINE_FANOUT = False
        followers = Follow.objects.filter(followee_id=author.pk).count()
        if followers > settings.TIMELINE_CELEBRITY_FOLLOWERS:
            celebrity += 1
        else:
            audiences.append(followers + 1)
        writes.append(written)
    connection.close()
    share = warmed / len(people)
    print(
        f"  Redis writes per post (write amplification): mean {statistics.mean(writes):.1f}, "
        f"max {max(writes)} with {share:.0%} of timelines warm; "
        f"mean audience (all warm) {statistics.mean(audiences or [0]):.1f}\n"
        f"  celebrity posts (not fanned out): {celebrity} of {posts} "
        f"(more than {settings.TIMELINE_CELEBRITY_FOLLOWERS:,} followers)\n"
        f"  fan-out time per post: p50 {statistics.median(samples):.1f} ms, "
        f"p95 {_pct(samples, 0.95):.1f} ms"
    )


def _redis_keys_drop(prefix: str) -> None:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    client.close()


def _cursor_url_before(client, before_id: int, post_model) -> str:
    """The API URL of the page that starts right after post ``before_id`` (DRF cursor)."""
    from base64 import b64encode
    from urllib.parse import urlencode

    token = b64encode(urlencode({"p": str(before_id)}).encode()).decode()
    return f"/api/v1/timeline?{urlencode({'cursor': token})}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--warm", type=int, default=1000, help="timelines cached before the fan-out figures"
    )
    parser.add_argument("--posts", type=int, default=200, help="posts fanned out")
    parser.add_argument(
        "--celebrity-followers",
        type=int,
        default=None,
        help="TIMELINE_CELEBRITY_FOLLOWERS for this run (default: the setting)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="toy size on a throwaway database (for the tests)"
    )
    args = parser.parse_args()
    if args.smoke:
        name, must_seed = smoke_database(BENCH_DB), True
        users, posts, args.rounds = 100, 20_000, 2
        # Some of the toy authors are celebrities, so the read-time merge runs too.
        args.warm, args.posts, args.celebrity_followers = 100, 10, 78
    else:
        name, users, posts = BENCH_DB, USERS, POSTS
        must_seed = database_ensure(BENCH_DB, fresh=args.reseed)
    os.environ["DATABASE_URL"] = database_url(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "socialpay.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The cached timelines go under a prefix of this run's own (deleted at the end).
    prefix = f"bench-timeline-{os.getpid()}"
    os.environ["CACHE_KEY_PREFIX"] = prefix
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    from rest_framework.throttling import SimpleRateThrottle

    SimpleRateThrottle.THROTTLE_RATES = {"user": "10000000/min", "anon": "10000000/min"}
    if must_seed:
        seed(users, posts)
    else:
        # A database seeded by an older version still gets the newer columns and indexes.
        harness.migrate()
    seed_sparse()
    if args.celebrity_followers is not None:
        settings.TIMELINE_CELEBRITY_FOLLOWERS = args.celebrity_followers
    try:
        measure(args.rounds, fanout=False)
        measure(args.rounds, fanout=True)
        settings.TIMELINE_FANOUT = False
        measure_sparse(args.rounds)
        measure_fanout(warm=args.warm, posts=args.posts)
    finally:
        _redis_keys_drop(prefix)


if __name__ == "__main__":
    main()
