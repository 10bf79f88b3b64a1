import re
import uuid

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from accounts.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_locks_out_after_repeated_failures(make_user):
    user = make_user()
    client = Client(REMOTE_ADDR=f"10.7.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    statuses = [
        client.post("/accounts/login/", {"login": user.handle, "password": "wrong"}).status_code
        for _ in range(5)
    ]
    assert statuses[0] == 200  # the form again, with an error
    response = client.post("/accounts/login/", {"login": user.handle, "password": PASSWORD})
    # Two layers: django-axes answers 429 with our lock-out page; allauth's own per-login
    # rate limit (5 per 5 minutes) may refuse first. Either way the right password fails.
    assert response.status_code in {200, 429}
    assert "_auth_user_id" not in client.session
    text = response.content.decode()
    assert "Too many failed logins" in text or "Too many failed login attempts" in text


def test_passkey_page_available_after_reauthentication(make_user):
    user = make_user()
    EmailAddress.objects.filter(user=user).update(verified=True)
    client = Client()
    client.force_login(user)
    response = client.get("/accounts/2fa/webauthn/add/")
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/accounts/2fa/webauthn/add/").content.decode()
    assert "Add Security Key" in page and 'name="passwordless"' in page
    # Under the strict CSP only same-origin script files and JSON data blocks may appear.
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag or "nonce=" in tag, tag


def test_a_handle_taken_between_validation_and_saving_is_a_form_error(make_user, monkeypatch):
    """The sign-up race: validation passed for both, the database refuses the second. The
    person sees the form again with the reason, not a server error, and nothing is saved."""
    from accounts.adapter import AccountAdapter
    from accounts.models import User

    first = make_user()
    # Stand in for the other request that wins the race: validation does not see it.
    monkeypatch.setattr(AccountAdapter, "clean_username", lambda self, name, shallow=False: name)
    email = f"late-{uuid.uuid4().hex[:8]}@example.com"
    response = Client().post(
        "/accounts/signup/",
        {"username": first.handle, "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )

    assert response.status_code == 400
    assert "That handle was just taken" in response.content.decode()
    assert not User.objects.filter(email=email).exists()
