"""Domain errors with stable machine-readable codes.

Services raise these; the API error handler turns them into the contract's error shape
(``{"error": {"code", "message", "details"}}``) with the HTTP status given here, and pages
show the message. Apps subclass ``DomainError`` with their own codes.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "domain_error"
    status: int = 400
    default_message: str = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 400
    default_message = "Some fields are invalid."


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_message = "You are not allowed to do that."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."
