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
