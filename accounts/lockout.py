"""Which name django-axes counts failed logins against.

People log in with a handle or an e-mail address, through the allauth form (field
``login``), allauth's backend (``username``/``email``) or the API (``login``). All of them
must count against the same person, in canonical form, or an attacker could try
``Alice``, ``ALICE`` and ``alice@example.com`` as three separate budgets.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.handles import handle_key


def axes_username(request, credentials: dict | None = None) -> str:
    value = None
    for field in ("login", "username", "email"):
        if credentials and credentials.get(field):
            value = credentials[field]
            break
    if value is None and request is not None and hasattr(request, "POST"):
        value = request.POST.get("login") or request.POST.get("username")
    if not isinstance(value, str):
        return ""
    value = value.strip()[:254]
    return value.lower() if "@" in value else handle_key(value.removeprefix("@"))


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
