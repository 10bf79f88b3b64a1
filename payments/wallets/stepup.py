"""Pages' half of the step-up rule (the rule itself: ``payments.wallets.payer``).

When a payment page's service answers ``reauthentication_required``, the page calls
``stepup_redirect``: the person goes to re-authenticate and comes back to the payment form
with what they typed filled in again (amount, currency, note, address …), to check it and
send it once more. Nothing is paid behind their back after the re-authentication.

The typed values wait in the session, never in the address (a note or a shipping address
belongs in neither logs nor browser history), under a random token that the ``next``
address names (``?resume=…``); ``stepup_restore`` hands them back once.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

SESSION_KEY = "payments_stepup_forms"
PARAM = "resume"
#: Limits: forms kept per session (the oldest go first) and characters kept per field.
MAX_KEPT = 5
FIELD_MAX_LENGTH = 2000


def stepup_redirect(request, *, back: str, fields: Iterable[str]) -> HttpResponse:
    """Keep ``fields`` of the posted form and send the person to re-authenticate, then to
    ``back`` (a path on this site) with the form restored. htmx requests get an
    ``HX-Redirect`` so the whole page moves, not the panel."""
    token = secrets.token_urlsafe(16)
    kept = {name: request.POST.get(name, "")[:FIELD_MAX_LENGTH] for name in fields}
    store = dict(request.session.get(SESSION_KEY) or {})
    store[token] = {k: v for k, v in kept.items() if k in request.POST}
    while len(store) > MAX_KEPT:
        store.pop(next(iter(store)))
    request.session[SESSION_KEY] = store
    messages.info(request, _("Confirm it is you, then send the payment again."))
    separator = "&" if "?" in back else "?"
    target = f"{back}{separator}{urlencode({PARAM: token})}"
    url = reverse("account_reauthenticate") + "?" + urlencode({"next": target})
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def stepup_restore(request) -> dict[str, str]:
    """The form values kept for this request's ``?resume=`` token (once), or ``{}``."""
    token = request.GET.get(PARAM, "")
    store = request.session.get(SESSION_KEY) or {}
    if not token or token not in store:
        return {}
    store = dict(store)
    kept = store.pop(token)
    request.session[SESSION_KEY] = store
    return kept
