"""What posts does on its own when no app above it has registered a rule: paid fields are
refused with nothing written, and only the author reads locked text."""

from __future__ import annotations

import pytest

from payments.creators.tests.factories import api_for, make_user
from posts import locked, publishing
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
