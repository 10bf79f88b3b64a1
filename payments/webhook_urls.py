"""Processor webhooks, mounted at /webhooks/."""

from django.urls import path

from payments.webhooks.views import webhook_intake

urlpatterns: list = [
    path("<str:processor>", webhook_intake, name="webhook-intake"),
]
