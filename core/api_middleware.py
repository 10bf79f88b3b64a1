"""The API's own middleware chain: requests to ``/api/`` that carry ``Authorization:
Bearer ...`` skip the middleware only a browser needs.

Such a request is authenticated by DRF inside the view (``accounts.authentication``),
never by a session cookie; DRF sets ``request.user`` itself and its views are exempt from
Django's CSRF check (a token is not sent by the browser on its own, so there is no
cross-site forgery to stop). For it the session (a cookie read and a lazy database read),
CSRF's cookie handling, the session user, the saved-language middleware (it finds no user
before DRF authenticates; the API follows ``Accept-Language``, see ``accounts.language``),
messages, htmx's request details and WhiteNoise's static-file lookup are work with no
effect (``bench/profile_api.py`` shows the middleware stack's share of ``GET /me``).

Django builds a handler's middleware chain once, at start-up. ``BearerApiDispatch``, the
first entry of ``MIDDLEWARE``, builds a second chain at the same moment: every entry of
``MIDDLEWARE`` except ``BROWSER_ONLY_MIDDLEWARE``, in the same order, ending in the same
URL resolution and views. A Bearer API request is handed to that chain; every other
request (pages, static files, API calls from a browser session, which still need their
session and CSRF check) continues down the full one. Both chains run the request id, the
metrics, the security headers (HSTS, nosniff, referrer and opener policies, CSP,
X-Frame-Options), gzip, locale negotiation, the API version header, CommonMiddleware,
allauth's request context and axes' lockout answer, and whatever a deployment inserts into
``MIDDLEWARE`` (the replica-reads middleware): an API client sees the same headers and
errors either way. Being a middleware, it serves WSGI (gunicorn), ASGI and the test client
alike; under ASGI both chains run synchronously in a worker thread, as the full chain did
before (all of its middleware is synchronous).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.utils.module_loading import import_string

API_PREFIX = "/api/"

#: What a Bearer-token API request has no use for (see the module docstring).
BROWSER_ONLY_MIDDLEWARE = frozenset(
    {
        "core.api_middleware.BearerApiDispatch",
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "accounts.language.UserLanguageMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
    }
)


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


def api_middleware() -> list[str]:
    """The Bearer API chain: ``MIDDLEWARE`` without ``BROWSER_ONLY_MIDDLEWARE``."""
    return [path for path in settings.MIDDLEWARE if path not in BROWSER_ONLY_MIDDLEWARE]


class _ApiHandler(BaseHandler):
    """A handler whose chain is ``api_middleware()``; only its chain is used.

    Django's own loader reads ``settings.MIDDLEWARE`` and cannot be given another list
    (pointing the setting elsewhere while it runs would race with handlers being built in
    other threads), so this is its synchronous path for our list: every middleware here is
    synchronous, and the dispatch that calls this chain is too."""

    def load_middleware(self, is_async: bool = False) -> None:
        if is_async:
            raise ImproperlyConfigured("The API chain is synchronous.")
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        # The view-calling end of every Django handler (not in django-stubs).
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(api_middleware()):
            middleware = import_string(path)
            if not getattr(middleware, "sync_capable", True):
                raise ImproperlyConfigured(f"{path} cannot run synchronously.")
            try:
                instance = middleware(handler)
            except MiddlewareNotUsed:
                continue
            if instance is None:
                raise ImproperlyConfigured(f"Middleware factory {path} returned None.")
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class BearerApiDispatch:
    """Hands Bearer API requests to the API chain (see the module docstring). Must be the
    first entry of ``MIDDLEWARE``."""

    def __init__(self, get_response):
        self.get_response = get_response
        api = _ApiHandler()
        api.load_middleware()
        self.api_chain = api._middleware_chain

    def __call__(self, request):
        if is_bearer_api(request):
            return self.api_chain(request)
        return self.get_response(request)
