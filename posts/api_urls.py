"""REST API v1 endpoints of this app, mounted under /api/v1/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
