from django.apps import AppConfig


class HooksConfig(AppConfig):
    """Outgoing webhooks: endpoints, events, deliveries and their attempts."""

    name = "payments.hooks"
    label = "hooks"
    verbose_name = "Outgoing webhooks"
