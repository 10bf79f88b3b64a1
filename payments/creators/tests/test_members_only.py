"""Members-only posts: the public ``text`` is a teaser everyone may see; the locked content
is for the author and live members of the post's tier (or a pricier tier of the same
creator) only — in the home timeline, the profile timeline, the post page and the API, and
through reposts. Everyone else gets the teaser and a "Members only: join" placeholder.
Reading them costs no extra query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.services import follow_create
from core.money import Money
from payments.creators import services
from payments.creators.models import Membership
from payments.creators.tests.factories import api_for, fund, make_post, make_user
from posts import selectors as post_selectors
from posts.services import repost_create

pytestmark = pytest.mark.django_db

SECRET = "gold-only secret words"
TEASER = "a teaser for everyone"


@pytest.fixture
def world():
    creator = make_user("creator")
    silver = services.tier_create(creator=creator, name="Silver", price=Money(500, "USD"))
    gold = services.tier_create(creator=creator, name="Gold", price=Money(1000, "USD"))
    platinum = services.tier_create(creator=creator, name="Plat", price=Money(2000, "USD"))
    people = {name: make_user(name) for name in ("silver", "gold", "plat", "stranger", "lapsed")}
    for fan in people.values():
        fund(fan, 10_000)
    services.membership_subscribe(member=people["silver"], tier_id=silver.pk)
    services.membership_subscribe(member=people["gold"], tier_id=gold.pk)
    services.membership_subscribe(member=people["plat"], tier_id=platinum.pk)
    lapsed = services.membership_subscribe(member=people["lapsed"], tier_id=gold.pk)
    Membership.objects.filter(pk=lapsed.pk).update(status="expired")
    post = services.post_set_paid_content(
        author=creator,
        post=make_post(creator, TEASER),
        locked_text=SECRET,
        members_tier_id=gold.pk,
    )
    for person in [*people.values()]:
        follow_create(follower=person, followee=creator)
    return {"creator": creator, "post": post, "gold_tier": gold, **people}


READERS = ("creator", "gold", "plat")
NON_READERS = ("silver", "stranger", "lapsed")


def page_for(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("who", READERS + NON_READERS)
def test_every_surface_shows_the_locked_part_to_readers_only(world, who):
    viewer, post, creator = world[who], world["post"], world["creator"]
    reads = who in READERS
    # Selectors: home timeline, profile timeline, single post.
    page, _ = post_selectors.timeline_home_page(viewer=viewer, before=None, size=20)
    assert [p.viewer_reads_locked for p in page if p.pk == post.pk] == [reads]
    profile = post_selectors.timeline_profile(author=creator, viewer=viewer)
    assert profile.get(pk=post.pk).viewer_reads_locked is reads
    assert post_selectors.post_get(post_id=post.pk, viewer=viewer).viewer_reads_locked is reads
    # Pages: home, profile, post page. The teaser is always there.
    for url in ("/", f"/@{creator.handle}", f"/posts/{post.pk}"):
        html = page_for(viewer, url)
        assert TEASER in html
        assert (SECRET in html) is reads, url
        if not reads:
            assert "Members only: join" in html
    # API: single post, home timeline, profile timeline.
    api = api_for(viewer)
    one = api.get(f"/api/v1/posts/{post.pk}").json()
    assert one["text"] == TEASER and one["members_tier"] == world["gold_tier"].pk
    assert one["locked_text"] == (SECRET if reads else None)
    assert one["locked"] is (not reads)
    for url in ("/api/v1/timeline", f"/api/v1/users/{creator.handle}/posts"):
        rows = [r for r in api.get(url).json()["data"] if r["id"] == post.pk]
        assert [r["locked_text"] for r in rows] == [SECRET if reads else None], url


def test_visitors_get_the_teaser_only(world):
    post, creator = world["post"], world["creator"]
    for url in ("/", f"/@{creator.handle}", f"/posts/{post.pk}"):
        response = Client().get(url)
        assert response.status_code == 200
        assert SECRET not in response.content.decode()
    response = Client().get(f"/api/v1/posts/{post.pk}")
    if response.status_code == 200:
        assert response.json()["locked_text"] is None
    else:
        assert response.status_code in (401, 403)


def test_past_due_members_keep_access_only_during_the_grace_period(world):
    gold_fan, post = world["gold"], world["post"]
    membership = Membership.objects.get(member=gold_fan)
    Membership.objects.filter(pk=membership.pk).update(
        status="past_due", grace_until=timezone.now() + timedelta(days=1)
    )
    assert post_selectors.post_get(post_id=post.pk, viewer=gold_fan).viewer_reads_locked
    Membership.objects.filter(pk=membership.pk).update(
        grace_until=timezone.now() - timedelta(seconds=1)
    )
    assert not post_selectors.post_get(post_id=post.pk, viewer=gold_fan).viewer_reads_locked
    # A canceled membership still being paid for keeps access until the period ends
    # (``cancel_at_period_end``: it stays active until the renewal job ends it).
    Membership.objects.filter(pk=membership.pk).update(status="active", cancel_at_period_end=True)
    assert post_selectors.post_get(post_id=post.pk, viewer=gold_fan).viewer_reads_locked


def test_a_repost_shows_what_the_original_would(world):
    post, stranger, gold_fan, silver_fan = (
        world["post"],
        world["stranger"],
        world["gold"],
        world["silver"],
    )
    repost = repost_create(user=stranger, post_id=post.pk)
    for fan in (gold_fan, silver_fan):
        follow_create(follower=fan, followee=stranger)
    gold_page, _ = post_selectors.timeline_home_page(viewer=gold_fan, before=None, size=20)
    silver_page, _ = post_selectors.timeline_home_page(viewer=silver_fan, before=None, size=20)
    assert [p.viewer_reads_locked for p in gold_page if p.pk == repost.pk] == [True]
    assert [p.viewer_reads_locked for p in silver_page if p.pk == repost.pk] == [False]
    # The reposter's profile page: the gold member reads it, the reposter does not.
    assert SECRET in page_for(gold_fan, f"/@{stranger.handle}")
    assert SECRET not in page_for(stranger, f"/@{stranger.handle}")
    assert SECRET not in page_for(silver_fan, f"/@{stranger.handle}")


def test_query_counts_stay_fixed_with_members_only_posts(world, django_assert_num_queries):
    """The same 3 queries per home page (followee ids, page ids, the page with every flag)
    with members-only posts, unlockable posts and reposts of them in it."""
    creator, gold_fan = world["creator"], world["gold"]
    for i in range(6):
        services.post_set_paid_content(
            author=creator,
            post=make_post(creator, f"teaser {i}"),
            locked_text=f"secret {i}",
            members_tier_id=world["gold_tier"].pk,
            price=Money(300, "USD") if i % 2 else None,
        )
        other = make_user()
        follow_create(follower=gold_fan, followee=other)
        repost_create(user=other, post_id=world["post"].pk)
    for viewer in (gold_fan, world["silver"]):
        with django_assert_num_queries(3):
            page, _ = post_selectors.timeline_home_page(viewer=viewer, before=None, size=20)
            flags = [p.viewer_reads_locked for p in page]
            authors = [p.author.handle for p in page]
            originals = [p.repost_of.author.handle for p in page if p.repost_of_id]
        assert len(flags) == len(authors) >= 7
        assert all(flags) is (viewer == gold_fan)
        assert bool(originals) is (viewer == gold_fan)  # only the gold fan follows reposters
    with django_assert_num_queries(1):
        rows = list(post_selectors.timeline_profile(author=creator, viewer=gold_fan)[:20])
        assert all(p.viewer_reads_locked for p in rows)


def test_the_grace_period_ends_on_the_compiled_timeline_page_too(world):
    """The home page's query is compiled once per process (core.precompiled): the grace
    period is compared with the database's clock on every request, not frozen in it."""
    gold_fan, post = world["gold"], world["post"]
    membership = Membership.objects.get(member=gold_fan)

    def reads_locked() -> bool:
        page, _ = post_selectors.timeline_home_page(viewer=gold_fan, before=None, size=20)
        return [p.viewer_reads_locked for p in page if p.pk == post.pk] == [True]

    Membership.objects.filter(pk=membership.pk).update(
        status="past_due", grace_until=timezone.now() + timedelta(days=1)
    )
    assert reads_locked()
    Membership.objects.filter(pk=membership.pk).update(
        grace_until=timezone.now() - timedelta(seconds=1)
    )
    assert not reads_locked()
    assert all(shape is not None for shape in post_selectors._POSTS_BY_IDS._shapes.values())
