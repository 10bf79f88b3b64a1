"""Reads of posts: timelines, threads, single posts, hashtag search.

Every list here is keyset-paginated on ``id`` (newest first) and costs a fixed number of
queries whatever its length: authors, reposted originals and their authors come in the
same query (``select_related``), "did I like / repost this" is an ``EXISTS``
annotation and the photos of the post a row shows are an array of JSON objects
(``shown_images``) in the same row, not a query per row; so are the parts other apps
register in ``posts.shown_parts`` (the products for sale).

Home timeline = the viewer's own top-level posts and reposts plus those of the people they
follow, minus people they muted. The followee ids are read first (one query). Then:

- up to ``LATERAL_MAX_AUTHORS`` authors: for each author, the newest page-size ids below
  the cursor straight from the partial index ``posts_timeline`` (author, id DESC), merged
  and cut to one page (a ``LATERAL`` join: the cost grows with authors times page size, whatever the
  authors' history or how rarely they post), then one query for those posts;
- more authors: one query walking recent posts' ids backwards and keeping those by the
  authors (with that many authors, matching posts are dense, so the walk is short), then
  one query for those posts.

Either way the number of queries per page is fixed (3), whatever the number of follows.
The posts query (every flag, the photos, the products) is built and compiled once per
process (``core.precompiled``): building it took more CPU than PostgreSQL takes to run it.

With ``TIMELINE_FANOUT`` on, the page's ids come from the viewer's timeline cached in Redis
(``posts.timeline_cache``: fan-out on write, celebrities merged on read); the followee
query and the posts query stay, the id query goes (or shrinks to the celebrities).
"""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connections, router
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, JSONObject

from accounts.models import Follow, Mute, User
from core.precompiled import Precompiled
from posts import timeline_cache
from posts.locked import shown_locked_access_q
from posts.models import Like as PostLike
from posts.models import Post, PostImage
from posts.services import PostNotFound
from posts.shown_parts import shown_part_annotations

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
THREAD_MAX_POSTS = 200
# Replies per page of a post's page, as many as posts on a timeline page: every reply is
# a full post with its buttons (about 0.7 ms of rendering each), and a thread of 200 took
# several times the page budget (100 ms at the 95th percentile) to render.
THREAD_PAGE_SIZE = PAGE_SIZE_DEFAULT
HASHTAG_SEARCH_MAX = 50
LATERAL_MAX_AUTHORS = 400


def clamp_page_size(value, default: int = PAGE_SIZE_DEFAULT) -> int:
    """Page sizes are clamped to 1..``PAGE_SIZE_MAX``; anything unparsable is the default."""
    try:
        size = int(value)
    except (TypeError, ValueError):
        return default
    return max(1, min(size, PAGE_SIZE_MAX))


def _visible() -> Q:
    """Not deleted, not hidden by staff, author not suspended; the same for a repost's original."""
    return Q(deleted_at__isnull=True, hidden_at__isnull=True, author__is_active=True) & (
        Q(repost_of__isnull=True)
        | Q(
            repost_of__deleted_at__isnull=True,
            repost_of__hidden_at__isnull=True,
            repost_of__author__is_active=True,
        )
    )


def _shown_images() -> ArraySubquery:
    """The photos of the post a row shows (itself, or a repost's original), in order, as
    ``[{"name", "width", "height", "alt"}]``: one index scan of ``post_image_position_once``
    per row, inside the row's own query."""
    return ArraySubquery(
        PostImage.objects.filter(post_id=Coalesce(OuterRef("repost_of_id"), OuterRef("id")))
        .order_by("position")
        .values(
            json=JSONObject(name="image", width="width", height="height", alt="alt"),
        )
    )


def _with_viewer_flags(qs: QuerySet[Post], viewer: User | None) -> QuerySet[Post]:
    qs = qs.select_related("author", "repost_of", "repost_of__author").annotate(
        # And what other apps show on the card (a product for sale), in the same row.
        shown_images=_shown_images(),
        **shown_part_annotations(),
    )
    if viewer is None or not viewer.is_authenticated:
        return qs
    # Flags refer to the original when the row is a repost.
    original = Coalesce(OuterRef("repost_of_id"), OuterRef("id"))
    return qs.annotate(
        # Paid / members-only content (payments.creators): author, unlockers, members;
        # for a repost, of its original (the post the row shows).
        viewer_reads_locked=ExpressionWrapper(
            shown_locked_access_q(viewer=viewer), output_field=BooleanField()
        ),
        viewer_liked=Exists(PostLike.objects.filter(user_id=viewer.pk, post_id=original)),
        viewer_reposted=Exists(
            Post.objects.filter(author_id=viewer.pk, repost_of_id=original, deleted_at__isnull=True)
        ),
    )


