"""The site's URLs and error handlers plus an API view that fails on purpose."""

from django.urls import path

from socialpay.urls import handler404, handler500  # noqa: F401 - Django reads them here
from socialpay.urls import urlpatterns as site_urlpatterns


def broken(request):
    raise RuntimeError("deliberate failure for the API 500 test")


urlpatterns = [path("api/v1/test-errors/broken", broken), *site_urlpatterns]
