"""Where a webhook may go: public addresses only (the SSRF guard).

A URL is checked when it is registered and again at every delivery, on the addresses its
host resolves to at that moment, and the connection is made to the address that was
checked (``resolve_public``), so a DNS answer that changes between the check and the
connect (rebinding) cannot reach an internal service. Redirects are never followed.
``HOOKS_ALLOW_PRIVATE_ADDRESSES`` (development and tests only; always off in production)
lets loopback and private receivers through.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from payments.hooks.errors import WebhookUrlForbidden, WebhookUrlInvalid
from payments.hooks.models import URL_MAX_LENGTH


def url_check(url: str) -> tuple[str, str, int]:
    """Parse a webhook URL. Returns (scheme, host, port). Raises ``WebhookUrlInvalid``."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX_LENGTH:
        raise WebhookUrlInvalid()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlInvalid() from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise WebhookUrlInvalid()
    if parts.username or parts.password or any(c.isspace() for c in url):
        raise WebhookUrlInvalid()
    if parts.scheme == "http" and settings.PRODUCTION:
        # A signed body in clear text still leaks the payment to anyone on the path.
        raise WebhookUrlInvalid(details={"reason": "https_required"})
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_public(host: str, port: int) -> str:
    """Resolve ``host`` and return one address to connect to. Raises
    ``WebhookUrlForbidden`` when any address it resolves to is not public (unless private
    addresses are allowed), ``WebhookUrlInvalid`` when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlInvalid(details={"reason": "unresolvable"}) from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise WebhookUrlInvalid(details={"reason": "unresolvable"})
    # Every answer must be public: one private answer is enough for an attacker.
    if not settings.HOOKS_ALLOW_PRIVATE_ADDRESSES and not all(
        address_is_public(a) for a in addresses
    ):
        raise WebhookUrlForbidden()
    return addresses[0]
