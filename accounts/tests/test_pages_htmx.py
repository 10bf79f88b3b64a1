"""Follow/mute/block toggles and the notification badge with htmx, and without it."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import follow_create

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def _browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_follow_toggles_in_place_with_a_toast(make_user):
    me, other = make_user(), make_user()
    client = _browser(me)
    html = client.post(f"/@{other.handle}/follow", **HX).content.decode()
    assert html.lstrip().startswith('<div id="relationship"') and "<html" not in html
    assert "Unfollow" in html and "1</strong> follower" in html
    assert 'hx-swap-oob="beforeend:#toasts"' in html and f"Followed @{other.handle}." in html
    # The toast came with the fragment: it is not flashed again on the next page.
    assert f"Followed @{other.handle}." not in client.get("/").content.decode()
    html = client.post(f"/@{other.handle}/follow", {"undo": "1"}, **HX).content.decode()
    assert ">Follow<" in html and "0</strong> followers" in html


def test_follow_without_js_redirects_and_flashes(make_user):
    me, other = make_user(), make_user()
    client = _browser(me)
    response = client.post(f"/@{other.handle}/follow")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert f"Followed @{other.handle}." in page and 'class="toast flash success"' in page


def test_following_oneself_shows_the_human_message(make_user):
    me = make_user()
    html = _browser(me).post(f"/@{me.handle}/follow", **HX).content.decode()
    assert "You cannot do that to your own account." in html
    assert "cannot_target_self" not in html


def test_badge_counts_unread_notifications_with_one_query(make_user, django_assert_num_queries):
    me = make_user()
    client = _browser(me)
    client.get("/")  # the session is warm
    html = client.get("/notifications/badge", **HX).content.decode()
    assert html.startswith('<span id="notif-badge"') and "<mark" not in html
    assert 'hx-trigger="every 30s, refresh"' in html
    for _ in range(3):
        follow_create(follower=make_user(), followee=me)
    # session, user, and the one count over the partial "unread" index
    with django_assert_num_queries(3) as ctx:
        html = client.get("/notifications/badge", **HX).content.decode()
    notif = [q["sql"] for q in ctx.captured_queries if "notification" in q["sql"]]
    assert len(notif) == 1 and "COUNT(*)" in notif[0] and 'read_at" IS NULL' in notif[0]
    assert '<mark class="badge">3<span class="visually-hidden"> unread</span></mark>' in html
    # The page itself shows the same badge, which polls itself.
    page = client.get("/").content.decode()
    assert 'id="notif-badge" hx-get="/notifications/badge"' in page and ">3<" in page


def test_badge_without_htmx_goes_to_the_notifications_page_and_is_quiet_signed_out():
    response = _browser().get("/notifications/badge")
    assert response.status_code == 302 and response["Location"].endswith("/notifications")
    # A poll after the session ended: 204, which htmx leaves alone (no login page swapped in).
    assert _browser().get("/notifications/badge", **HX).status_code == 204
