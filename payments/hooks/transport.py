"""HTTP POSTs to a webhook endpoint, to the address the SSRF guard approved, one at a time
or several in a row on one keep-alive connection.

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
# What is read past the excerpt to keep a connection for the next delivery.
DRAIN_BYTES_MAX = 64 * 1024


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no HTTP answer (refused, timed out, TLS error)
    error: str
    excerpt: str
    duration_ms: int


def _socket(address: str, port: int, timeout: float) -> socket.socket:
    sock = socket.create_connection((address, port), timeout)
    # A request goes out in one write; on a kept connection Nagle would only delay it.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = _socket(self._address, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = _socket(self._address, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class EndpointConnection:
    """One keep-alive connection to one endpoint, for a run of deliveries in a row.

    A burst of events to one receiver then costs one TCP (and TLS) handshake, not one per
    event. The URL is checked and resolved (the SSRF guard) each time a connection is
    opened; after any failure, or an answer that closes the connection, the next POST opens
    a new one. ``post`` never raises for network trouble: it is the result.
    """

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._target = "/"
        self.opened = 0  # connections opened so far (the tests and logs read it)

    def __enter__(self) -> EndpointConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _open(self) -> http.client.HTTPConnection:
        scheme, host, port = url_check(self.url)
        address = resolve_public(host, port)
        parts = urlsplit(self.url)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        self._conn = cls(host, port, address, self.timeout)
        self.opened += 1
        return self._conn

    def post(self, body: bytes, headers: dict[str, str]) -> PostResult:
        started = time.monotonic()

        def result(code, error, excerpt=""):
            ms = int((time.monotonic() - started) * 1000)
            return PostResult(code, error[:200], excerpt[:RESPONSE_EXCERPT_BYTES], ms)

        try:
            conn = self._conn or self._open()
        except Exception as exc:  # a domain error: the URL is no longer acceptable
            return result(None, getattr(exc, "code", "invalid_url"))
        try:
            conn.request("POST", self._target, body=body, headers=headers)
            response = conn.getresponse()
            excerpt = response.read(RESPONSE_EXCERPT_BYTES).decode("utf-8", "replace")
            # The connection is reusable only once the answer is read to its end; a long
            # answer is not worth reading (and a hostile one could be endless).
            rest = response.read(DRAIN_BYTES_MAX) if not response.isclosed() else b""
            if response.will_close or not response.isclosed() or len(rest) >= DRAIN_BYTES_MAX:
                self.close()
            return result(response.status, "", excerpt)
        except TimeoutError:
            self.close()
            return result(None, "timeout")
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return result(None, type(exc).__name__)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> PostResult:
    """POST ``body`` to ``url`` on a connection of its own; never raises for network
    trouble (it is the result)."""
    with EndpointConnection(url, timeout=timeout) as conn:
        return conn.post(body, headers)
