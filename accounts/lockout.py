"""One lockout identity per person, counting every wrong secret.

django-axes counts failed logins per (identity, client address) and locks after
``AXES_FAILURE_LIMIT``. The identity is the *account*, not the text typed: people log in
with a handle or an e-mail address, through the allauth form (field ``login``), allauth's
backend (``username``/``email``) or the API (``login``), and ``victim1``, ``@VICTIM1``,
its full-width form, a look-alike spelling (``vict1m1``) and the e-mail address all name
the same person, so they share one budget (``user:<id>``). A name that matches nobody is
counted under its canonical skeleton (``name:…``) or lower-cased address (``email:…``),
so spellings of it share a budget too and the answer does not reveal whether it exists.

Wrong second-factor codes (TOTP or recovery codes, in the login's second step, in
re-authentication and in the API) are failures of the same identity
(``second_factor_failed``), and a locked identity may not try a code at all
(``second_factor_check_allowed``). Only a complete login — password and second factor —
resets the count (axes' ``user_logged_in`` handler): a correct password alone does not.

The client address comes from ``core.client_ip`` (``AXES_CLIENT_IP_CALLABLE``), so behind
a configured proxy each client is counted on its own and a header it sends changes
nothing.
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext as _

from accounts.handles import handle_key, handle_skeleton

_MAX_LOGIN_LENGTH = 254


def _typed_login(request, credentials: dict | None) -> str | None:
    for field in ("login", "username", "email"):
        if credentials and credentials.get(field):
            return credentials[field]
    if request is not None and hasattr(request, "POST"):
        return request.POST.get("login") or request.POST.get("username")
    return None


def lockout_identity(login: str) -> str:
    """The identity ``login`` (a handle in any spelling, or an e-mail address) counts
    against: ``user:<id>`` for an account, else a canonical form of the text."""
    from accounts.models import User

    text = unicodedata.normalize("NFKC", login.strip()[:_MAX_LOGIN_LENGTH])
    if "@" in text.lstrip("@"):
        address = text.lower()
        user_id = User.objects.filter(email__iexact=address).values_list("pk", flat=True).first()
        return f"user:{user_id}" if user_id else f"email:{address}"
    key = handle_key(text.lstrip("@").strip())
    skeleton = handle_skeleton(key)
    # The skeleton is unique among accounts, so it names at most one person, whichever
    # look-alike spelling was typed.
    user_id = (
        User.objects.filter(handle_skeleton=skeleton).values_list("pk", flat=True).first()
        if key
        else None
    )
    return f"user:{user_id}" if user_id else f"name:{skeleton}"


def axes_username(request, credentials: dict | None = None) -> str:
    """``AXES_USERNAME_CALLABLE``: the lockout identity of the login being tried."""
    value = _typed_login(request, credentials)
    if not isinstance(value, str) or not value.strip():
        return ""
    # axes asks several times per attempt; one lookup per request and spelling is enough.
    cache = getattr(request, "_lockout_identities", None) if request is not None else None
    if cache is None:
        cache = {}
        if request is not None:
            request._lockout_identities = cache
    if value not in cache:
        cache[value] = lockout_identity(value)
    return cache[value]


def _django_request(request):
    return getattr(request, "_request", request)


def second_factor_check_allowed(request, user) -> bool:
    """False when ``user``'s identity is locked out from this client: no code may be tried."""
    from axes.handlers.proxy import AxesProxyHandler

    request = _django_request(request)
    AxesProxyHandler.update_request(request)
    return AxesProxyHandler.is_allowed(request, credentials={"login": user.get_username()})


def second_factor_failed(request, user) -> bool:
    """Count a wrong TOTP or recovery code as a failed login of ``user``. Returns True when
    this failure locked the identity out."""
    from django.contrib.auth.signals import user_login_failed

    request = _django_request(request)
    user_login_failed.send(
        sender=__name__, credentials={"login": user.get_username()}, request=request
    )
    return bool(getattr(request, "axes_locked_out", False))


def login_completed(request, user) -> None:
    """A complete login without a session (an API token): reset the count like axes does
    for a session login (``AXES_RESET_ON_SUCCESS``)."""
    from axes.handlers.proxy import AxesProxyHandler

    request = _django_request(request)
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.user_logged_in(sender=__name__, request=request, user=user)


def lockout_response(request, original_response=None, credentials=None):
    """What a locked-out client sees: the API's error shape for the API, a page otherwise."""
    from django.http import JsonResponse
    from django.shortcuts import render

    from core.api.errors import error_body

    status = 429
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("locked_out", _("Too many failed logins. Try again later.")), status=status
        )
    return render(request, "account/lockout.html", status=status)
