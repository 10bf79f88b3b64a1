from django.apps import AppConfig


class LinksConfig(AppConfig):
    """Payment links: shareable, unguessable links that ask for money."""

    name = "payments.links"
    label = "links"
    verbose_name = "Payment links"
