"""The project's URLs plus uploaded files served from MEDIA_ROOT, for browser tests (the
live server runs without DEBUG, and in production a proxy or object store serves them)."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from socialpay.urls import urlpatterns as project_urlpatterns


def media(request, path: str):
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [re_path(r"^media/(?P<path>.*)$", media), *project_urlpatterns]
