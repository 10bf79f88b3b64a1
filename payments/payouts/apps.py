from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    """Payouts to bank accounts and reconciliation with the processor."""

    name = "payments.payouts"
    label = "payouts"
    verbose_name = "Payouts"

    def ready(self) -> None:
        # The wallet's statement links each payout line to its detail page.
        from payments.payouts.payment_details import payout_detail
        from payments.wallets.selectors import payment_detail_register

        payment_detail_register("payout-request", payout_detail)
