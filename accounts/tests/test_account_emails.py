"""allauth's account e-mails in the site's layout: named after the site (not the host the
request came in on), sent as text and HTML, with the link as a button, in German too."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from accounts.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _signup(language: str = "en") -> str:
    client = Client(REMOTE_ADDR=f"10.57.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    client.cookies["django_language"] = language
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    handle = f"n{uuid.uuid4().hex[:10]}"
    response = client.post(
        "/accounts/signup/",
        {"username": handle, "email": email, "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST="127.0.0.1",
    )
    assert response.status_code == 302
    return email


def _parts(mail) -> tuple[str, str]:
    (html, mimetype), *_rest = mail.alternatives
    assert mimetype == "text/html"
    return mail.body, html


def test_the_confirmation_mail_is_branded_text_and_html(mailoutbox):
    email = _signup()
    (mail,) = [m for m in mailoutbox if m.to == [email]]
    text, html = _parts(mail)
    for part in (text, html):
        # The host only in the link (allauth builds it from the request), never as a name.
        assert "Hello from" not in part and "127.0.0.1!" not in part and "on 127.0.0.1" not in part
        assert "Welcome to SocialPay" in part and "/accounts/confirm-email/" in part
    assert 'href="http://127.0.0.1/accounts/confirm-email/' in html
    assert "Confirm your e-mail address" in html
    assert "<style" not in html and "<img" not in html


def test_the_confirmation_mail_in_german(mailoutbox):
    email = _signup("de")
    (mail,) = [m for m in mailoutbox if m.to == [email]]
    text, html = _parts(mail)
    assert "Willkommen bei SocialPay" in text and "Willkommen bei SocialPay" in html
    assert "E-Mail-Adresse bestätigen" in html and 'lang="de"' in html


def test_the_password_reset_mail_is_branded(make_user, mailoutbox):
    user = make_user(email=f"reset-{uuid.uuid4().hex[:8]}@example.com")
    mailoutbox.clear()
    client = Client(REMOTE_ADDR="10.58.1.1")
    client.post("/accounts/password/reset/", {"email": user.email})
    (mail,) = mailoutbox
    text, html = _parts(mail)
    assert "Hello from" not in text and "Choose a new password" in html
    assert "/accounts/password/reset/key/" in text and "/accounts/password/reset/key/" in html
    assert f"@{user.handle}" in text
