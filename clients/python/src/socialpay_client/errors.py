"""Errors of the SocialPay API as exceptions: the API's stable ``code`` to switch on."""

from __future__ import annotations

from typing import Any


class SocialPayError(Exception):
    """An answer in the API's error shape ``{"error": {"code", "message", "details"}}``."""

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.request_id = request_id


class RetriesExhausted(SocialPayError):
    """The request kept failing in a way worth retrying (network, 429, 5xx, the same
    idempotency key still running) until the client's retries ran out."""
