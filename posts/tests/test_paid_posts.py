"""Paid posts in the posts API and pages: the locked text only for the author and buyers."""

from __future__ import annotations

import pytest

from core.money import Money
from payments.creators import services
from payments.creators.tests.factories import api_for, fund, key, make_post, make_user

pytestmark = pytest.mark.django_db


def test_create_paid_post_through_the_api_and_who_sees_the_locked_text():
    creator, fan, stranger = make_user(), make_user(), make_user()
    fund(fan, 1000)
    r = api_for(creator).post(
        "/api/v1/posts",
        {"text": "teaser", "locked_text": "secret", "price": {"amount": 300, "currency": "USD"}},
        format="json",
    )
    assert r.status_code == 201, r.json()
    post_id = r.json()["id"]
    assert r.json()["locked_text"] == "secret"  # the author always sees it
    seen = api_for(stranger).get(f"/api/v1/posts/{post_id}").json()
    assert seen["locked_text"] is None and seen["locked"] is True
    assert seen["price"] == {"amount": 300, "currency": "USD"}
    assert api_for(fan).get(f"/api/v1/posts/{post_id}").json()["locked_text"] is None
    api_for(fan).post(f"/api/v1/posts/{post_id}/unlock", HTTP_IDEMPOTENCY_KEY=key())
    assert api_for(fan).get(f"/api/v1/posts/{post_id}").json()["locked_text"] == "secret"
    assert api_for(stranger).get(f"/api/v1/posts/{post_id}").json()["locked_text"] is None
    anonymous = api_for(stranger)
    anonymous.credentials()
    assert anonymous.get(f"/api/v1/posts/{post_id}").json()["locked_text"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"text": "t", "locked_text": "s", "price": {"amount": 0, "currency": "USD"}},
        {"text": "t", "locked_text": "s", "price": {"amount": 1.5, "currency": "USD"}},
        {"text": "t", "locked_text": "s", "price": 300},
        {"text": "t", "locked_text": "", "price": {"amount": 300, "currency": "USD"}},
        {"text": "t", "locked_text": "s"},
        {"text": "t", "locked_text": "s", "price": {"amount": 300, "currency": "usd"}},
    ],
)
def test_bad_paid_posts_write_nothing(body):
    from posts.models import Post

    creator = make_user()
    r = api_for(creator).post("/api/v1/posts", body, format="json")
    assert 400 <= r.status_code < 500 and "code" in r.json()["error"]
    assert not Post.objects.filter(author=creator).exists()


def test_post_page_reveals_locked_text_to_buyer_only():
    creator, fan, stranger = make_user(), make_user(), make_user()
    fund(fan, 1000)
    post = services.post_set_paid_content(
        author=creator,
        post=make_post(creator, "teaser"),
        locked_text="hidden words",
        price=Money(300, "USD"),
    )
    from django.test import Client

    def page(user):
        client = Client()
        client.force_login(user)
        return client.get(f"/posts/{post.pk}").content.decode()

    assert "hidden words" not in page(stranger)
    assert "Unlock" in page(stranger)
    assert "hidden words" in page(creator)
    services.unlock_purchase(buyer=fan, post_id=post.pk)
    assert "hidden words" in page(fan)