def timeline_author_ids(*, viewer: User) -> list[int]:
    """The viewer and everyone they follow and have not muted (one query)."""
    ids = list(
        Follow.objects.filter(follower_id=viewer.pk)
        .exclude(followee_id__in=Mute.objects.filter(muter_id=viewer.pk).values("muted_id"))
        .values_list("followee_id", flat=True)
    )
    ids.append(viewer.pk)
    return ids


def timeline_home(*, viewer: User, author_ids: list[int] | None = None) -> QuerySet[Post]:
    """The home timeline as an unsliced queryset ordered newest first (paginate on id)."""
    if author_ids is None:
        author_ids = timeline_author_ids(viewer=viewer)
    qs = Post.objects.filter(_visible(), reply_to__isnull=True, author_id__in=author_ids)
    return _with_viewer_flags(qs, viewer).order_by("-id")


_LATERAL_PAGE_SQL = """
    SELECT t.id
    FROM unnest(%(authors)s::bigint[]) AS a(author_id)
    CROSS JOIN LATERAL (
        SELECT p.id FROM posts_post p
        WHERE p.author_id = a.author_id
          AND p.reply_to_id IS NULL AND p.deleted_at IS NULL AND p.hidden_at IS NULL
          AND p.id < %(before)s
        ORDER BY p.id DESC
        LIMIT %(limit)s
    ) AS t
    ORDER BY t.id DESC
    LIMIT %(limit)s
"""
_NO_CURSOR = 2**63 - 1


def timeline_ids(author_ids: list[int], before: int | None, limit: int) -> list[int]:
    """Ids of the newest ``limit`` top-level, not deleted or hidden posts by ``author_ids``
    below ``before``, newest first (one query; see the module docstring for the plans)."""
    if len(author_ids) > LATERAL_MAX_AUTHORS:
        qs = Post.objects.filter(
            reply_to__isnull=True,
            deleted_at__isnull=True,
            hidden_at__isnull=True,
            # One array parameter, not one placeholder per author (thousands of them).
            author_id__any_of=author_ids,
        )
        if before is not None:
            qs = qs.filter(id__lt=before)
        return list(qs.order_by("-id").values_list("id", flat=True)[:limit])
    # Raw SQL is not routed by itself: ask the router where Post reads go (a read replica
    # for a timeline request when core.db_router is on, else the primary), so that the ids
    # and the rows of a page are read from the same kind of database.
    with connections[router.db_for_read(Post)].cursor() as cursor:
        cursor.execute(
            _LATERAL_PAGE_SQL,
            {"authors": author_ids, "before": before or _NO_CURSOR, "limit": limit},
        )
        return [row[0] for row in cursor.fetchall()]


def timeline_home_page(
    *, viewer: User, before: int | None, size: int
) -> tuple[list[Post], int | None]:
    """One page of the home timeline: (posts newest first, next ``before`` or None).

    With ``TIMELINE_FANOUT`` the page's ids come from the viewer's cached timeline
    (``posts.timeline_cache``), celebrities merged in; otherwise, and whenever the cache
    cannot answer, from PostgreSQL."""
    author_ids = timeline_author_ids(viewer=viewer)
    cached = timeline_cache.page_ids(
        viewer_id=viewer.pk, author_ids=author_ids, before=before, size=size, load_ids=timeline_ids
    )
    if cached is not None:
        ids, next_before = cached
        # A fan-out racing an unfollow or a mute can leave a post of someone no longer in
        # the set: it is dropped here (the page is then one shorter, never wrong).
        allowed = set(author_ids)
        return [p for p in _posts_by_ids(ids, viewer) if p.author_id in allowed], next_before
    ids = timeline_ids(author_ids, before, size + 1)
    next_before = ids[size - 1] if len(ids) > size else None
    return _posts_by_ids(ids[:size], viewer), next_before


def _posts_by_ids_query(ids: list[int], viewer_id: int | None) -> QuerySet[Post]:
    # This query re-applies every visibility rule (suspended authors, originals of
    # reposts); a row it drops makes this page shorter, never the next one wrong.
    viewer = User(pk=viewer_id) if viewer_id is not None else None
    qs = Post.objects.filter(_visible(), id__any_of=ids)
    return _with_viewer_flags(qs, viewer).order_by("-id")


# The page query of every home timeline, built and compiled once per process
# (core.precompiled): building it cost more CPU than PostgreSQL spends answering it.
_POSTS_BY_IDS = Precompiled(_posts_by_ids_query, name="posts.timeline_page")


def _posts_by_ids(ids: list[int], viewer: User | None) -> list[Post]:
    return list(_POSTS_BY_IDS(list(ids), _viewer_id(viewer)))


def profile_page(
    *, author: User, viewer: User | None, before: int | None, size: int
) -> tuple[list[Post], int | None]:
    """One page of a person's posts and reposts, newest first: (posts, next ``before``)."""
    qs = Post.objects.filter(_visible(), reply_to__isnull=True, author_id=author.pk)
    return _page_by_ids(qs, viewer, before=before, size=size)


