"""Domain errors with stable machine-readable codes.

Services raise these; the API error handler turns them into the contract's error shape
(``{"error": {"code", "message", "details"}}``) with the HTTP status given here, and pages
show the message. Apps subclass ``DomainError`` with their own codes.

Messages are translatable (``gettext_lazy`` for ``default_message``) and are rendered in the
language active when the error is raised: the page's or request's language. Codes never
change with the language.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class DomainError(Exception):
    code: str = "domain_error"
    status: int = 400
    default_message: StrOrPromise = _("The request could not be completed.")

    def __init__(
        self, message: StrOrPromise | None = None, *, details: dict[str, Any] | None = None
    ):
        # str() now: a lazy message would follow whatever language is active later, and
        # would not survive JSON (details, task payloads, stored failure reasons).
        self.message = str(message or self.default_message)
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 400
    default_message = _("Some fields are invalid.")


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("You are not allowed to do that.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("The request conflicts with the current state.")


class InvalidChoice(ValidationFailed):
    """A field whose value must be one of a fixed set (``details``: ``field``, ``choices``)."""

    code = "invalid_choice"
    default_message = _("A field has a value that is not one of its choices.")
