"""SizedGZipMiddleware: gzip from 1 KB up; shorter answers go out as they are."""

from __future__ import annotations

import gzip

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from core.middleware import SizedGZipMiddleware

pytestmark = pytest.mark.django_db


def _through(response, accept="gzip, deflate, br"):
    request = RequestFactory().get("/", HTTP_ACCEPT_ENCODING=accept)
    return SizedGZipMiddleware(lambda request: response)(request)


def test_an_answer_under_one_kilobyte_is_sent_as_it_is():
    body = b"x" * (SizedGZipMiddleware.MIN_LENGTH - 1)
    response = _through(HttpResponse(body))
    assert not response.has_header("Content-Encoding")
    # Never compressed, whatever the client accepts: nothing for a cache to vary on.
    assert not response.has_header("Vary")
    assert response.content == body


def test_an_answer_of_one_kilobyte_and_more_is_gzipped():
    body = b"x" * SizedGZipMiddleware.MIN_LENGTH
    response = _through(HttpResponse(body))
    assert response["Content-Encoding"] == "gzip"
    assert response["Vary"] == "Accept-Encoding"
    assert gzip.decompress(response.content) == body


def test_a_client_that_does_not_accept_gzip_gets_the_body_as_it_is():
    body = b"x" * 4096
    response = _through(HttpResponse(body), accept="identity")
    assert not response.has_header("Content-Encoding")
    assert response["Vary"] == "Accept-Encoding"
    assert response.content == body


def test_a_streamed_answer_is_gzipped_whatever_its_length():
    # Its length is unknown until it has been sent: Django's rule applies.
    response = _through(StreamingHttpResponse(iter([b"short"])))
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(b"".join(response.streaming_content)) == b"short"


def test_get_me_is_short_and_sent_as_it_is(client):
    from accounts.services import token_create, user_signup

    user = user_signup(handle="shorty", email="shorty@example.com", password="x" * 16)
    _, secret = token_create(user=user, name="t")
    response = client.get(
        "/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert response.status_code == 200
    assert len(response.content) < SizedGZipMiddleware.MIN_LENGTH
    assert not response.has_header("Content-Encoding")
    assert response.json()["handle"] == "shorty"
