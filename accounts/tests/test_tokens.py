"""API tokens: scopes checked on every API operation, expiry, a name and a cheap last-used
time, listing / creating / revoking them (one or all) by API and page, revocation that
only moves forward, and the secret stored only as a digest."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_create
from accounts.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def code(response) -> str:
    return response.json()["error"]["code"]


def test_a_token_without_a_scope_cannot_call_what_needs_it(make_user):
    alice, bob = make_user(), make_user()
    _, read = token_create(user=alice, scopes=["read"])
    _, pay = token_create(user=alice, scopes=["payments"])
    _, payouts = token_create(user=alice, scopes=["payouts"])
    transfer = {"to": bob.handle, "amount": 100, "currency": "USD"}
    key = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}

    assert bearer(read).get("/api/v1/wallet").status_code == 200
    response = bearer(read).post("/api/v1/transfers", transfer, format="json", **key)
    assert (response.status_code, code(response)) == (403, "token_scope_missing")
    response = bearer(read).get("/api/v1/payouts")
    assert (response.status_code, code(response)) == (403, "token_scope_missing")
    response = bearer(read).post(
        "/api/v1/topups",
        {"amount": 100, "currency": "USD", "payment_method": "pm_card_visa"},
        format="json",
        **key,
    )
    assert code(response) == "token_scope_missing"

    # The payments scope reaches the money operation (refused there for want of money).
    response = bearer(pay).post("/api/v1/transfers", transfer, format="json", **key)
    assert code(response) == "insufficient_funds"
    assert code(bearer(pay).get("/api/v1/wallet")) == "token_scope_missing"
    assert bearer(payouts).get("/api/v1/payouts").status_code == 200
    assert code(bearer(payouts).post("/api/v1/transfers", transfer, format="json")) == (
        "token_scope_missing"
    )


@pytest.mark.parametrize(
    ("path", "method", "scope"),
    [
        ("/api/v1/transfers", "POST", "payments"),
        ("/api/v1/topups", "POST", "payments"),
        ("/api/v1/requests", "POST", "payments"),
        ("/api/v1/requests/1/pay", "POST", "payments"),
        ("/api/v1/posts/1/tips", "POST", "payments"),
        ("/api/v1/users/someone/tips", "POST", "payments"),
        ("/api/v1/posts/1/unlock", "POST", "payments"),
        ("/api/v1/orders", "POST", "payments"),
        ("/api/v1/orders/1/refund", "POST", "payments"),
        ("/api/v1/memberships", "POST", "payments"),
        ("/api/v1/fx/conversions", "POST", "payments"),
        ("/api/v1/fx/transfers", "POST", "payments"),
        ("/api/v1/payouts", "POST", "payouts"),
        ("/api/v1/payouts", "GET", "payouts"),
        ("/api/v1/payouts/destination", "PUT", "payouts"),
        ("/api/v1/payouts/quote", "POST", "payouts"),
        ("/api/v1/wallet", "GET", "read"),
        ("/api/v1/transfers/1", "GET", "read"),
        ("/api/v1/posts", "POST", "read"),
        ("/api/v1/me", "PATCH", "read"),
    ],
)
def test_each_api_operation_needs_its_scope(path, method, scope):
    from django.urls import resolve

    from accounts.authentication import required_scope

    class Call:
        def __init__(self, view):
            self.parser_context = {"view": view}
            self.method = method

    view = resolve(path).func.view_class()
    assert required_scope(Call(view)) == scope


def test_an_expired_token_is_refused(make_user):
    token, secret = token_create(user=make_user(), expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(secret).get("/api/v1/me")
    assert (response.status_code, code(response)) == (401, "token_expired")


def test_new_tokens_expire_and_old_ones_keep_all_scopes_and_no_expiry(make_user, settings):
    user = make_user()
    token, _ = token_create(user=user)
    assert token.scopes == ["read", "payments", "payouts"]
    assert token.expires_at - token.created_at == timedelta(days=settings.API_TOKEN_DEFAULT_DAYS)
    # A row as it was before scopes and expiry existed: the migration's defaults.
    old = ApiToken.objects.create(user=user, digest="0" * 64, prefix="sp_old00")
    old.refresh_from_db()
    assert old.scopes == ["read", "payments", "payouts"] and old.expires_at is None


def test_last_used_is_written_at_most_once_a_minute_and_the_lookup_is_one_query(make_user):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from accounts.authentication import BearerTokenAuthentication

    token, secret = token_create(user=make_user())
    factory = APIRequestFactory()

    def authenticate():
        request = Request(factory.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}"))
        with CaptureQueriesContext(connection) as queries:
            BearerTokenAuthentication().authenticate(request)
        return len(queries)

    assert authenticate() == 2  # the lookup, and the first last-used stamp
    assert authenticate() == 1  # within the minute: the lookup only
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    assert authenticate() == 2


def test_list_create_and_revoke_tokens_through_the_api(make_user):
    alice, eve = make_user(), make_user()
    _, first_secret = token_create(user=alice, name="laptop")
    client = bearer(first_secret)

    response = client.post(
        "/api/v1/auth/tokens",
        {"name": "shop bot", "scopes": ["read", "payments"], "expires_in_days": 30},
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["token"].startswith("sp_") and created["details"]["scopes"] == [
        "read",
        "payments",
    ]
    listed = client.get("/api/v1/auth/tokens").json()["data"]
    assert [(t["name"], t["current"]) for t in listed] == [("shop bot", False), ("laptop", True)]
    assert all("digest" not in t and "token" not in t for t in listed)

    # Someone else's token is not found; one's own is revoked.
    eve_token, _ = token_create(user=eve)
    assert client.delete(f"/api/v1/auth/tokens/{eve_token.pk}").status_code == 404
    assert client.delete(f"/api/v1/auth/tokens/{created['details']['id']}").status_code == 204
    assert bearer(created["token"]).get("/api/v1/me").status_code == 401

    assert client.post("/api/v1/auth/tokens/revoke-all").json() == {"revoked": 1}
    assert client.get("/api/v1/me").status_code == 401
    assert not ApiToken.objects.filter(user=alice, revoked_at__isnull=True).exists()
    assert ApiToken.objects.get(pk=eve_token.pk).revoked_at is None


def test_a_token_cannot_mint_scopes_it_lacks_or_skip_re_authentication(make_user):
    user = make_user()
    token, secret = token_create(user=user, scopes=["read"])
    client = bearer(secret)
    response = client.post("/api/v1/auth/tokens", {"scopes": ["payments"]}, format="json")
    assert (response.status_code, code(response)) == (403, "token_scope_missing")
    ApiToken.objects.filter(pk=token.pk).update(
        reauthenticated_at=timezone.now() - timedelta(hours=1)
    )
    response = client.post("/api/v1/auth/tokens", {"scopes": ["read"]}, format="json")
    assert (response.status_code, code(response)) == (403, "reauthentication_required")


@pytest.mark.parametrize(
    "body",
    [
        {"scopes": []},
        {"scopes": ["admin"]},
        {"scopes": "read"},
        {"expires_in_days": 0},
        {"expires_in_days": 366},
        {"expires_in_days": "30"},
        {"name": "x" * 101},
    ],
)
def test_bad_token_requests_are_400(make_user, body):
    _, secret = token_create(user=make_user())
    response = bearer(secret).post("/api/v1/auth/tokens", body, format="json")
    assert response.status_code == 400, response.json()


def test_the_tokens_page_lists_creates_once_and_revokes(make_user):
    user = make_user()
    token_create(user=user, name="old script")
    client = Client()
    client.post("/accounts/login/", {"login": user.handle, "password": PASSWORD})
    # Creating a token needs a recent re-authentication.
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    page = client.get("/settings/tokens").content.decode()
    assert "old script" in page
    response = client.post(
        "/settings/tokens/new", {"name": "cli", "scopes": ["read"], "expires_in_days": "7"}
    )
    html = response.content.decode()
    new = ApiToken.objects.get(user=user, name="cli")
    assert response.status_code == 200 and new.scopes == ["read"]
    secret = html.split("<code>sp_", 1)[1].split("</code>", 1)[0]
    assert ApiToken.digest_of("sp_" + secret) == new.digest
    assert "sp_" + secret not in client.get("/settings/tokens").content.decode()  # once only

    assert client.post("/settings/tokens/revoke", {"token": str(new.pk)}).status_code == 302
    assert ApiToken.objects.get(pk=new.pk).revoked_at is not None
    client.post("/settings/tokens/revoke", {"all": "1"})
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_creating_a_token_on_the_page_asks_to_re_authenticate(make_user):
    client = Client()
    client.force_login(make_user())
    response = client.post("/settings/tokens/new", {"name": "x", "scopes": ["read"]})
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    assert not ApiToken.objects.filter(name="x").exists()


def test_revocation_only_moves_forward_in_the_database(make_user):
    token, _ = token_create(user=make_user())
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())


def test_only_the_digest_of_a_secret_is_stored(make_user):
    token, secret = token_create(user=make_user())
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM accounts_apitoken WHERE id = %s", [token.pk])
        row = cur.fetchone()
    assert secret not in [str(v) for v in row] and ApiToken.digest_of(secret) in row


def test_any_token_can_end_itself_and_renew_its_re_authentication(make_user):
    user = make_user()
    _, payments_only = token_create(user=user, scopes=["payments"])
    client = bearer(payments_only)
    assert client.post("/api/v1/auth/reauthenticate", {"password": PASSWORD}).status_code == 204
    assert client.get("/api/v1/auth/tokens").status_code == 200
    assert client.delete("/api/v1/auth/token").status_code == 204
    assert client.get("/api/v1/auth/tokens").status_code == 401
