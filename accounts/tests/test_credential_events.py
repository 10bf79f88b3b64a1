"""Credential events: changing the e-mail address needs a fresh proof of identity and the
address that stops being the account's is told, with a way to undo; a password change or
reset and enabling or disabling a second factor tell the person, revoke every API token
and end every other session."""

from __future__ import annotations

import re
import uuid

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.test import Client

from accounts.models import AccountAuditEvent, ApiToken, User
from accounts.services import token_create
from accounts.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much newer horse battery"


def signed_in(user, *, reauthenticated=True, password=PASSWORD) -> Client:
    client = Client(REMOTE_ADDR=f"10.66.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    response = client.post("/accounts/login/", {"login": user.handle, "password": password})
    assert response.status_code == 302, response.content
    if reauthenticated:
        client.post("/accounts/reauthenticate/", {"password": password})
    return client


def code_for(secret: str) -> str:
    return f"{hotp_value(secret, next(iter(yield_hotp_counters_from_time()))):06d}"


def live_tokens(user) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()


def is_signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


# --- e-mail ---------------------------------------------------------------------------------


def test_adding_or_choosing_an_address_needs_a_fresh_proof(make_user):
    user = make_user()
    client = Client()
    client.force_login(user)  # a session, but no recent password
    response = client.post("/accounts/email/", {"action_add": "", "email": "thief@example.com"})
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    assert not EmailAddress.objects.filter(email="thief@example.com").exists()

    EmailAddress.objects.create(user=user, email="second@example.com", verified=True)
    response = client.post(
        "/accounts/email/", {"action_primary": "", "email": "second@example.com"}
    )
    assert "reauthenticate" in response["Location"]
    assert EmailAddress.objects.get_primary(user).email == user.email


def test_a_takeover_of_the_address_is_told_to_the_old_one_and_can_be_undone(make_user, mailoutbox):
    owner = make_user(email="owner@example.com")
    EmailAddress.objects.filter(user=owner).update(verified=True)
    _, secret = token_create(user=owner)
    thief = signed_in(owner)  # a stolen session that also knows the password
    owners_phone = signed_in(owner, reauthenticated=False)

    # Add an address, confirm it, make it primary, remove the original.
    thief.post("/accounts/email/", {"action_add": "", "email": "thief@example.com"})
    EmailAddress.objects.filter(email="thief@example.com").update(verified=True)
    mailoutbox.clear()
    thief.post("/accounts/email/", {"action_primary": "", "email": "thief@example.com"})
    thief.post("/accounts/email/", {"action_remove": "", "email": "owner@example.com"})
    owner.refresh_from_db()
    assert owner.email == "thief@example.com"

    to_old = [m for m in mailoutbox if m.to == ["owner@example.com"]]
    assert len(to_old) == 2  # "changed" and "removed", both to the address that was lost
    link = re.search(r"https?://[^/\s]+(/email/undo/\S+)", to_old[0].body).group(1)

    page = Client().get(link)
    assert page.status_code == 200 and b"owner@example.com" in page.content
    assert Client().post(link).status_code == 200

    owner.refresh_from_db()
    assert owner.email == "owner@example.com"
    assert [(a.email, a.primary, a.verified) for a in EmailAddress.objects.filter(user=owner)] == [
        ("owner@example.com", True, True)
    ]
    assert live_tokens(owner) == 0
    assert not is_signed_in(thief) and not is_signed_in(owners_phone)
    assert AccountAuditEvent.objects.filter(user=owner, action="email_change_undone").exists()
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_a_forged_or_tampered_undo_link_does_nothing(make_user):
    owner = make_user(email="keep@example.com")
    for token in ("nonsense", "eyJ1IjoxfQ:forged:sig"):
        assert Client().post(f"/email/undo/{token}").status_code == 400
    owner.refresh_from_db()
    assert owner.email == "keep@example.com"


# --- password and second factor -------------------------------------------------------------


def test_a_password_change_tells_the_person_revokes_tokens_and_ends_other_sessions(
    make_user, mailoutbox
):
    user = make_user()
    token_create(user=user)
    token_create(user=user)
    other = signed_in(user, reauthenticated=False)
    here = signed_in(user)
    mailoutbox.clear()
    response = here.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert live_tokens(user) == 0
    assert is_signed_in(here) and not is_signed_in(other)
    assert any("password" in m.subject.lower() for m in mailoutbox)


def test_a_password_reset_revokes_tokens_and_ends_every_session(make_user, mailoutbox):
    user = make_user()
    token_create(user=user)
    session = signed_in(user, reauthenticated=False)
    client = Client()
    client.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mailoutbox[-1].body)
    response = client.get(link.group(1))
    response = client.post(
        response["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert live_tokens(user) == 0 and not is_signed_in(session)
    assert any("password" in m.subject.lower() for m in mailoutbox[1:])


# allauth signals these changes on commit, inside the request: a real transaction.
@pytest.mark.django_db(transaction=True)
def test_enabling_and_disabling_totp_revoke_tokens_and_end_other_sessions(make_user, mailoutbox):
    user = make_user()
    EmailAddress.objects.filter(user=user).update(verified=True)  # allauth asks for one
    token_create(user=user)
    other = signed_in(user, reauthenticated=False)
    here = signed_in(user)
    here.get("/accounts/2fa/totp/activate/")
    secret = here.session[SECRET_SESSION_KEY]
    mailoutbox.clear()
    response = here.post("/accounts/2fa/totp/activate/", {"code": code_for(secret)})
    assert response.status_code == 302
    assert live_tokens(user) == 0
    assert is_signed_in(here) and not is_signed_in(other)
    assert mailoutbox  # allauth's notice that two-factor login was turned on

    token_create(user=user)
    assert here.post("/accounts/2fa/totp/deactivate/").status_code == 302
    assert live_tokens(user) == 0
    assert is_signed_in(here)


def test_sessions_from_before_the_epoch_stay_valid():
    """Epoch 0 keeps Django's own session hash: deploying this signs nobody out."""
    user = User(handle="epochzero", email="e@example.com", password="pbkdf2$x")
    from django.contrib.auth.base_user import AbstractBaseUser

    assert user.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(user)
    user.session_epoch = 1
    assert user.get_session_auth_hash() != AbstractBaseUser.get_session_auth_hash(user)
