"""Under /api/ every answer is JSON in the one error shape, even where no API view runs:
an unknown path, a wrong method, an unhandled error. Pages keep Django's HTML."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("core.tests.api_error_urls")]


@pytest.fixture(autouse=True)
def debug_off(settings):
    settings.DEBUG = False


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


def test_an_unknown_api_path_is_a_json_404():
    _error(Client().get("/api/v1/no-such-thing"), 404, "not_found")
    _error(Client().post("/api/v9/wallet", {}), 404, "not_found")


def test_a_wrong_method_is_a_json_405():
    from accounts.services import token_create, user_signup

    user = user_signup(handle="methods", email="methods@example.com", password="a long pass 42")
    _, secret = token_create(user=user)
    response = Client().delete("/api/v1/wallet", HTTP_AUTHORIZATION=f"Bearer {secret}")
    _error(response, 405, "method_not_allowed")


def test_an_unhandled_api_error_is_a_json_500_with_the_request_id():
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/test-errors/broken", HTTP_X_REQUEST_ID="req-12345678")
    error = _error(response, 500, "server_error")
    assert error["details"]["request_id"] == response["X-Request-ID"]
    assert "deliberate" not in response.content.decode()


def test_pages_outside_the_api_keep_the_html_404():
    response = Client().get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
