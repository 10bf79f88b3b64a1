from django.apps import AppConfig


class DisputesConfig(AppConfig):
    """Card disputes (chargebacks) against top-ups and card payments."""

    name = "payments.disputes"
    label = "disputes"
    verbose_name = "Disputes"

    def ready(self) -> None:
        # A person's data export and account closing (accounts sits below us and asks
        # through its registries, without importing us).
        from accounts.closing import closing_check_register
        from accounts.exports import export_section_register
        from payments.disputes import privacy

        export_section_register("disputes", privacy.export_files)
        closing_check_register("disputes", privacy.closing_blockers)