def public_page(
    *, viewer: User | None, before: int | None, size: int
) -> tuple[list[Post], int | None]:
    """One page of recent original posts by active people, for visitors."""
    qs = Post.objects.filter(
        _visible(), reply_to__isnull=True, repost_of__isnull=True, author__is_active=True
    )
    return _page_by_ids(qs, viewer, before=before, size=size)


def _page_by_ids(
    qs: QuerySet[Post], viewer: User | None, *, before: int | None, size: int
) -> tuple[list[Post], int | None]:
    """The page's ids first (a plain keyset query), then its rows with every flag through
    the compiled page query: one query more than asking for the rows at once, and a few
    milliseconds of CPU less (building the flags costs more than running them)."""
    if before is not None:
        qs = qs.filter(id__lt=before)
    ids = list(qs.order_by("-id").values_list("id", flat=True)[: size + 1])
    next_before = ids[size - 1] if len(ids) > size else None
    return _posts_by_ids(ids[:size], viewer), next_before


def timeline_profile(*, author: User, viewer: User | None) -> QuerySet[Post]:
    qs = Post.objects.filter(_visible(), reply_to__isnull=True, author_id=author.pk)
    return _with_viewer_flags(qs, viewer).order_by("-id")


def timeline_public(*, viewer: User | None = None) -> QuerySet[Post]:
    """Recent original posts by active people, for visitors who are not signed in."""
    qs = Post.objects.filter(
        _visible(), reply_to__isnull=True, repost_of__isnull=True, author__is_active=True
    )
    return _with_viewer_flags(qs, viewer).order_by("-id")


def page_before(
    qs: QuerySet[Post], *, before: int | None, size: int
) -> tuple[list[Post], int | None]:
    """One keyset page: posts with id < ``before``; returns (posts, next ``before`` or None)."""
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].pk if more and rows else None)


def _post_query(post_id: int, viewer_id: int | None) -> QuerySet[Post]:
    viewer = User(pk=viewer_id) if viewer_id is not None else None
    qs = Post.objects.filter(_visible(), pk=post_id)
    return _with_viewer_flags(qs, viewer).select_related("reply_to__author")


def _replies_query(root_id: int, after: int | None, viewer_id: int | None) -> QuerySet[Post]:
    viewer = User(pk=viewer_id) if viewer_id is not None else None
    replies = Post.objects.filter(_visible(), thread_root_id=root_id)
    if after is not None:
        replies = replies.filter(id__gt=after)
    # The bound is part of the SQL; a smaller ``limit`` is cut after reading.
    return _with_viewer_flags(replies, viewer).order_by("id")[:THREAD_MAX_POSTS]


# A post's page reads the post, its thread's root and its replies with every flag: built
# and compiled once per process, as the timeline page (core.precompiled).
_POST = Precompiled(_post_query, name="posts.post")
_REPLIES = Precompiled(_replies_query, name="posts.replies")


def _viewer_id(viewer: User | None) -> int | None:
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


def post_get(*, post_id: int, viewer: User | None) -> Post:
    """A visible post. Deleted, hidden or missing posts raise ``PostNotFound`` alike."""
    rows = list(_POST(post_id, _viewer_id(viewer)))
    if not rows:
        raise PostNotFound()
    return rows[0]


def post_thread(
    *, post: Post, viewer: User | None, after: int | None = None, limit: int = THREAD_MAX_POSTS
) -> tuple[Post | None, list[Post]]:
    """The root of ``post``'s thread and its replies, oldest first, at most ``limit`` of
    them (bounded by ``THREAD_MAX_POSTS``), those with an id above ``after`` when given.

    Deleted or hidden replies are left out; a deleted root comes back as ``None``.
    """
    root_id = post.thread_root_id or post.pk
    viewer_id = _viewer_id(viewer)
    root = None
    if root_id != post.pk:
        root = next(iter(_POST(root_id, viewer_id)), None)
    limit = max(1, min(limit, THREAD_MAX_POSTS))
    return root, list(_REPLIES(root_id, after, viewer_id))[:limit]


def post_search_hashtag(
    *, tag: str, viewer: User | None, before: int | None = None, size: int = HASHTAG_SEARCH_MAX
) -> tuple[list[Post], int | None]:
    """One keyset page of visible posts with ``#tag``: (posts, next ``before`` or None)."""
    tag = tag.lstrip("#")[:50]
    if not tag or not tag.replace("_", "").isalnum():
        return [], None
    qs = Post.objects.filter(_visible(), text__iregex=rf"#{tag}\M")
    size = max(1, min(size, HASHTAG_SEARCH_MAX))
    return page_before(_with_viewer_flags(qs, viewer).order_by("-id"), before=before, size=size)
