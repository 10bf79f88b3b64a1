"""Request id: taken from a trusted ``X-Request-ID`` header or made up, bound to every log
line of the request (with the client's address) and echoed back in the response. And the
request metrics."""

from __future__ import annotations

import re
import time
import uuid

import structlog

from core.client_ip import client_ip
from core.logging import USER_ID_ENVIRON_KEY, current_request, request_user_id
from core.metrics import HTTP_LATENCY, HTTP_REQUESTS

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
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
            structlog.contextvars.unbind_contextvars("request_id", "client_ip")
        response["X-Request-ID"] = request_id
        user_id = request_user_id(request)
        if user_id is not None:
            request.META[USER_ID_ENVIRON_KEY] = user_id
        return response


class MetricsMiddleware:
    """Counts every response by view (the URL pattern's name, so the label set stays small
    whatever the ids in paths), method and status, and times it. Outermost, so that it
    sees the answers of every other middleware too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.route or "unnamed") if match else "unresolved"
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(view=view, method=method, status=str(response.status_code)).inc()
        HTTP_LATENCY.labels(view=view, method=method).observe(time.perf_counter() - started)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
