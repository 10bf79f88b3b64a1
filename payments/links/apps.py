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
        from payments.creators.services.guests import link_slug_resolver_register
        from payments.links import privacy
        from payments.links.models import PaymentLink

        export_section_register("links", privacy.export_files)
        closing_eraser_register("links", privacy.closing_erase)

        # A guest's link payment settles in payments.creators; its webhook event names the
        # link by slug, as the wallet payment's event and the API do.
        link_slug_resolver_register(
            lambda link_id: (
                PaymentLink.objects.filter(pk=link_id).values_list("slug", flat=True).first() or ""
            )
        )
