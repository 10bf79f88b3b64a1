import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken, User

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def _signup(client, **overrides):
    body = {"handle": "newbie", "email": "newbie@example.com", "password": PASSWORD}
    body.update(overrides)
    return client.post("/api/v1/auth/signup", body, format="json")


def _code(response):
    return response.json()["error"]["code"]


def test_signup_returns_user_and_working_token():
    client = APIClient()
    response = _signup(client)
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["handle"] == "newbie"
    assert body["user"]["email_verified"] is False
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert client.get("/api/v1/me").json()["handle"] == "newbie"


@pytest.mark.parametrize(
    ("handle", "code"),
    [
        ("admin", "handle_reserved"),
        ("ab", "handle_too_short"),
        ("x" * 31, "handle_too_long"),
        ("bad handle", "handle_invalid"),
        ("<script>", "handle_invalid"),
        ("Taken", "handle_taken"),
        ("\uff34aken", "handle_taken"),  # full-width T
        ("ta\u0137en", "handle_invalid"),
        ("t\u0430ken", "handle_confusable"),  # Cyrillic a
        ("ta1<en", "handle_invalid"),
        ("tak\u0435n", "handle_confusable"),  # Cyrillic e
    ],
)
def test_signup_handle_errors(make_user, handle, code):
    make_user("taken")
    response = _signup(APIClient(), handle=handle, email="x@example.com")
    assert response.status_code == 400
    assert _code(response) == code
    assert not User.objects.filter(email="x@example.com").exists()


def test_signup_rejects_unknown_fields():
    response = _signup(APIClient(), is_staff=True)
    assert response.status_code == 400
    assert _code(response) == "unknown_field"
    assert response.json()["error"]["details"]["fields"] == ["is_staff"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "body",
    [b'{"handle": "a\\u0000b", "email": "a@example.com", "password": "x"}', b"[1, 2]", b"{"],
)
def test_signup_rejects_malformed_bodies(body):
    response = APIClient().post("/api/v1/auth/signup", body, content_type="application/json")
    assert response.status_code == 400
    assert not User.objects.exists()


