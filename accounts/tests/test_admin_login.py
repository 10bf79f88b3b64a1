"""One door for staff: the admin's login is allauth's (password, then the second factor),
and staff without a second factor do not reach the admin at all."""

from __future__ import annotations

import uuid

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.test import Client

from accounts.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def staff(make_user, *, second_factor: bool):
    user = make_user()
    user.is_staff = user.is_superuser = True
    user.save()
    secret = generate_totp_secret() if second_factor else None
    if secret:
        TOTP.activate(user, secret)
    return user, secret


def browser() -> Client:
    return Client(REMOTE_ADDR=f"10.77.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")


def test_a_staff_user_with_totp_gets_no_admin_session_with_the_password_alone(make_user):
    user, secret = staff(make_user, second_factor=True)
    client = browser()
    # Django's own admin form took the password alone and logged the person in.
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": user.handle, "password": PASSWORD, "next": "/admin/"},
    )
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    assert client.get("/api/v1/me").status_code in {401, 403}
    # The admin's login is allauth's: the password leads to the second-factor step.
    response = client.get("/admin/login/?next=/admin/payments/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=%2Fadmin%2Fpayments%2F")
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": user.handle, "password": PASSWORD}
    )
    assert "/2fa/authenticate" in response["Location"]
    assert "_auth_user_id" not in client.session
    counter = next(iter(yield_hotp_counters_from_time()))
    response = client.post(
        "/accounts/2fa/authenticate/", {"code": f"{hotp_value(secret, counter):06d}"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_without_a_second_factor_are_told_to_enable_it(make_user):
    user, _ = staff(make_user, second_factor=False)
    client = browser()
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 403
    assert b"two-factor login" in page.content and b'href="/accounts/2fa/"' in page.content
    assert client.get("/admin/accounts/user/").status_code == 302


def test_people_who_are_not_staff_are_refused_not_looped(make_user):
    client = browser()
    client.force_login(make_user())
    page = client.get("/admin/login/?next=/admin/")
    assert page.status_code == 403


def test_the_admin_login_never_redirects_off_site():
    response = browser().get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
