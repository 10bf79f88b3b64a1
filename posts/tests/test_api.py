import pytest
from rest_framework.test import APIClient

from accounts.services import block_create, follow_create
from posts import services

pytestmark = pytest.mark.django_db


def _code(response):
    return response.json()["error"]["code"]


def test_create_read_delete(make_user, client_for):
    me, other = make_user(), make_user()
    client = client_for(me)
    response = client.post(
        "/api/v1/posts", {"text": "<script>alert(1)</script> hi @" + other.handle}
    )
    assert response.status_code == 201
    body = response.json()
    assert "<script>" not in body["html"] and "&lt;script&gt;" in body["html"]
    assert body["text"].startswith("<script>")  # the raw text is data, never markup
    post_id = body["id"]
    assert APIClient().get(f"/api/v1/posts/{post_id}").status_code == 200
    # someone else's post: exactly like a missing one
    response = client_for(other).delete(f"/api/v1/posts/{post_id}")
    assert response.status_code == 404 and _code(response) == "not_found"
    assert client.delete(f"/api/v1/posts/{post_id}").status_code == 204
    assert client.get(f"/api/v1/posts/{post_id}").status_code == 404
    assert client.get("/api/v1/posts/999999999").status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "x" * 501}, "post_too_long"),
        ({"text": "   "}, "post_empty"),
        ({"text": "a\u0007b"}, "text_invalid"),
        ({"text": "hi", "author": 1}, "unknown_field"),
        ({"text": "hi", "like_count": 1000}, "unknown_field"),
        ({}, "validation_error"),
        ({"text": 5}, "not_a_string"),
        ({"text": None}, "null"),
        ({"text": ["a"]}, "not_a_string"),
        ({"text": "hi", "reply_to": 999999999}, "not_found"),
    ],
)
def test_create_bad_inputs(make_user, client_for, body, code):
    client = client_for(make_user())
    response = client.post("/api/v1/posts", body, format="json")
    assert 400 <= response.status_code < 500
    assert _code(response) == code


def test_nul_and_duplicate_keys_rejected(make_user, client_for):
    client = client_for(make_user())
    for raw in (b'{"text": "a\\u0000b"}', b'{"text": "a", "text": "b"}'):
        response = client.post("/api/v1/posts", raw, content_type="application/json")
        assert response.status_code == 400


def test_like_repost_reply_report(make_user, client_for):
    a, b = make_user(), make_user()
    post = services.post_create(author=a, text="hello")
    client = client_for(b)
    assert client.post(f"/api/v1/posts/{post.pk}/like").json()["viewer"]["liked"] is True
    assert client.post(f"/api/v1/posts/{post.pk}/like").json()["like_count"] == 1
    assert client.delete(f"/api/v1/posts/{post.pk}/like").json()["like_count"] == 0
    response = client.post(f"/api/v1/posts/{post.pk}/repost")
    assert response.status_code == 201 and response.json()["repost_of"]["id"] == post.pk
    response = client.post(f"/api/v1/posts/{post.pk}/replies", {"text": "a reply"})
    assert response.status_code == 201 and response.json()["reply_to"] == post.pk
    thread = client.get(f"/api/v1/posts/{post.pk}/replies").json()
    assert [r["text"] for r in thread["replies"]] == ["a reply"]
    assert client.post(f"/api/v1/posts/{post.pk}/report", {"reason": "spam"}).status_code == 201
    assert _code(client.post(f"/api/v1/posts/{post.pk}/report", {})) == "already_reported"
    block_create(blocker=a, blocked=b)
    assert _code(client.post(f"/api/v1/posts/{post.pk}/like")) == "blocked"


def test_timeline_pagination_and_clamp(make_user, client_for):
    me, friend = make_user(), make_user()
    follow_create(follower=me, followee=friend)
    ids = [services.post_create(author=friend, text=f"p{i}").pk for i in range(5)]
    client = client_for(me)
    page = client.get("/api/v1/timeline", {"limit": 2}).json()
    assert [p["id"] for p in page["data"]] == ids[::-1][:2]
    assert page["has_more"] is True
    page2 = client.get("/api/v1/timeline", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [p["id"] for p in page2["data"]] == ids[::-1][2:4]
    huge = client.get("/api/v1/timeline", {"limit": 10**9})
    assert huge.status_code == 200 and len(huge.json()["data"]) == 5
    assert huge.json()["has_more"] is False and huge.json()["next_cursor"] is None
    assert client.get("/api/v1/timeline", {"cursor": "garbage"}).status_code == 404
    assert APIClient().get("/api/v1/timeline").status_code == 401


def test_public_lists(make_user):
    a = make_user()
    services.post_create(author=a, text="public")
    assert APIClient().get("/api/v1/posts").json()["data"][0]["text"] == "public"
    assert (
        APIClient().get(f"/api/v1/users/{a.handle}/posts").json()["data"][0]["text"] == "public"
    )
    assert APIClient().get("/api/v1/users/nobody_x/posts").status_code == 404


def _grow(me, friends, n):
    for i in range(n):
        friend = friends[i % len(friends)]
        post = services.post_create(author=friend, text=f"post {i} @{me.handle}")
        services.like_create(user=me, post_id=post.pk)
        services.repost_create(user=friend, post_id=services.post_create(author=me, text="m").pk)


def test_timeline_api_queries_do_not_grow_with_posts(make_user, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    me = make_user()
    friends = [make_user() for _ in range(3)]
    for friend in friends:
        follow_create(follower=me, followee=friend)
    client = client_for(me)
    _grow(me, friends, 2)
    client.get("/api/v1/timeline")  # the token's last_used_at is written once
    with CaptureQueriesContext(connection) as small:
        assert len(client.get("/api/v1/timeline").json()["data"]) == 6
    _grow(me, friends, 12)
    with CaptureQueriesContext(connection) as large:
        assert len(client.get("/api/v1/timeline").json()["data"]) == 20
    assert len(small) == len(large) == 4  # token, followee ids, page ids, the page


def test_home_page_queries_do_not_grow_with_posts(make_user):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    me = make_user()
    friends = [make_user() for _ in range(3)]
    for friend in friends:
        follow_create(follower=me, followee=friend)
    client = Client()
    client.force_login(me)
    _grow(me, friends, 2)
    with CaptureQueriesContext(connection) as small:
        client.get("/")
    _grow(me, friends, 12)
    with CaptureQueriesContext(connection) as large:
        client.get("/")
    assert len(small) == len(large)
