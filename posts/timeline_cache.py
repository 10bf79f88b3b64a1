"""Home timelines cached in Redis: fan-out on write, celebrities merged on read.

Behind ``TIMELINE_FANOUT``. PostgreSQL stays the truth: the cache only holds post *ids*,
every page's posts are read (and every visibility rule applied) by ``posts.selectors``,
and whenever the cache misses, is cold, cannot answer a page, or Redis is down, the
timeline is read from PostgreSQL exactly as without the cache (``core.redis_fallback``).

Keys, under the cache's ``KEY_PREFIX``. On a Redis Cluster (``core.redis_clients``) a
key's slot comes from its hash tag, the part in braces: a viewer's two keys share the tag
``{tl:<viewer>}``, so the scripts and the transaction that touch both run on one master,
and different viewers spread over all of them.

- ``{tl:<viewer>}``: a sorted set of post ids scored by id, at most
  ``TIMELINE_CACHE_SIZE``. A sorted set, not a list: pushing an id twice (a task run
  again) keeps one copy, and fan-outs that arrive out of order still read newest first.
- ``{tl:<viewer>}:meta``: ``fp``, the fingerprint of the author set the timeline was built
  for (the viewer and who they follow and have not muted), and ``full``, "1" while the set
  holds every post of those authors (fewer than the cap), so running out means the end.
- ``tl:celebrities``: authors with more than ``TIMELINE_CELEBRITY_FOLLOWERS`` followers
  when they last posted. Their posts are not fanned out (one post would be that many
  writes); a read merges them in from PostgreSQL (a few authors: one small query). It is
  never sent in one command with a viewer's keys (a read's pipeline is not a transaction).

A fan-out writes to many viewers, hence to many slots: it is a non-transactional
pipeline, which redis-py's cluster client splits into one batch per master.

Why it stays right:

- Follow, unfollow, block (which removes follows) and mute all change the viewer's author
  set, hence its fingerprint: the next read rebuilds the timeline from PostgreSQL. No hook
  in ``accounts`` is needed, and a fan-out racing an unfollow is filtered on read (posts
  by authors outside the set are dropped).
- A fan-out writes only to timelines that exist (their meta key is there). A rebuild first
  creates the meta key, then reads PostgreSQL, then writes the ids: a post committed after
  the read started is fanned out to the key created before it, so it is never missed.
- Deleted posts are removed by a task and filtered on read anyway; hidden posts and
  suspended authors are filtered on read (``posts.selectors``).
- Every timeline is rebuilt ``TIMELINE_CACHE_TTL_SECONDS`` after it was built, which bounds
  any drift (a fan-out lost with the broker, an author who stopped being a celebrity).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable

import redis
import structlog
from django.conf import settings
from django.db import transaction
from redis.cluster import RedisCluster

from core import redis_clients
from core.redis_fallback import RedisBreaker

log = structlog.get_logger(__name__)

_breaker = RedisBreaker("timeline")
_client: redis.Redis | RedisCluster | None = None
_scripts: dict[str, object] = {}
# How long a half-built timeline's meta key lives if its builder dies.
BUILD_SECONDS = 60
PIPELINE_CHUNK = 1000

# Push one id into one existing timeline; trim to the cap (the timeline is then no longer
# "full"); a set created by this push takes its meta key's expiry. Returns 1 when written.
_FANOUT_LUA = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
end
if redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[2]) then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
  redis.call('HSET', KEYS[2], 'full', '0')
end
return 1
"""

