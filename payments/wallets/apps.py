from django.apps import AppConfig


class WalletsConfig(AppConfig):
    """Wallets: top-ups, transfers, money requests, limits and receipts."""

    name = "payments.wallets"
    label = "wallets"
    verbose_name = "Wallets"
