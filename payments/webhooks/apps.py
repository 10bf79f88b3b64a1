from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Processor webhooks: intake, event store and handler registry."""

    name = "payments.webhooks"
    label = "webhooks"
    verbose_name = "Processor webhooks"
