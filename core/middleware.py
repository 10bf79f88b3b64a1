"""Request id: taken from a trusted ``X-Request-ID`` header or made up, bound to every log
line of the request (with the client's address) and echoed back in the response."""

from __future__ import annotations

import re
import uuid

import structlog

from core.client_ip import client_ip

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
log = structlog.get_logger(__name__)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        # An arbitrary header value would let a client inject text into our logs.
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        # The client's address as the trusted-proxy setting derives it (core.client_ip),
        # never a raw X-Forwarded-For, so that logs name the same client the limits count.
        structlog.contextvars.bind_contextvars(request_id=request_id, client_ip=client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id", "client_ip")
        response["X-Request-ID"] = request_id
        return response
