"""``Authorization: Bearer <token>`` for the API; tokens are revocable and stored hashed.

Each token carries scopes, checked here for every API operation, whatever the view's
own permission classes:

- ``payouts``: the payout endpoints (a view with ``token_scope = "payouts"``);
- ``payments``: every operation that moves money — the methods marked by
  ``core.idempotency.idempotent_api`` (every money POST requires an Idempotency-Key);
- ``read``: everything else;
- none at all for managing tokens themselves (revoking the token in use, re-authenticating
  it, listing and revoking one's tokens): a view with ``token_scope = ANY_SCOPE``. A token
  can always end itself, and a ``payments`` token can renew its re-authentication.

A token past its ``expires_at`` is refused (401 ``token_expired``); one without the scope
an operation needs gets 403 ``token_scope_missing``. A browser session is not a token and
is not scoped.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.models import ApiToken, User
from accounts.selectors import SECURITY_FLAGS_ATTR, security_flags, security_flags_columns

# Writing last_used_at on every request would turn reads into writes; once a minute is enough.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


# Every API request runs this lookup, so it is written once as SQL instead of compiling the
# same ORM query each time; the rows become the usual model instances (all columns loaded).
_TOKEN_FIELDS = [f.attname for f in ApiToken._meta.concrete_fields]
_USER_FIELDS = [f.attname for f in User._meta.concrete_fields]
_COLUMNS = ", ".join(
    [f't."{f.column}"' for f in ApiToken._meta.concrete_fields]
    + [f'u."{f.column}"' for f in User._meta.concrete_fields]
)
# Only model-defined names are interpolated; the digest is a parameter.
_LOOKUP_FROM = (
    f" FROM {ApiToken._meta.db_table} t"
    f" JOIN {User._meta.db_table} u ON u.id = t.user_id"
    " WHERE t.digest = %s AND t.revoked_at IS NULL"
)
_LOOKUP_SQL = f"SELECT {_COLUMNS}{_LOOKUP_FROM}"
_USER_END = len(_TOKEN_FIELDS) + len(_USER_FIELDS)


@functools.cache
def _lookup_with_flags_sql() -> str:
    """``_LOOKUP_SQL`` that also reads the person's security flags (built on first use:
    the flags' tables are allauth's models)."""
    return f"SELECT {_COLUMNS}, {security_flags_columns('u.id')}{_LOOKUP_FROM}"


def _token_lookup(digest: str, *, with_security_flags: bool = False) -> ApiToken | None:
    """The token and its person in one statement; ``with_security_flags`` adds the two
    flags ``GET /me`` shows, so that its answer needs no second round trip."""
    with connection.cursor() as cur:
        cur.execute(_lookup_with_flags_sql() if with_security_flags else _LOOKUP_SQL, [digest])
        row = cur.fetchone()
    if row is None:
        return None
    token = ApiToken.from_db(connection.alias, _TOKEN_FIELDS, row[: len(_TOKEN_FIELDS)])
    token.user = User.from_db(connection.alias, _USER_FIELDS, row[len(_TOKEN_FIELDS) : _USER_END])
    if with_security_flags:
        token.user.__dict__[SECURITY_FLAGS_ATTR] = security_flags(row[_USER_END:])
    return token


class TokenExpired(exceptions.AuthenticationFailed):
    default_detail = "This token has expired. Create a new one."
    default_code = "token_expired"


class TokenScopeMissing(exceptions.PermissionDenied):
    default_detail = "This token does not have the scope this operation needs."
    default_code = "token_scope_missing"


ANY_SCOPE = "*"


def required_scope(request) -> str:
    """The scope the operation being called needs (see the module docstring);
    ``ANY_SCOPE`` when any valid token may call it."""
    context = getattr(request, "parser_context", None) or {}
    view = context.get("view")
    if view is None:
        return ApiToken.Scope.READ
    declared = getattr(view, "token_scope", None)
    if declared:
        return declared
    handler = getattr(view, request.method.lower(), None)
    if getattr(handler, "moves_money", False):
        return ApiToken.Scope.PAYMENTS
    return ApiToken.Scope.READ


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed token.") from exc
        # A view that shows the person's security flags (``GET /me``) has them read with
        # the token: one statement where there were two.
        context = getattr(request, "parser_context", None) or {}
        flags = getattr(context.get("view"), "prefetch_security_flags", False)
        row = _token_lookup(ApiToken.digest_of(token), with_security_flags=flags)
        if row is None or not row.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        now = timezone.now()
        if row.is_expired(now):
            raise TokenExpired()
        needed = required_scope(request)
        if needed != ANY_SCOPE and needed not in row.scopes:
            raise TokenScopeMissing(
                f"This token does not have the {needed!r} scope this operation needs."
            )
        if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.user, row

    def authenticate_header(self, request):
        return self.keyword
