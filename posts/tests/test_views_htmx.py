"""The post pages with htmx (``HX-Request``) answer with the fragment to swap in; without it
the same URLs answer with the whole page, so everything works without JavaScript."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.services import follow_create
from posts import services

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def browser(make_user):
    def make(user=None):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


def _older_link(html: str) -> str:
    return re.search(r'hx-get="([^"]*before=\d+)"', html)[1].replace("&amp;", "&")


def _many_posts(author, n: int, text: str = "post") -> list:
    return [services.post_create(author=author, text=f"{text} {i}") for i in range(n)]


def test_home_scrolls_to_older_posts_in_place(make_user, browser):
    me, friend = make_user(), make_user()
    follow_create(follower=me, followee=friend)
    _many_posts(friend, 25)
    client = browser(me)
    page = client.get("/").content.decode()
    assert 'hx-trigger="revealed, click"' in page and "Older posts" in page
    link = _older_link(page)
    fragment = client.get(link, **HX).content.decode()
    assert "<html" not in fragment and "post 4" in fragment and "post 0" in fragment
    assert "post 24" not in fragment  # page one is not sent again
    full = client.get(link).content.decode()  # the plain link, without JavaScript
    assert "<html" in full and "post 4" in full


def test_profile_scrolls_to_older_posts_in_place(make_user, browser):
    author = make_user()
    _many_posts(author, 23, "mine")
    client = browser(make_user())
    page = client.get(f"/@{author.handle}").content.decode()
    link = _older_link(page)
    assert link.startswith("?before=")
    fragment = client.get(f"/@{author.handle}{link}", **HX).content.decode()
    assert "<html" not in fragment and 'id="relationship"' not in fragment
    assert "mine 0" in fragment and "mine 22" not in fragment
    full = client.get(f"/@{author.handle}{link}").content.decode()
    assert "<html" in full and 'id="relationship"' in full and "mine 0" in full


def test_hashtag_search_scrolls_and_keeps_the_query(make_user, browser):
    author = make_user()
    _many_posts(author, 22, "#cats")
    _many_posts(author, 3, "#dogs")
    client = browser()
    page = client.get("/search", {"q": "#cats"}).content.decode()
    link = _older_link(page)
    assert "q=%23cats" in link
    fragment = client.get(f"/search{link}", **HX).content.decode()
    assert "<html" not in fragment and fragment.count('class="post-card"') == 2  # 22 = 20 + 2
    assert "dogs" not in fragment
    assert "<html" in client.get(f"/search{link}").content.decode()


def test_posting_with_htmx_answers_the_new_post_for_the_top_of_the_timeline(make_user, browser):
    client = browser(make_user())
    response = client.post("/posts/new", {"text": "fresh from htmx"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'hx-swap-oob="afterbegin:#timeline"' in html and "fresh from htmx" in html
    assert 'id="composer"' in html  # the composer comes back empty for the next post
    empty = client.post("/posts/new", {"text": "  "}, **HX)
    assert empty.status_code == 400 and "Write something before posting." in empty.content.decode()


def test_like_and_repost_toggle_in_place(make_user, browser):
    post = services.post_create(author=make_user(), text="like me")
    client = browser(make_user())
    liked = client.post(f"/posts/{post.pk}/like", **HX).content.decode()
    assert liked.startswith('<footer class="actions"') or 'class="actions"' in liked[:200]
    assert 'aria-pressed="true"' in liked and "Like (1)" in liked
    unliked = client.post(f"/posts/{post.pk}/like", {"undo": "1"}, **HX).content.decode()
    assert "Like (0)" in unliked and "<html" not in unliked
    reposted = client.post(f"/posts/{post.pk}/repost", **HX).content.decode()
    assert "Repost (1)" in reposted
    # Without htmx the same form redirects back.
    assert client.post(f"/posts/{post.pk}/like").status_code == 302