# Finish a rebuild: add the ids read from PostgreSQL (beside those fanned out meanwhile),
# trim, record the fingerprint, and set both expiries. ARGV: fp, cap, ttl, full, ids...
_BUILD_LUA = """
for i = 5, #ARGV, 500 do
  local args = {}
  for j = i, math.min(i + 499, #ARGV) do
    args[#args + 1] = ARGV[j]
    args[#args + 1] = ARGV[j]
  end
  redis.call('ZADD', KEYS[1], unpack(args))
end
local full = ARGV[4]
if redis.call('ZCARD', KEYS[1]) > tonumber(ARGV[2]) then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
  full = '0'
end
redis.call('HSET', KEYS[2], 'fp', ARGV[1], 'full', full)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""


class FanoutFailed(Exception):
    """Redis could not take a fan-out (down, or a cluster master in failover): the task
    tries again later (``posts.tasks``) rather than leave the post out of warm timelines
    until they are rebuilt."""


# (author ids, before or None, limit) -> visible top-level post ids, newest first.
IdsLoader = Callable[[list[int], int | None, int], list[int]]


def enabled() -> bool:
    return bool(settings.TIMELINE_FANOUT)


def _redis() -> redis.Redis | RedisCluster:
    # One client (and connection pool) per process; short timeouts: a slow Redis must cost
    # a read less than the database path it stands in for.
    global _client
    if _client is None:
        _client = redis_clients.client(socket_connect_timeout=0.5, socket_timeout=0.5)
    return _client


def _script(name: str, source: str):
    """A Lua script registered once per process (sent by its SHA, loaded on a miss)."""
    if name not in _scripts:
        _scripts[name] = _redis().register_script(source)
    return _scripts[name]


def _prefix() -> str:
    return settings.CACHES["default"].get("KEY_PREFIX", "")


def _keys(viewer_id: int) -> tuple[str, str]:
    tagged = f"{_prefix()}:{{tl:{viewer_id}}}"
    return tagged, f"{tagged}:meta"


def _execute_with_scripts(build) -> list:
    """``build(pipe)`` queues commands (EVALSHAs of ``_scripts`` among them) on a new
    non-transactional pipeline, which is executed. A server that does not know a script
    (never sent it, restarted, or a cluster master promoted since: scripts are not
    replicated) answers NOSCRIPT; the scripts are then loaded (on every master of a
    cluster) and the pipeline sent once more (what it queues must be idempotent)."""
    client = _redis()
    for attempt in (1, 2):
        pipe = client.pipeline(transaction=False)
        build(pipe)
        try:
            return pipe.execute()
        except redis.exceptions.NoScriptError:
            if attempt == 2:
                raise
            for script in _scripts.values():
                client.script_load(script.script)  # type: ignore[attr-defined]
    raise AssertionError("unreachable")


def _celebrities_key() -> str:
    return f"{_prefix()}:tl:celebrities"


def fingerprint(author_ids: list[int]) -> str:
    return hashlib.blake2b(array("q", sorted(author_ids)).tobytes(), digest_size=12).hexdigest()


# --- write side ----------------------------------------------------------------------------
def post_published(*, post_id: int) -> None:
    """After the caller's transaction commits, fan the top-level post ``post_id`` out. When
    the task cannot be queued, it runs here (a lost push would leave timelines without the
    post until they are rebuilt)."""
    if not enabled():
        return
    transaction.on_commit(lambda: _queue("timeline_fanout", post_id))


def post_removed(*, post_id: int) -> None:
    """After commit, take the deleted post ``post_id`` out of the cached timelines."""
    if not enabled():
        return
    transaction.on_commit(lambda: _queue("timeline_remove", post_id))


def _queue(name: str, post_id: int) -> None:
    from posts import tasks

    task, inline = {
        "timeline_fanout": (tasks.timeline_fanout_task, timeline_fanout),
        "timeline_remove": (tasks.timeline_remove_task, timeline_remove),
    }[name]
    try:
        task.delay(post_id)
    except Exception:  # the broker is down
        log.warning("timeline.queue_failed", task=name, post=post_id, exc_info=True)
        inline(post_id=post_id)


def _audience(author_id: int) -> list[int] | None:
    """The timelines a post of ``author_id`` goes to (followers and the author), or None
    for a celebrity."""
    from accounts.models import Follow

    limit = settings.TIMELINE_CELEBRITY_FOLLOWERS
    followers = list(
        Follow.objects.filter(followee_id=author_id).values_list("follower_id", flat=True)[
            : limit + 1
        ]
    )
    if len(followers) > limit:
        return None
    return [*followers, author_id]


def timeline_fanout(*, post_id: int, raise_on_failure: bool = False) -> int:
    """Push ``post_id`` into the cached timelines of its author's followers (and the
    author's own) that exist. Idempotent. Returns the number of Redis timelines written
    (the write amplification); 0 for a reply, a post gone, a celebrity's post, or Redis
    down (the timelines are then rebuilt from PostgreSQL when they expire) — unless
    ``raise_on_failure``, when Redis down raises ``FanoutFailed`` (the task retries)."""
    from posts.models import Post

    post = (
        Post.objects.filter(
            pk=post_id, reply_to__isnull=True, deleted_at__isnull=True, hidden_at__isnull=True
        )
        .values("author_id")
        .first()
    )
    if post is None:
        return 0
    author_id = post["author_id"]
    audience = _audience(author_id)
    try:
        client = _redis()
        if audience is None:
            client.sadd(_celebrities_key(), author_id)
            return 0
        client.srem(_celebrities_key(), author_id)
        fanout = _script("fanout", _FANOUT_LUA)
        cap = settings.TIMELINE_CACHE_SIZE
        written = 0
        for start in range(0, len(audience), PIPELINE_CHUNK):
            chunk = audience[start : start + PIPELINE_CHUNK]

            def queue(pipe, chunk=chunk):
                for viewer_id in chunk:
                    # EVALSHA by hand: redis-py's cluster pipeline refuses Script objects;
                    # the command is routed by its first key.
                    pipe.execute_command("EVALSHA", fanout.sha, 2, *_keys(viewer_id), post_id, cap)

            written += sum(_execute_with_scripts(queue))
    except redis_clients.ERRORS as exc:
        _breaker.failed(exc)
        log.warning("timeline.fanout_failed", post=post_id, error=type(exc).__name__)
        if raise_on_failure:
            raise FanoutFailed(post_id) from exc
        return 0
    _breaker.succeeded()
    return written


def timeline_remove(*, post_id: int) -> int:
    """Remove ``post_id`` from the cached timelines of its author's followers (reads
    filter it anyway; this keeps their pages full). Returns how many held it."""
    from accounts.models import Follow
    from posts.models import Post

    author_id = Post.objects.filter(pk=post_id).values_list("author_id", flat=True).first()
    if author_id is None:
        return 0
    followers = Follow.objects.filter(followee_id=author_id).values_list("follower_id", flat=True)
    audience = [*followers, author_id]
    removed = 0
    try:
        client = _redis()
        for start in range(0, len(audience), PIPELINE_CHUNK):
            pipe = client.pipeline(transaction=False)
            for viewer_id in audience[start : start + PIPELINE_CHUNK]:
                pipe.zrem(_keys(viewer_id)[0], post_id)
            removed += sum(pipe.execute())
    except redis_clients.ERRORS as exc:
        _breaker.failed(exc)
        return 0
    return removed


# --- read side -----------------------------------------------------------------------------
def _build(
    client: redis.Redis | RedisCluster, viewer_id: int, author_ids: list[int], load_ids: IdsLoader
):
    """Rebuild the viewer's cached timeline from PostgreSQL; returns the ids read."""
    key, meta = _keys(viewer_id)
    cap = settings.TIMELINE_CACHE_SIZE
    # First the meta key (fan-outs from now on land here), then the read. One transaction
    # on the viewer's slot (both keys carry its hash tag).
    pipe = client.pipeline(transaction=True)
    pipe.delete(key, meta)
    pipe.hset(meta, mapping={"fp": "", "full": "0"})
    pipe.expire(meta, BUILD_SECONDS)
    pipe.execute()
    ids = load_ids(author_ids, None, cap)
    full = "1" if len(ids) < cap else "0"
    _script("build", _BUILD_LUA)(
        keys=[key, meta],
        args=[fingerprint(author_ids), cap, settings.TIMELINE_CACHE_TTL_SECONDS, full, *ids],
    )
    return ids, full == "1"


