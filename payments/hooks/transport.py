"""One HTTP POST to a webhook endpoint, to the address the SSRF guard approved.

``http.client`` and not a higher-level client: it never follows redirects (a 3xx is an
answer like any other, a failed attempt), and it lets us connect to the checked address
while TLS still verifies the certificate of the host name.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from payments.hooks.addresses import resolve_public, url_check

RESPONSE_EXCERPT_BYTES = 500


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no HTTP answer (refused, timed out, TLS error)
    error: str
    excerpt: str
    duration_ms: int


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> PostResult:
    """POST ``body`` to ``url``; never raises for network trouble (it is the result)."""
    started = time.monotonic()

    def result(code, error, excerpt=""):
        ms = int((time.monotonic() - started) * 1000)
        return PostResult(code, error[:200], excerpt[:RESPONSE_EXCERPT_BYTES], ms)

    try:
        scheme, host, port = url_check(url)
        address = resolve_public(host, port)
    except Exception as exc:  # a domain error: the URL is no longer acceptable
        return result(None, getattr(exc, "code", "invalid_url"))
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = cls(host, port, address, timeout)
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT_BYTES).decode("utf-8", "replace")
        return result(response.status, "", excerpt)
    except TimeoutError:
        return result(None, "timeout")
    except (OSError, http.client.HTTPException) as exc:
        return result(None, type(exc).__name__)
    finally:
        conn.close()
