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
