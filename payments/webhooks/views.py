"""``POST /webhooks/{processor}``: no session, no CSRF (the signature is the
authentication), answers in the API's error shape and never with a 500 for bad input."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.api.errors import error_body
from core.api.throttling import WebhookRateThrottle
from payments.webhooks.services import webhook_receive


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


@csrf_exempt
def webhook_intake(request: HttpRequest, processor: str) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Use POST.")
        response["Allow"] = "POST"
        return response
    throttle = WebhookRateThrottle()
    if not throttle.allow_request(request, None):
        # Per client address (core.client_ip); a processor retries a 429 later.
        response = _error(429, "throttled", "Too many webhook requests. Retry later.")
        response["Retry-After"] = str(int(throttle.wait() or 1))
        return response
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isascii() or not declared.isdigit():
        return _error(400, "malformed_request", "Content-Length is not a number.")
    if int(declared) > limit:
        return _error(413, "payload_too_large", "The webhook body is too large.")
    # Read at most one byte past the limit: a body without a truthful length is cut off.
    body = request.read(limit + 1)
    result = webhook_receive(processor=processor, body=body, headers=request.headers)
    if not result.ok:
        return _error(result.status, result.code, result.message)
    return JsonResponse({"received": True, "duplicate": result.code == "duplicate"})
