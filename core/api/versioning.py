"""The dated API version: every answer under ``/api/`` says which version of the contract
it follows (``SocialPay-Version: 2026-12-06``), and a client may pin one by sending the same
header; a version this server does not know is refused (400 ``unsupported_api_version``)
before anything runs, so a client never gets an answer in a contract it did not ask for.

A new dated version is added when a change could break a client that parses answers
strictly; each one is listed in ``docs/api-changelog.md``. While there is one version, a
pin only checks; the pinned version is on ``request.api_version`` for views that one day
answer older versions in their old shape. No view answers an older shape yet, so a
version whose shapes are gone is dropped from ``VERSIONS`` rather than kept: a client
pinned to it is refused (400) instead of silently reading the new shape. 2026-12-06 (one
money shape, ``object`` on every money resource) replaced 2026-12-01 that way.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _

from core.api.errors import error_body
from core.api_middleware import API_PREFIX
from core.exceptions import ValidationFailed

HEADER = "SocialPay-Version"
#: Every version this server answers, oldest first; the last is the current one.
VERSIONS = ("2026-12-06",)
CURRENT = VERSIONS[-1]


class UnsupportedApiVersion(ValidationFailed):
    code = "unsupported_api_version"
    default_message = _("This API version is not known to this server.")


class ApiVersionMiddleware:
    """Sets ``request.api_version`` and the ``SocialPay-Version`` answer header on /api/."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        asked = request.headers.get(HEADER, "").strip()
        if asked and asked not in VERSIONS:
            error = UnsupportedApiVersion(details={"asked": asked[:40], "supported": VERSIONS})
            response = JsonResponse(
                error_body(error.code, error.message, error.details), status=error.status
            )
        else:
            request.api_version = asked or CURRENT
            response = self.get_response(request)
        response[HEADER] = getattr(request, "api_version", CURRENT)
        return response
