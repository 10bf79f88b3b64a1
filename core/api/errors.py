"""One error shape for the whole API: ``{"error": {"code", "message", "details"}}``.

Codes are stable snake_case strings that clients can switch on; messages are for humans.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import DomainError

_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "malformed_request",
    exceptions.ValidationError: "validation_error",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _flatten_validation(detail: Any) -> tuple[str, dict]:
    """Pick the first field error's code as the top code; keep every message in details."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        first_code: str | None = None
        code: str | None
        for field, errors in detail.items():
            items = errors if isinstance(errors, list) else [errors]
            msgs = []
            for item in items:
                if isinstance(item, dict):
                    code, nested = _flatten_validation(item)
                    msgs.append(str(nested))
                else:
                    code = getattr(item, "code", None)
                    msgs.append(str(item))
                if first_code is None and code and code not in {"invalid", "required"}:
                    first_code = code
            fields[field] = msgs
        return first_code or "validation_error", {"fields": fields}
    if isinstance(detail, list):
        code = getattr(detail[0], "code", None) if detail else None
        return (code if code and code != "invalid" else "validation_error"), {
            "errors": [str(d) for d in detail]
        }
    return "validation_error", {"errors": [str(detail)]}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        code, details = _flatten_validation(exc.detail)
        response.data = error_body(code, "Some fields are invalid.", details)
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    code = _CODES.get(type(exc)) or str(getattr(exc, "default_code", "error"))
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    details = {}
    # Throttled sets ``wait`` in __init__; djangorestframework-stubs do not declare it.
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        details["retry_after_seconds"] = int(wait)
    response.data = error_body(code, str(message), details)
    return response
