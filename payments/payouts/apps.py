from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    """Payouts to bank accounts and reconciliation with the processor."""

    name = "payments.payouts"
    label = "payouts"
    verbose_name = "Payouts"
