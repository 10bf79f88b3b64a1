"""Every main page costs a fixed number of SQL queries, whatever the amount of data.

The demo world (``seed_demo``) is grown with ``seed_demo_volume`` to ``FANS`` and then to
three times ``FANS`` active fans (more posts, replies, reposts, tips, unlocks, orders, payments,
requests, notifications and payouts), and each page is requested at both sizes under
``django_assert_num_queries`` with the same expected number. A query per row anywhere
(a view, a selector, a template tag) makes the larger world fail.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from payments.fx.services import fx_rates_refresh
from posts.models import Post

pytestmark = pytest.mark.django_db

FANS = 4  # one of each of carol's four kinds of post

# (name, viewer, path, queries). The path may name a post by a key filled in by
# ``_post_ids``. Every page pays 2 queries for the session and the signed-in person and 1
# for the unread-notifications badge in the navigation (not the CSV and JSON answers).
PAGES = [
    # followees (1), the page's post ids (1), the posts with authors, originals and flags (1)
    ("home timeline", "alice", "/", 6),
    # the author, the page's post ids (1), the posts with their flags (1, compiled once per
    # process), follower and following counts, follows, blocks and mute between the two
    # people, which of the profile's other tabs have content (1)
    ("profile", "alice", "/@carol", 12),
    # the same header, the tabs with content, and the products for sale instead of the posts
    ("profile shop", "alice", "/@carol?tab=shop", 11),
    # the same header, the tabs with content, and the membership tiers instead of the posts
    # (not in GROWING: the demo world grows fans, not carol's tiers)
    ("profile memberships", "alice", "/@carol?tab=memberships", 11),
    # the post (its products in the same row), its thread, its public tips
    ("post with thread", "alice", "/posts/{alice_first}", 6),
    ("post with tips", "alice", "/posts/{carol_first}", 6),
    # the statement page (account, lines, transfers named in them, one query per other kind
    # of line on it: alice's has tips and a membership), the other people's avatars (1),
    # limits, balances and pending top-ups, and the total in the home currency (balances, rates)
    ("wallet", "alice", "/wallet", 14),
    ("wallet statement (EUR)", "alice", "/wallet?currency=EUR", 10),
    ("wallet statement CSV", "alice", "/wallet/statement.csv", 7),
    # the requests both ways, and the balance line that refreshes after paying one (1)
    ("requests inbox", "alice", "/wallet/requests", 6),
    ("notifications", "alice", "/notifications", 4),
    ("currencies", "alice", "/fx/", 5),
    # people whose handle starts with the text, then those who contain it
    ("search people", "alice", "/search?q=fan", 5),
    ("search hashtag", "alice", "/search?q=%23bread", 4),
    ("settings", "alice", "/settings", 3),
    # earnings by day (4 kinds, and guests' card payments of every kind in 1), supporters
    # (3 kinds), escrow, recent sales, recent card sales to guests, members, MRR
    ("creator dashboard", "carol", "/creator/dashboard", 16),
    ("creator dashboard chart data", "carol", "/creator/dashboard/data", 15),
    # history, bank account, and the balance line (1)
    ("payouts", "carol", "/payouts/", 6),
]
# Pages that list things the larger world has more of: their answer must grow too, or the
# comparison would prove nothing.
GROWING = {
    "home timeline",
    "profile",
    "profile shop",
    "post with thread",
    "post with tips",
    "wallet",
    "wallet statement CSV",
    "requests inbox",
    "notifications",
    "search people",
    "search hashtag",
    "creator dashboard",
    "payouts",
}


@pytest.fixture(autouse=True)
def _payouts_without_hold(settings):
    # The demo bank account would otherwise wait 72 hours before its first payout.
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0


def _grow(fans: int) -> None:
    call_command("seed_demo_volume", fans=fans, stdout=io.StringIO())
    fx_rates_refresh()  # beat does this every minute in a running system


def _post_ids() -> dict[str, int]:
    first = Post.objects.filter(reply_to__isnull=True).order_by("id")
    return {
        "alice_first": first.filter(author__handle="alice").values_list("id", flat=True)[0],
        "carol_first": first.filter(author__handle="carol").values_list("id", flat=True)[0],
    }


def _body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def _request_all(django_assert_num_queries) -> dict[str, int]:
    """Request every page at its expected query count; returns each answer's size."""
    ids = _post_ids()
    clients: dict[str, Client] = {}
    sizes = {}
    for name, viewer, path, queries in PAGES:
        if viewer not in clients:
            clients[viewer] = Client()
            clients[viewer].force_login(User.objects.get(handle=viewer))
        url = path.format(**ids)
        _body(clients[viewer].get(url))  # per-process caches (content types) warm up first
        with django_assert_num_queries(queries):
            response = clients[viewer].get(url)
            body = _body(response)
        assert response.status_code == 200, (name, response.status_code)
        sizes[name] = len(body)
    return sizes


def test_pages_cost_the_same_queries_with_three_times_the_data(django_assert_num_queries):
    _grow(FANS)
    small = _request_all(django_assert_num_queries)
    _grow(3 * FANS)
    large = _request_all(django_assert_num_queries)
    assert [name for name in GROWING if large[name] <= small[name]] == []
