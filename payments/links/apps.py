from django.apps import AppConfig


class LinksConfig(AppConfig):
    """Payment links: shareable, unguessable links that ask for money."""

    name = "payments.links"
    label = "links"
    verbose_name = "Payment links"

    def ready(self) -> None:
        # A person's data export and account closing (accounts sits below us and asks
        # through its registries, without importing us).
        from accounts.closing import closing_eraser_register
        from accounts.exports import export_section_register
        from payments.links import privacy

        export_section_register("links", privacy.export_files)
        closing_eraser_register("links", privacy.closing_erase)