def page_ids(
    *,
    viewer_id: int,
    author_ids: list[int],
    before: int | None,
    size: int,
    load_ids: IdsLoader,
) -> tuple[list[int], int | None] | None:
    """One page of the viewer's home timeline from the cache: (post ids newest first,
    next ``before`` or None), or None when the database must answer (fan-out off, Redis
    down, or a page older than the cache holds). Rebuilds a missing or outdated cache.
    ``author_ids``: the viewer and who they follow and have not muted; ``load_ids`` reads
    ids from PostgreSQL (``posts.selectors.timeline_ids``)."""
    if not enabled():
        return None
    if not _breaker.available():
        _breaker.fallback()
        return None
    key, meta = _keys(viewer_id)
    upper = f"({before}" if before is not None else "+inf"
    try:
        client = _redis()
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(meta)
        pipe.zrevrangebyscore(key, upper, 1, start=0, num=size + 1)
        pipe.smismember(_celebrities_key(), author_ids)
        state, cached, celebrity = pipe.execute()
        if state.get(b"fp") == fingerprint(author_ids).encode():
            ids = [int(i) for i in cached]
            full = state.get(b"full") == b"1"
        else:
            everything, full = _build(client, viewer_id, author_ids, load_ids)
            ids = [i for i in everything if before is None or i < before][: size + 1]
    except redis_clients.ERRORS as exc:
        _breaker.failed(exc)
        _breaker.fallback()
        return None
    _breaker.succeeded()
    if len(ids) <= size and not full:
        return None  # older than the cache holds
    celebrities = [a for a, is_one in zip(author_ids, celebrity, strict=True) if is_one]
    if celebrities:
        ids = sorted(set(ids).union(load_ids(celebrities, before, size + 1)), reverse=True)
        ids = ids[: size + 1]
    next_before = ids[size - 1] if len(ids) > size else None
    return ids[:size], next_before
