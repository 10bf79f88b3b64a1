from django.apps import AppConfig


class WalletsConfig(AppConfig):
    """Wallets: top-ups, transfers, money requests, limits and receipts."""

    name = "payments.wallets"
    label = "wallets"
    verbose_name = "Wallets"

    def ready(self) -> None:
        # A person's data export and account closing (accounts sits below us and asks
        # through its registries, without importing us).
        from accounts.closing import closing_check_register, closing_eraser_register
        from accounts.exports import export_section_register
        from payments.wallets import privacy

        export_section_register("wallets", privacy.export_files)
        closing_check_register("wallets", privacy.closing_blockers)
        closing_eraser_register("wallets", privacy.closing_erase)