def test_signup_throttled_by_auth_scope(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "2/min", "anon": "100/min"})
    client = APIClient(REMOTE_ADDR=f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    codes = [
        _signup(client, handle=f"throt{i}", email=f"t{i}@example.com").status_code for i in range(3)
    ]
    assert codes[:2] == [201, 201]
    assert codes[2] == 429


def test_token_login_by_handle_or_email_and_revoke(make_user):
    make_user("carla", email="Carla@Example.com")
    client = APIClient()
    for login in ("carla", "CARLA", "carla@example.com"):
        response = client.post("/api/v1/auth/token", {"login": login, "password": PASSWORD})
        assert response.status_code == 200, response.json()
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.delete("/api/v1/auth/token").status_code == 204
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert _code(response) == "authentication_failed"


def test_token_wrong_password_then_lockout(make_user):
    make_user("dora")
    client = APIClient(REMOTE_ADDR=f"10.1.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    codes = [
        _code(client.post("/api/v1/auth/token", {"login": "dora", "password": "nope"}))
        for _ in range(6)
    ]
    assert codes[0] == "invalid_credentials"
    assert codes[-1] == "locked_out"
    response = client.post("/api/v1/auth/token", {"login": "dora", "password": PASSWORD})
    assert _code(response) == "locked_out"


def test_forged_and_malformed_tokens_rejected():
    for header in ("Bearer sp_forged", "Bearer", "Bearer a b", "Bearer \u00e9"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/me")
        assert response.status_code == 401, header
    assert APIClient().get("/api/v1/me").status_code == 401


def test_token_requires_totp_when_enabled(make_user):
    from allauth.mfa.totp.internal.auth import (
        TOTP,
        generate_totp_secret,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    user = make_user("eve")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    client = APIClient()
    body = {"login": "eve", "password": PASSWORD}
    assert _code(client.post("/api/v1/auth/token", body)) == "mfa_required"
    assert _code(client.post("/api/v1/auth/token", {**body, "code": "000000"})) in {"mfa_invalid"}
    counter = next(iter(yield_hotp_counters_from_time()))
    code = f"{hotp_value(secret, counter):06d}"
    assert client.post("/api/v1/auth/token", {**body, "code": code}).status_code == 200


def test_me_patch_and_unknown_field(make_user, client_for):
    client = client_for(make_user())
    response = client.patch("/api/v1/me", {"display_name": "Ada", "bio": "<b>hi</b>"})
    assert response.status_code == 200
    assert response.json()["bio"] == "<b>hi</b>"  # stored as text; pages escape it
    response = client.patch("/api/v1/me", {"is_staff": True})
    assert _code(response) == "unknown_field"
    response = client.patch("/api/v1/me", {"bio": "x" * 301})
    assert _code(response) == "text_too_long"


def test_user_profile_follow_block_mute(make_user, client_for):
    me, other = make_user("me_me"), make_user("other")
    client = client_for(me)
    assert client.get("/api/v1/users/OTHER").json()["relationship"]["following"] is False
    response = client.post("/api/v1/users/other/follow")
    assert response.status_code == 200
    assert response.json()["relationship"]["following"] is True
    assert response.json()["followers"] == 1
    assert client.post("/api/v1/users/me_me/follow").json()["error"]["code"] == "cannot_target_self"
    assert client.delete("/api/v1/users/other/follow").json()["relationship"]["following"] is False
    assert client.post("/api/v1/users/other/mute").json()["relationship"]["muting"] is True
    assert client.post("/api/v1/users/other/block").json()["relationship"]["blocking"] is True
    response = client_for(other).post("/api/v1/users/me_me/follow")
    assert response.status_code == 403
    assert _code(response) == "blocked"
    assert client.get("/api/v1/users/nobody_here").status_code == 404


def test_user_search(make_user):
    make_user("searchme", display_name="Findable Person")
    response = APIClient().get("/api/v1/users", {"q": "findable", "limit": 100000})
    assert [u["handle"] for u in response.json()["data"]] == ["searchme"]


def test_notifications_list_and_mark_read(make_user, client_for):
    a, b = make_user(), make_user()
    client_for(a).post(f"/api/v1/users/{b.handle}/follow")
    client = client_for(b)
    body = client.get("/api/v1/notifications", {"limit": 100000}).json()
    assert client.get("/api/v1/notifications/unread-count").json()["unread"] == 1
    assert body["data"][0]["kind"] == "follow"
    assert body["data"][0]["actor"]["handle"] == a.handle
    assert client.get("/api/v1/notifications/unread-count").json() == {"unread": 1}
    assert client.post("/api/v1/notifications/read", {}).json() == {"marked": 1}
    assert client.post("/api/v1/notifications/read", {"nope": 1}).status_code == 400


def test_reauthentication_for_api(make_user, client_for, rf):
    from datetime import timedelta

    from accounts.reauth import ReauthenticationRequired, require_recent_authentication

    user = make_user()
    client = client_for(user)
    token = ApiToken.objects.get(user=user)
    ApiToken.objects.filter(pk=token.pk).update(
        reauthenticated_at=token.created_at - timedelta(hours=1)
    )
    token.refresh_from_db()

    class Req:
        pass

    req = Req()
    req.user, req.auth = user, token
    with pytest.raises(ReauthenticationRequired):
        require_recent_authentication(req)
    response = client.post("/api/v1/auth/reauthenticate", {"password": "wrong one"})
    assert _code(response) == "invalid_credentials"
    assert client.post("/api/v1/auth/reauthenticate", {"password": PASSWORD}).status_code == 204
    token.refresh_from_db()
    require_recent_authentication(req)


def test_openapi_schema_generates_without_warnings():
    from io import StringIO

    from django.core.management import call_command

    err = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO(), stderr=err)
    assert "Warning" not in err.getvalue()


def test_signup_sends_verification_mail(mailoutbox):
    response = _signup(APIClient(), handle="mailme", email=f"m-{uuid.uuid4().hex[:6]}@example.com")
    assert response.status_code == 201
    assert len(mailoutbox) == 1
    assert "/accounts/confirm-email/" in mailoutbox[0].body


def test_avatar_upload_api(make_user, client_for, settings, tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    client = client_for(make_user())
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "blue").save(out, format="PNG")
    response = client.put(
        "/api/v1/me/avatar",
        {"avatar": SimpleUploadedFile("a.png", out.getvalue(), content_type="image/png")},
        format="multipart",
    )
    assert response.status_code == 200 and response.json()["avatar_url"].endswith(".png")
    response = client.put(
        "/api/v1/me/avatar",
        {"avatar": SimpleUploadedFile("a.png", b"GIF89a<script>", content_type="image/gif")},
        format="multipart",
    )
    assert response.status_code == 400 and _code(response) == "avatar_invalid"
    response = client.put("/api/v1/me/avatar", {"is_staff": "1"}, format="multipart")
    assert _code(response) == "unknown_field"
    # Found by schemathesis: a text field named "avatar" (not a file) used to answer 500.
    for value in ("", "not a file"):
        response = client.put("/api/v1/me/avatar", {"avatar": value}, format="multipart")
        assert response.status_code == 400 and _code(response) == "avatar_invalid"


def test_suspended_people_disappear(make_user, client_for):
    from accounts.services import user_suspend
    from posts.services import post_create

    staff, author = make_user(), make_user()
    post = post_create(author=author, text="soon gone")
    user_suspend(user=author, actor=staff)
    assert APIClient().get(f"/api/v1/posts/{post.pk}").status_code == 404
    assert APIClient().get(f"/api/v1/users/{author.handle}").status_code == 404


def test_me_says_whether_the_email_is_verified_and_a_second_factor_is_set_up():
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = APIClient()
    body = _signup(client).json()
    user = User.objects.get(handle="newbie")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")

    def flags():
        me = client.get("/api/v1/me").json()
        return me["email_verified"], me["mfa_enabled"]

    assert flags() == (False, False)
    # A verified address that is not the primary one does not count.
    EmailAddress.objects.create(user=user, email="other@example.com", verified=True)
    assert flags() == (False, False)
    EmailAddress.objects.filter(user=user, primary=True).update(verified=True)
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    with CaptureQueriesContext(connection) as captured:
        assert flags() == (True, True)
    # The token, its person and both flags in one statement; nothing else on the way.
    assert len(captured.captured_queries) == 1, [q["sql"][:80] for q in captured]


def test_me_by_browser_session_reads_the_flags_itself():
    """Without a token there is no lookup to read the flags with: the view asks for them."""
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(handle="sessioned", email="s@example.com", password="x" * 16)
    EmailAddress.objects.create(user=user, email="s@example.com", primary=True, verified=True)
    client = APIClient()
    client.force_login(user)
    me = client.get("/api/v1/me").json()
    assert (me["handle"], me["email_verified"], me["mfa_enabled"]) == ("sessioned", True, False)
