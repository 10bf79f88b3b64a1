"""Sign-up reveals nothing about which addresses have accounts: a taken address gets the
same answer as a free one, on the page and in the API, and its owner gets a mail instead
of the newcomer getting an error."""

from __future__ import annotations

import uuid

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _handle() -> str:
    return f"n{uuid.uuid4().hex[:10]}"


def _api_signup(email: str):
    client = APIClient(REMOTE_ADDR=f"10.55.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    body = {"handle": _handle(), "email": email, "password": PASSWORD}
    return client.post("/api/v1/auth/signup", body, format="json")


def _shape(response) -> tuple:
    body = response.json()
    user = body["user"]
    return (
        response.status_code,
        sorted(body),
        sorted(user),
        user["email"],
        user["email_verified"],
        bool(body["token"]),
    )


def test_the_api_answers_a_taken_address_like_a_free_one(make_user, mailoutbox):
    make_user(email="owner@example.com")
    mailoutbox.clear()
    taken = _api_signup("Owner@Example.com")
    free = _api_signup("Owner2@Example.com")
    assert _shape(taken)[:3] == _shape(free)[:3]
    assert _shape(taken)[3:] == ("Owner@example.com", False, True)
    assert _shape(free)[3:] == ("Owner2@example.com", False, True)
    # The owner hears about it; nothing of theirs changes.
    to_owner = [m for m in mailoutbox if m.to == ["Owner@example.com"]]
    assert len(to_owner) == 1 and "/accounts/password/reset/" in to_owner[0].body
    assert User.objects.filter(email__iexact="owner@example.com").count() == 1
    newcomer = User.objects.get(handle=taken.json()["user"]["handle"])
    assert newcomer.email == "" and not EmailAddress.objects.filter(user=newcomer).exists()


def test_the_api_checks_everything_else_first_as_before(make_user):
    make_user(email="owner3@example.com")
    client = APIClient()
    response = client.post(
        "/api/v1/auth/signup",
        {"handle": "admin", "email": "owner3@example.com", "password": PASSWORD},
        format="json",
    )
    assert response.json()["error"]["code"] == "handle_reserved"
    response = client.post(
        "/api/v1/auth/signup",
        {"handle": _handle(), "email": "owner3@example.com", "password": "short"},
        format="json",
    )
    assert response.json()["error"]["code"] == "password_invalid"


def _page_signup(email: str):
    client = Client(REMOTE_ADDR=f"10.56.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    handle = _handle()
    response = client.post(
        "/accounts/signup/",
        {"username": handle, "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )
    notes = [
        str(m).replace(handle, "HANDLE").replace(email, "EMAIL")
        for m in get_messages(response.wsgi_request)
    ]
    return response, notes, client


def test_the_sign_up_page_answers_a_taken_address_like_a_free_one(make_user, mailoutbox):
    # Fresh addresses per run: allauth rate-limits confirmation mails per address (cache).
    owner, other = (
        f"owner-{uuid.uuid4().hex[:8]}@example.com",
        f"free-{uuid.uuid4().hex[:8]}@example.com",
    )
    make_user(email=owner)
    mailoutbox.clear()
    taken, taken_notes, taken_client = _page_signup(owner)
    free, free_notes, free_client = _page_signup(other)
    assert (taken.status_code, taken["Location"]) == (free.status_code, free["Location"])
    assert taken_notes == free_notes and "EMAIL" in taken_notes[0]
    assert "_auth_user_id" in taken_client.session and "_auth_user_id" in free_client.session
    assert [m.to for m in mailoutbox] == [[owner], [other]]
    assert "already exists" in mailoutbox[0].body
    assert User.objects.filter(email__iexact=owner).count() == 1


def test_a_race_for_one_address_never_answers_email_taken(make_user, monkeypatch):
    """Two sign-ups with one new address at once: the second detaches it too."""
    from accounts import services

    monkeypatch.setattr(services, "email_is_taken", lambda *, email: False)
    first = _api_signup("racer@example.com")
    second = _api_signup("racer@example.com")
    assert first.status_code == second.status_code == 201
    assert User.objects.filter(email__iexact="racer@example.com").count() == 1
