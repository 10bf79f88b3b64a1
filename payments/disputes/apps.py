from django.apps import AppConfig


class DisputesConfig(AppConfig):
    """Card disputes (chargebacks) against top-ups and card payments."""

    name = "payments.disputes"
    label = "disputes"
    verbose_name = "Disputes"
