"""The login lockout: one identity per person whatever the spelling, wrong second-factor
codes counted like wrong passwords, only a complete login resets the count, and the
client address taken from the trusted-proxy setting (X-Forwarded-For ignored unless a
proxy is configured)."""

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
from rest_framework.test import APIClient

from accounts.lockout import lockout_identity
from accounts.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _address() -> str:
    # Fresh per test: axes keeps its counts in the database, allauth's in the cache.
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def _token(client, login, password=PASSWORD, **extra):
    body = {"login": login, "password": password, **extra}
    response = client.post("/api/v1/auth/token", body, format="json")
    return response.status_code, response.json().get("error", {}).get("code")


def _with_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def _current_code(secret: str) -> str:
    counter = next(iter(yield_hotp_counters_from_time()))
    return f"{hotp_value(secret, counter):06d}"


def _wrong_code(secret: str) -> str:
    right = _current_code(secret)
    return "000000" if right != "000000" else "111111"


SPELLINGS = [
    "victim1",
    "@victim1",
    "VICTIM1",
    "@\uff56\uff49\uff43\uff54\uff49\uff4d\uff11",  # @victim1 in full-width letters
    "\uff20victim1",  # full-width @
    " victim1 ",
    "Victim1@Example.COM",
]


def test_every_spelling_of_a_person_is_one_identity(make_user):
    user = make_user("victim1", email="victim1@example.com")
    identities = {lockout_identity(s) for s in [*SPELLINGS, "vict1m1", "vlctim1"]}
    assert identities == {f"user:{user.pk}"}
    # Names of nobody are counted by their canonical form, spellings together.
    assert lockout_identity("Nob0dy") == lockout_identity("@NOBODY") != lockout_identity("x")


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_after_lockout_no_spelling_gets_in_with_the_right_password(make_user, spelling):
    make_user("victim1", email="victim1@example.com")
    client = APIClient(REMOTE_ADDR=_address())
    codes = [_token(client, "victim1", "wrong password")[1] for _ in range(5)]
    assert codes[-1] == "locked_out"
    assert _token(client, spelling) == (429, "locked_out")


def test_failures_under_different_spellings_add_up(make_user):
    make_user("victim1", email="victim1@example.com")
    client = APIClient(REMOTE_ADDR=_address())
    for spelling in ["victim1", "@VICTIM1", "\uff56ictim1", "victim1@example.com", "vict1m1"]:
        _token(client, spelling, "wrong password")
    assert _token(client, "victim1") == (429, "locked_out")


def test_wrong_totp_codes_lock_the_api_login_and_then_the_right_code_is_refused(make_user):
    user = make_user()
    secret = _with_totp(user)
    client = APIClient(REMOTE_ADDR=_address())
    codes = [_token(client, user.handle, code=_wrong_code(secret))[1] for _ in range(5)]
    assert codes[:4] == ["mfa_invalid"] * 4 and codes[4] == "locked_out"
    assert _token(client, user.handle, code=_current_code(secret)) == (429, "locked_out")


def test_a_correct_password_does_not_reset_the_count_of_wrong_codes(make_user):
    user = make_user()
    secret = _with_totp(user)
    client = APIClient(REMOTE_ADDR=_address())
    for _ in range(4):
        assert _token(client, user.handle, code=_wrong_code(secret))[1] == "mfa_invalid"
    assert _token(client, user.handle)[1] == "mfa_required"  # the password alone was right
    assert _token(client, user.handle, code=_wrong_code(secret)) == (429, "locked_out")


def test_only_a_complete_login_resets_the_count(make_user):
    user = make_user()
    secret = _with_totp(user)
    client = APIClient(REMOTE_ADDR=_address())
    for _ in range(4):
        _token(client, user.handle, code=_wrong_code(secret))
    assert _token(client, user.handle, code=_current_code(secret))[0] == 200
    for _ in range(4):
        assert _token(client, user.handle, "wrong password")[1] == "invalid_credentials"


def test_wrong_codes_on_the_login_page_lock_too(make_user):
    user = make_user()
    secret = _with_totp(user)
    browser = Client(REMOTE_ADDR=_address())
    response = browser.post("/accounts/login/", {"login": user.handle, "password": PASSWORD})
    assert response.status_code == 302 and "/2fa/authenticate" in response["Location"]
    answers = [
        browser.post("/accounts/2fa/authenticate/", {"code": _wrong_code(secret)}).status_code
        for _ in range(5)
    ]
    assert answers[-1] == 429
    response = browser.post("/accounts/2fa/authenticate/", {"code": _current_code(secret)})
    assert response.status_code in {200, 429}
    assert "_auth_user_id" not in browser.session


# --- the client address ---------------------------------------------------------------------


def test_rotating_x_forwarded_for_does_not_escape_the_auth_rate_limit(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "2/min", "anon": "100/min"})
    client = APIClient(REMOTE_ADDR=_address())
    answers = [
        client.post(
            "/api/v1/auth/token",
            {"login": "someone", "password": "x"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        ).status_code
        for i in range(4)
    ]
    assert answers[:2] == [400, 400] and answers[2:] == [429, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_lockout(make_user, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    make_user("victim2")
    proxy = _address()
    attacker = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=_address())
    owner = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=_address())
    for _ in range(5):
        _token(attacker, "victim2", "wrong password")
    assert _token(attacker, "victim2") == (429, "locked_out")
    # The same proxy address, another client behind it: not locked out by the attacker.
    assert _token(owner, "victim2")[0] == 200
