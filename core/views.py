from django.http import JsonResponse
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
