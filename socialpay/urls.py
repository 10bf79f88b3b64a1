from django.contrib import admin
from django.contrib.sitemaps.views import index as sitemap_index
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.styleguide import styleguide, styleguide_css
from core.views import favicon, healthz, livez, metrics, readyz, robots_txt
from posts.sitemaps import SITEMAPS
from posts.views import home

# An unreachable database answers 503 with Retry-After instead of 500 (core.views).

# Each app owns its endpoints; this file only mounts them.
api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("posts.api_urls")),
    path("", include("payments.api_urls")),
]

urlpatterns = [
    path("", home, name="home"),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", favicon),
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("robots.txt", robots_txt, name="robots"),
    path("styleguide", styleguide, name="styleguide"),
    path("styleguide.css", styleguide_css, name="styleguide-css"),
    path("sitemap.xml", sitemap_index, {"sitemaps": SITEMAPS}, name="sitemap"),
    path(
        "sitemap-<section>.xml",
        sitemap,
        {"sitemaps": SITEMAPS},
        name="django.contrib.sitemaps.views.sitemap",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("webhooks/", include("payments.webhook_urls")),
    path("", include("accounts.urls")),
    path("", include("posts.urls")),
    path("", include("payments.urls")),
]

# Under /api/ these answer JSON in the API's error shape; elsewhere Django's pages.
handler404 = "core.views.handler404"
handler500 = "core.views.handler500"
