from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    """Payouts to bank accounts and reconciliation with the processor."""

    name = "payments.payouts"
    label = "payouts"
    verbose_name = "Payouts"

    def ready(self) -> None:
        # A person's data export and account closing (accounts sits below us and asks
        # through its registries, without importing us).
        from accounts.closing import closing_check_register, closing_eraser_register
        from accounts.exports import export_section_register
        from payments.payouts import privacy

        export_section_register("payouts", privacy.export_files)
        closing_check_register("payouts", privacy.closing_blockers)
        closing_eraser_register("payouts", privacy.closing_erase)

        # The wallet's statement links each payout line to its detail page.
        from payments.payouts.payment_details import payout_detail
        from payments.wallets.selectors import payment_detail_register

        payment_detail_register("payout-request", payout_detail)
