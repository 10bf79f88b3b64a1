from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import health


@never_cache
@require_GET
def healthz(request):
    ok, components = health.overall()
    return JsonResponse(
        {"status": "ok" if ok else "degraded", "components": components},
        status=200 if ok else 503,
    )


def favicon(request):
    # Resolved per request: the hashed static name exists only after collectstatic.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


# --- errors: JSON under /api/, Django's pages elsewhere ------------------------------------
# A client of the API never gets an HTML page: an unknown path and an unhandled error answer
# with the one error shape (core.api.errors). Wrong methods are DRF's 405 already.
API_PREFIX = "/api/"


def handler404(request, exception=None):
    if request.path.startswith(API_PREFIX):
        from core.api.errors import error_body

        return JsonResponse(error_body("not_found", "No such endpoint or object."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith(API_PREFIX):
        from core.api.errors import error_body

        body = error_body(
            "server_error",
            "Something went wrong on our side; nothing more was done. Try again later.",
            {"request_id": getattr(request, "request_id", None) or ""},
        )
        return JsonResponse(body, status=500)
    from django.views.defaults import server_error

    return server_error(request)
