"""The API's lighter request path: middleware skipped for Bearer-token API requests
(core/api_middleware.py) and the orjson renderer (core/api/renderers.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict

from accounts.services import token_create, user_signup
from core.api.renderers import OrjsonRenderer


@pytest.fixture
def person(db):
    handle = f"fp{uuid.uuid4().hex[:8]}"
    return user_signup(handle=handle, email=f"{handle}@example.com", password="x" * 16)


def test_bearer_api_request_skips_session_user_and_messages(person):
    _, secret = token_create(user=person)
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert response.json()["handle"] == person.handle
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "_messages")
    assert not response.cookies
    # What every answer keeps: the request id and the security headers.
    assert len(response["X-Request-ID"]) >= 8
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def test_bearer_api_request_with_a_bad_token_is_refused(person):
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert not hasattr(response.wsgi_request, "session")


def test_session_api_request_keeps_the_stock_middleware_and_csrf(person):
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.wsgi_request.session.session_key
    assert response.wsgi_request.user == person
    # A session-authenticated write without the CSRF token is still refused (by DRF).
    refused = client.patch("/api/v1/me", {"bio": "x"}, content_type="application/json")
    assert refused.status_code == 403


def test_pages_keep_the_stock_middleware(person):
    # A Bearer header on a page does not take the API path: only /api/ does.
    client = Client()
    client.force_login(person)
    response = client.get("/settings", HTTP_AUTHORIZATION="Bearer whatever")
    assert response.status_code == 200
    assert response.wsgi_request.user == person


@pytest.mark.parametrize(
    "data",
    [
        {"amount": 100, "currency": "USD", "ok": True, "none": None, "list": [1, 2.5, "a"]},
        {"when": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)},
        {"when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "id": uuid.UUID(int=7)},
        {"rate": Decimal("1.10"), "message": gettext_lazy("Page not found")},
        {"text": "line\u2028separator\u2029 and ümlauts ✓ <script>"},
        {1: "int key", "nested": ReturnDict({"a": [{"b": (1, 2)}]}, serializer=None)},
        [],
    ],
)
def test_orjson_renderer_matches_drf(data):
    assert OrjsonRenderer().render(data) == JSONRenderer().render(data)


def test_orjson_renderer_indents_like_drf_and_renders_nothing_for_none():
    indented = OrjsonRenderer().render({"a": 1}, "application/json; indent=2")
    assert indented == JSONRenderer().render({"a": 1}, "application/json; indent=2")
    assert OrjsonRenderer().render(None) == b""
