import hmac
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import (
    HttpResponse,
    HttpResponseNotFound,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.template import loader
from django.templatetags.static import static
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import health
from core.metrics import DATABASE_UNAVAILABLE


def _health_response(ok: bool, components: dict) -> JsonResponse:
    return JsonResponse(
        {"status": "ok" if ok else "degraded", "components": components},
        status=200 if ok else 503,
    )


@never_cache
@require_GET
def livez(request):
    """The process answers requests; touches nothing else (a failing database must not get
    every web container restarted)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Ready to serve: the database and the broker answer. No Celery worker is asked."""
    return _health_response(*health.readiness())


@never_cache
@require_GET
def healthz(request):
    """The whole stack, Celery workers included."""
    return _health_response(*health.overall())


@never_cache
@require_GET
def metrics(request):
    """Prometheus exposition, for whoever holds ``METRICS_TOKEN`` (as a Bearer token).
    Without a configured token the endpoint does not exist."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from core.metrics import registry

    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return HttpResponseNotFound()
    return HttpResponse(generate_latest(registry(scrape=True)), content_type=CONTENT_TYPE_LATEST)


def favicon(request):
    # Resolved per request: the hashed static name exists only after collectstatic.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def server_error(request):
    """Django's handler500, except that an unreachable database answers 503 with
    ``Retry-After``: nothing is wrong with the request, it is worth sending again shortly.

    Django calls this from inside its exception handler, so ``sys.exc_info()`` is the
    error, wherever it was raised (a view, a middleware reading the session, a template).
    Persistent connections that broke are replaced at the next request
    (``CONN_HEALTH_CHECKS``), so the site recovers by itself when PostgreSQL is back.
    """
    exc = sys.exc_info()[1]
    if not isinstance(exc, OperationalError | InterfaceError):
        return defaults.server_error(request)
    DATABASE_UNAVAILABLE.inc()
    retry_after = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS)
    if request.path.startswith(("/api/", "/webhooks/")) or "json" in request.headers.get(
        "Accept", ""
    ):
        from core.api.errors import error_body
        from core.error_messages import error_message

        response: HttpResponse = JsonResponse(
            error_body("service_unavailable", error_message("service_unavailable")), status=503
        )
    else:
        # Rendered without a request, as the 500 page is: nothing here may need the database.
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = retry_after
    return response


# --- errors: JSON under /api/, Django's pages elsewhere ------------------------------------
# A client of the API never gets an HTML page: an unknown path and an unhandled error answer
# with the one error shape (core.api.errors). Wrong methods are DRF's 405 already.
API_PREFIX = "/api/"


def handler404(request, exception=None):
    if request.path.startswith(API_PREFIX):
        from core.api.errors import error_body

        return JsonResponse(error_body("not_found", "No such endpoint or object."), status=404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    """An unreachable database is a 503 (``server_error``); any other unhandled error under
    /api/ is the error shape, elsewhere Django's page."""
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        return server_error(request)
    if request.path.startswith(API_PREFIX):
        from core.api.errors import error_body

        body = error_body(
            "server_error",
            "Something went wrong on our side; nothing more was done. Try again later.",
            {"request_id": getattr(request, "request_id", None) or ""},
        )
        return JsonResponse(body, status=500)
    return defaults.server_error(request)
#: What crawlers may not fetch: people's money, settings and sign-in, the API, and payment
#: links (shared on purpose, but never to be listed).
ROBOTS_DISALLOW = (
    "/accounts/",
    "/admin/",
    "/api/",
    "/wallet",
    "/links",
    "/payouts",
    "/fx/",
    "/orders",
    "/memberships",
    "/creator/",
    "/settings",
    "/notifications",
    "/qr/",
    "/embed/",
)


@require_GET
def robots_txt(request):
    from django.http import HttpResponse
    from django.urls import reverse

    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW)]
    lines.append(f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
