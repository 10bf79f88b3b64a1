"""Error pages keep the site's layout (header, main landmark, footer) with DEBUG off."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from accounts.services import user_signup

pytestmark = [pytest.mark.django_db, pytest.mark.urls("core.tests.error_urls")]


@pytest.fixture(autouse=True)
def debug_off(settings):
    settings.DEBUG = False


def _assert_layout(response, status: int, heading: str) -> str:
    assert response.status_code == status
    html = response.content.decode()
    assert '<html lang="' in html
    assert '<nav aria-label="Main"' in html
    assert '<main id="main">' in html
    assert "<footer>" in html
    assert heading in html
    assert "socialpay.css" in html
    return html


def test_404_keeps_the_layout_and_the_signed_in_nav():
    user = user_signup(handle="lost", email="lost@example.com", password="a long passphrase 42")
    client = Client()
    client.force_login(user)
    html = _assert_layout(client.get("/no-such-page"), 404, "find that page")
    assert "@lost" in html  # rendered with the request: the person's own nav


def test_403():
    _assert_layout(Client().get("/test-errors/forbidden"), 403, "open this page")


def test_500_renders_without_a_request_context():
    client = Client(raise_request_exception=False)
    html = _assert_layout(client.get("/test-errors/broken"), 500, "Something went wrong")
    assert "deliberate failure" not in html


def test_csrf_failure_explains_that_nothing_was_sent():
    client = Client(enforce_csrf_checks=True)
    html = _assert_layout(client.post("/settings", {}), 403, "This form has expired")
    assert "no money moved" in html


def test_429_when_a_page_is_rate_limited(settings):
    settings.ACCOUNT_RATE_LIMITS = {"reset_password": "1/m/key"}
    email = f"limited-{uuid.uuid4().hex[:8]}@example.com"  # the limit is counted per address
    client = Client()
    first = client.post("/accounts/password/reset/", {"email": email})
    assert first.status_code == 302
    _assert_layout(
        client.post("/accounts/password/reset/", {"email": email}),
        429,
        "Too many tries in a short time",
    )
