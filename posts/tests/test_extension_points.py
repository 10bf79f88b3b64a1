"""What posts does on its own when no app above it has registered a rule: paid fields are
refused with nothing written, only the author reads locked text, and post cards carry no
parts of other apps and profiles no tabs but their posts; and what a registered card part
gets (every row, reposts included) and which registered profile tabs are shown."""

from __future__ import annotations

import pytest
from django.db.models import Subquery
from django.db.models.functions import Length
from django.test import Client

from payments.creators.tests.factories import api_for, make_user
from posts import locked, profile_tabs, publishing, selectors, shown_parts
from posts.models import Post

pytestmark = pytest.mark.django_db


def test_paid_fields_are_refused_without_a_publisher(monkeypatch):
    monkeypatch.setattr(publishing, "_publisher", None)
    author = make_user()
    response = api_for(author).post(
        "/api/v1/posts",
        {"text": "teaser", "locked_text": "secret", "price": {"amount": 300, "currency": "USD"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not Post.objects.filter(author=author).exists()


def test_without_a_rule_only_the_author_reads_locked_text(monkeypatch):
    monkeypatch.setattr(locked, "_rule", None)
    author, reader = make_user(), make_user()
    post = Post.objects.create(author=author, text="teaser", locked_text="secret")
    repost = Post.objects.create(author=reader, repost_of=post)

    def readable(viewer):
        return set(
            Post.objects.filter(pk__in=[post.pk, repost.pk])
            .filter(locked.shown_locked_access_q(viewer=viewer))
            .values_list("pk", flat=True)
        )

    assert readable(author) == {post.pk, repost.pk}
    assert readable(reader) == set()
    assert readable(None) == set()


def test_without_parts_cards_carry_none_and_pages_still_render(monkeypatch):
    monkeypatch.setattr(shown_parts, "_parts", {})
    author = make_user()
    Post.objects.create(author=author, text="hello")
    (row,) = selectors.timeline_profile(author=author, viewer=None)
    assert not hasattr(row, "shown_products")
    assert Client().get(f"/@{author.handle}").status_code == 200


def test_a_registered_part_is_on_every_row_and_a_repost_gets_its_originals(monkeypatch):
    monkeypatch.setattr(shown_parts, "_parts", {})
    shown_parts.shown_part_register(
        "shown_text_length",
        lambda shown_id: Subquery(Post.objects.filter(pk=shown_id).values(n=Length("text"))[:1]),
    )
    author, reposter = make_user(), make_user()
    post = Post.objects.create(author=author, text="four")
    repost = Post.objects.create(author=reposter, repost_of=post)
    rows = {p.pk: p for p in selectors.timeline_public(viewer=author)}
    assert rows[post.pk].shown_text_length == 4
    (reposted,) = selectors.timeline_profile(author=reposter, viewer=None)
    assert reposted.pk == repost.pk and reposted.shown_text_length == 4


def test_without_registered_tabs_a_profile_has_only_its_posts_and_asks_nothing(
    monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(profile_tabs, "_tabs", {})
    author = make_user()
    Post.objects.create(author=author, text="hello")
    with django_assert_num_queries(0):
        assert profile_tabs.profile_tabs_shown(author=author) == []
    html = Client().get(f"/@{author.handle}?tab=shop").content.decode()
    assert "hello" in html and 'class="profile-tabs"' not in html


def test_registered_tabs_are_asked_in_one_query_and_shown_in_order_when_they_have_content(
    monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(profile_tabs, "_tabs", {})
    for key, label in (("replies", "Replies"), ("empty", "Empty"), ("firsts", "Firsts")):
        profile_tabs.profile_tab_register(
            profile_tabs.ProfileTab(
                key=key,
                label=label,
                template="posts/_page.html",
                has_content=lambda author, key=key: Post.objects.filter(
                    author_id=author.pk, text__startswith=key
                ),
                context=lambda author, viewer, before: {"posts": [], "next_before": None},
            )
        )
    author = make_user()
    Post.objects.create(author=author, text="replies are here")
    Post.objects.create(author=author, text="firsts too")
    with django_assert_num_queries(1):
        shown = profile_tabs.profile_tabs_shown(author=author)
    assert [tab.key for tab in shown] == ["replies", "firsts"]
    html = Client().get(f"/@{author.handle}?tab=firsts").content.decode()
    assert 'aria-current="page">Firsts</a>' in html and "?tab=empty" not in html
