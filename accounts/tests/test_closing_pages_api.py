"""Closing an account through the API and the settings page: re-authentication first, a
token with the payments scope, the handle typed again; every bad input a 4xx with nothing
written. (Closing with money held: payments/tests/test_account_closing.py.)"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AccountAuditEvent, ApiToken, DataExport, User
from accounts.services import token_create, token_mark_reauthenticated
from accounts.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _api(user, *, scopes=None, reauthenticated=True) -> APIClient:
    token, secret = token_create(user=user, scopes=scopes or list(ApiToken.ALL_SCOPES))
    if reauthenticated:
        token_mark_reauthenticated(token=token)
    else:
        ApiToken.objects.filter(pk=token.pk).update(reauthenticated_at=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _unchanged(user) -> None:
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.handle, fresh.is_active, fresh.closed_at) == (user.handle, True, None)
    assert not AccountAuditEvent.objects.filter(user=user, action="account_closed").exists()


def test_api_close_check_then_close(make_user):
    ada = make_user()
    api = _api(ada)
    check = api.get("/api/v1/me/close")
    assert check.status_code == 200 and check.json() == {"can_close": True, "blockers": []}
    closed = api.post("/api/v1/me/close", {"confirm": f"@{ada.handle}"}, format="json")
    assert closed.status_code == 204, closed.content
    assert User.objects.get(pk=ada.pk).closed_at is not None
    # The token it used is revoked with the others.
    assert api.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "validation_error"),
        ({"confirm": ""}, "blank"),
        ({"confirm": 42}, "not_a_string"),
        ({"confirm": "x" * 500}, "max_length"),
        ({"confirm": "someone_else"}, "closing_confirmation_mismatch"),
        ({"confirm": "me", "also": "delete everything"}, "unknown_field"),
    ],
)
def test_api_close_refuses_bad_input_with_nothing_written(make_user, body, code):
    ada = make_user()
    answer = _api(ada).post("/api/v1/me/close", body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == code
    _unchanged(ada)


def test_api_close_needs_recent_reauthentication_and_the_payments_scope(make_user):
    ada = make_user()
    stale = _api(ada, reauthenticated=False).post(
        "/api/v1/me/close", {"confirm": ada.handle}, format="json"
    )
    assert stale.status_code == 403
    assert stale.json()["error"]["code"] == "reauthentication_required"
    read_only = _api(ada, scopes=["read"]).post(
        "/api/v1/me/close", {"confirm": ada.handle}, format="json"
    )
    assert read_only.status_code == 403
    assert read_only.json()["error"]["code"] == "token_scope_missing"
    assert APIClient().post("/api/v1/me/close", {"confirm": ada.handle}).status_code == 401
    _unchanged(ada)


def _signed_in(user) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": user.handle, "password": PASSWORD})
    assert response.status_code == 302, response.content
    # The password again, as the closing form asks (allauth's re-authentication page).
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def test_the_data_page_requests_an_export_and_closes_the_account(make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ada = make_user()
    client = _signed_in(ada)
    page = client.get("/settings/data")
    assert page.status_code == 200
    assert b"Prepare my data" in page.content and b"Close my account for good" in page.content
    assert client.post("/settings/data/export").status_code == 302
    export = DataExport.objects.get(user=ada)
    row = client.get(f"/settings/data/exports/{export.pk}")
    assert b"hx-trigger" in row.content  # polled while it is built
    # Someone else's export is a 404 for the page too.
    eve = make_user()
    assert _signed_in(eve).get(f"/settings/data/exports/{export.pk}").status_code == 404

    wrong = client.post("/settings/close", {"confirm": "nobody"})
    assert wrong.status_code == 400
    assert b"not your handle" in wrong.content
    _unchanged(ada)
    done = client.post("/settings/close", {"confirm": ada.handle})
    assert done.status_code == 302 and done["Location"] == "/"
    assert User.objects.get(pk=ada.pk).closed_at is not None
    # Signed out, and the session cannot come back.
    assert client.get("/settings/data").status_code == 302


def test_the_page_asks_to_reauthenticate_before_closing(make_user):
    ada = make_user()
    client = Client()
    client.force_login(ada)  # a session without a recent password check
    answer = client.post("/settings/close", {"confirm": ada.handle})
    assert answer.status_code == 302 and "reauthenticate" in answer["Location"]
    _unchanged(ada)


def test_the_page_lists_what_stands_in_the_way(make_user, monkeypatch):
    from accounts import closing

    monkeypatch.setitem(
        closing._CHECKS,
        "probe",
        lambda *, user: [closing.ClosingBlocker("balance_remaining", "Pay it out", "/payouts/")],
    )
    ada = make_user()
    client = _signed_in(ada)
    page = client.get("/settings/data")
    assert b'data-code="balance_remaining"' in page.content
    assert b"Close my account for good" not in page.content
    refused = client.post("/settings/close", {"confirm": ada.handle})
    assert refused.status_code == 400
    _unchanged(ada)


def test_a_closed_accounts_handle_stays_taken_for_newcomers_and_look_alikes(make_user, settings):
    # A newcomer with the handle would receive the payments and tips meant for the person.
    from accounts.closing import account_close
    from accounts.handles import HandleTaken
    from accounts.models import RetiredHandle
    from accounts.services import handle_check

    ada = make_user("ada_leaves")
    account_close(user=ada, confirm_handle="ada_leaves")
    (retired,) = RetiredHandle.objects.all()
    assert "ada" not in retired.digest  # a keyed digest, not the handle
    for taken in ("ada_leaves", "@ADA_LEAVES", "ada_1eaves"):  # itself, case, a look-alike
        with pytest.raises(HandleTaken):
            handle_check(handle=taken)
    assert handle_check(handle="ada_stays") == "ada_stays"
    signup = APIClient().post(
        "/api/v1/auth/signup",
        {"handle": "ada_leaves", "email": "new@example.com", "password": PASSWORD},
        format="json",
    )
    assert signup.status_code == 400 and signup.json()["error"]["code"] == "handle_taken"
    assert not User.objects.filter(email="new@example.com").exists()
    # A rotated SECRET_KEY (the old one kept as a fallback) does not free it.
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    with pytest.raises(HandleTaken):
        handle_check(handle="ada_leaves")
