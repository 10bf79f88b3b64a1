"""Middleware that API requests authenticated by a Bearer token do not need, skipped for them.

A request to ``/api/`` that carries ``Authorization: Bearer ...`` is authenticated by DRF
inside the view (``accounts.authentication``), never by a session, and DRF sets
``request.user`` itself. So for it the session (a cookie read and a lazy database read),
the session user (``accounts.language.UserLanguageMiddleware`` then finds none and leaves
the choice to ``Accept-Language``, as documented there) and messages are work with no
effect (``bench/profile_api.py`` shows the middleware stack's share of ``GET /me``).

Each class here is the stock middleware with one change: for such a request it passes the
request straight on (and its hooks do nothing). Every other request, including API calls
from a browser session, goes through the stock middleware unchanged. Security headers,
CSP, the request id, locale negotiation, gzip, htmx, allauth's request context and axes
still run for every request, and so does Django's CSRF middleware (``check --deploy``
wants the stock class; it does nothing for DRF's CSRF-exempt views anyway).
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Session

API_PREFIX = "/api/"


def is_bearer_api(request) -> bool:
    """A request to the API authenticated by a Bearer token (or trying to be)."""
    cached = getattr(request, "_bearer_api", None)
    if cached is None:
        cached = (
            request.path_info.startswith(API_PREFIX)
            and request.META.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer "
        )
        request._bearer_api = cached
    return cached


def _skipping_hook(hook):
    def skip_hook(self, request, *args):
        if is_bearer_api(request):
            return None
        return hook(self, request, *args)

    return skip_hook


def _skipping(base: type) -> type:
    """``base`` that lets Bearer API requests pass (see the module docstring)."""

    def __call__(self, request):
        if is_bearer_api(request):
            return self.get_response(request)
        return base.__call__(self, request)

    namespace = {"__call__": __call__, "__doc__": f"{base.__name__}, skipped for Bearer API."}
    # Django collects these hooks when it builds the chain; skip them for the same requests.
    for hook in ("process_view", "process_exception", "process_template_response"):
        if hasattr(base, hook):
            namespace[hook] = _skipping_hook(getattr(base, hook))
    return type(base.__name__, (base,), namespace)


SessionMiddleware = _skipping(_Session)
AuthenticationMiddleware = _skipping(_Authentication)
MessageMiddleware = _skipping(_Messages)
