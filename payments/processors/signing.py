"""Stripe's webhook signature scheme (``Stripe-Signature: t=<unix>,v1=<hex hmac>``).

The signed payload is ``"<t>.<raw body>"`` with HMAC-SHA256 under the endpoint secret.
The sandbox signs with this and verifies with it; Stripe's own library verifies the same
headers. Stripe's library accepts any timestamp in the future; we also refuse timestamps
more than the tolerance ahead of our clock.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from payments.processors.base import WebhookSignatureError

SIGNATURE_HEADER = "Stripe-Signature"
MAX_HEADER_LENGTH = 2048


def compute_signature(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute_signature(body, secret, timestamp)}"


def header_value(headers: Mapping[str, str]) -> str | None:
    """``Stripe-Signature`` from a plain dict, Django's ``request.headers`` or WSGI META."""
    for key in (SIGNATURE_HEADER, SIGNATURE_HEADER.lower(), "HTTP_STRIPE_SIGNATURE"):
        value = headers.get(key)
        if value:
            return value
    return None


def parse_header(header: str | None) -> tuple[int, list[str]]:
    if not header:
        raise WebhookSignatureError("The Stripe-Signature header is missing.")
    if len(header) > MAX_HEADER_LENGTH:
        raise WebhookSignatureError("The Stripe-Signature header is too long.")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookSignatureError("The Stripe-Signature header is malformed.")
        if key == "t":
            if not value.isascii() or not value.isdigit() or len(value) > 12:
                raise WebhookSignatureError("The signature timestamp is malformed.")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookSignatureError("The Stripe-Signature header has no t or no v1 signature.")
    return timestamp, signatures


def check_timestamp(timestamp: int, *, tolerance: int, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise WebhookSignatureError(
            "The webhook timestamp is outside the tolerance.", code="stale_webhook"
        )


def verify(
    body: bytes, header: str | None, secret: str, *, tolerance: int, now: float | None = None
) -> int:
    """Check the signature first (a forged request learns nothing about our clock), then
    the timestamp. Returns the signed timestamp."""
    if not secret:
        raise WebhookSignatureError("No webhook secret is configured.")
    timestamp, signatures = parse_header(header)
    expected = compute_signature(body, secret, timestamp)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise WebhookSignatureError("No signature matches the body.")
    check_timestamp(timestamp, tolerance=tolerance, now=now)
    return timestamp
