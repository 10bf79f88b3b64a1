"""The site's URLs plus two views that fail on purpose, for the error page tests."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from socialpay.urls import urlpatterns as site_urlpatterns


def forbidden(request):
    raise PermissionDenied


def broken(request):
    raise RuntimeError("deliberate failure for the 500 page test")


urlpatterns = [
    path("test-errors/forbidden", forbidden),
    path("test-errors/broken", broken),
    *site_urlpatterns,
]
