"""The API's lighter request path: the middleware chain of Bearer-token API requests
(core/api_middleware.py), serializer fields built once (core/api/serializers.py) and the
orjson renderer (core/api/renderers.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client, override_settings
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict

from accounts.models import User
from accounts.serializers import MeSerializer, UserPublicSerializer
from accounts.services import token_create, user_signup
from core.api.renderers import OrjsonRenderer
from core.api_middleware import BROWSER_ONLY_MIDDLEWARE, api_middleware

DISPATCH = "core.api_middleware.BearerApiDispatch"
# Headers that differ between any two answers.
PER_ANSWER = {"X-Request-ID", "Date"}


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
    assert not hasattr(request, "htmx")
    assert not response.cookies
    # What every answer keeps: the request id and the security headers.
    assert len(response["X-Request-ID"]) >= 8
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def _answers(path: str, **kwargs):
    """The same request through the API chain and through the full chain."""
    lean = Client().get(path, **kwargs)
    # Without the dispatch every request takes the full chain, as Bearer API requests did
    # before they had a chain of their own (a client builds its handler on first use).
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != DISPATCH]):
        full = Client().get(path, **kwargs)
    assert not hasattr(lean.wsgi_request, "session")
    assert hasattr(full.wsgi_request, "session")
    return lean, full


def _headers(response) -> dict[str, str]:
    headers = {k: v for k, v in response.headers.items() if k not in PER_ANSWER}
    # The full chain's session middleware adds "Cookie" once the session user is looked
    # at; a Bearer answer never depends on a cookie (it never had this header before the
    # chain of its own either: the session was skipped for it).
    if "Vary" in headers:
        headers["Vary"] = ", ".join(v for v in headers["Vary"].split(", ") if v != "Cookie")
    return headers


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/me", 200), ("/api/v1/no-such-endpoint", 404), ("/api/v1/me?x=1", 200)],
)
@override_settings(SECURE_HSTS_SECONDS=3600, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_api_chain_answers_with_the_same_headers_and_body_as_the_full_chain(person, path, status):
    _, secret = token_create(user=person)
    lean, full = _answers(
        path, HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="de", secure=True
    )
    assert lean.status_code == full.status_code == status
    assert _headers(lean) == _headers(full)
    for header in (
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "X-Frame-Options",
        "Content-Security-Policy",
        "Content-Language",
        "SocialPay-Version",
    ):
        assert header in lean.headers, header
    assert len(lean["X-Request-ID"]) >= 8
    if status == 404:
        assert lean.json() == full.json()
        assert lean.json()["error"]["code"] == "not_found"


def test_api_chain_refuses_a_bad_token_and_an_unknown_version_as_the_full_chain_does(person):
    for kwargs in (
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
        {"HTTP_AUTHORIZATION": "Bearer x", "HTTP_SOCIALPAY_VERSION": "1999-01-01"},
    ):
        lean, full = _answers("/api/v1/me", **kwargs)
        assert lean.status_code == full.status_code
        assert lean.status_code in (400, 401)
        assert lean.json() == full.json()
        assert _headers(lean) == _headers(full)


def test_api_chain_gzips_like_the_full_chain(person):
    # Long enough that gzip (with its random padding against BREACH) always pays off.
    User.objects.filter(pk=person.pk).update(bio="coffee " * 250)
    _, secret = token_create(user=person)
    lean, full = _answers(
        "/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert lean.status_code == 200
    assert lean["Content-Encoding"] == full["Content-Encoding"] == "gzip"
    assert _headers(lean)["Vary"] == _headers(full)["Vary"]


def test_asgi_serves_bearer_api_requests_through_the_api_chain(person):
    # AsyncClient goes through Django's ASGI handler, the chain built for async servers.
    _, secret = token_create(user=person)
    response = async_to_sync(AsyncClient().get)(
        "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200
    assert response.json()["handle"] == person.handle
    assert not hasattr(response.asgi_request, "session")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "SocialPay-Version" in response


def test_api_chain_is_the_full_list_without_the_browser_only_middleware():
    chain = api_middleware()
    assert DISPATCH not in chain
    assert not BROWSER_ONLY_MIDDLEWARE & set(chain)
    assert chain == [m for m in settings.MIDDLEWARE if m not in BROWSER_ONLY_MIDDLEWARE]
    # What a deployment adds (the replica-reads middleware) is in both chains.
    extra = [*settings.MIDDLEWARE, "core.db_router.ReplicaReadsMiddleware"]
    with override_settings(MIDDLEWARE=extra):
        assert api_middleware()[-1] == "core.db_router.ReplicaReadsMiddleware"
    for kept in (
        "core.middleware.MetricsMiddleware",
        "core.middleware.RequestIdMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.csp.ContentSecurityPolicyMiddleware",
        "django.middleware.locale.LocaleMiddleware",
        "core.api.versioning.ApiVersionMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "axes.middleware.AxesMiddleware",
    ):
        assert kept in chain


def test_session_cookie_on_a_bearer_request_is_not_read(person):
    # The token decides who is calling; a browser's session cookie sent along is ignored.
    handle = f"fo{uuid.uuid4().hex[:8]}"
    other = user_signup(handle=handle, email=f"{handle}@example.com", password="x" * 16)
    client = Client()
    client.force_login(other)
    _, secret = token_create(user=person)
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.json()["handle"] == person.handle
    assert not hasattr(response.wsgi_request, "session")


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


def test_serializer_fields_built_once_per_class_and_copied_per_instance(person):
    person.email_verified = True
    person.mfa_enabled = False
    first, second = MeSerializer(person), MeSerializer(person)
    assert first.data == second.data
    assert first.data["handle"] == person.handle
    assert set(first.data) == set(MeSerializer.Meta.fields)
    # Each instance binds fields of its own; the class keeps an unbound set for the next.
    assert first.fields["handle"] is not second.fields["handle"]
    assert first.fields["handle"].parent is first
    assert "_built_fields" in MeSerializer.__dict__
    # A subclass works out its own fields rather than reusing its parent's.
    assert set(UserPublicSerializer(person).data) == set(UserPublicSerializer.Meta.fields)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "display_name": "Zoë",
            "bio": "b\u2028io",
            "link": "https://example.com",
            "language": "de",
        },
        {"avatar": "avatars/2026/12/a.png", "search_indexing": False, "email": ""},
    ],
)
def test_me_payload_is_what_me_serializer_answers(person, changes):
    from accounts.api import _me_payload
    from accounts.selectors import user_security_flags

    User.objects.filter(pk=person.pk).update(**changes)
    person.refresh_from_db()
    payload = _me_payload(person)
    flags = user_security_flags(user=person)
    person.email_verified, person.mfa_enabled = flags["email_verified"], flags["mfa_enabled"]
    expected = MeSerializer(person).data
    assert payload == expected
    assert list(payload) == list(expected)  # the same key order: the same bytes
    assert OrjsonRenderer().render(payload) == OrjsonRenderer().render(expected)


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
