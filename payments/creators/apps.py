from django.apps import AppConfig


class CreatorsConfig(AppConfig):
    """Creator earnings: tips, paid posts, products and orders, memberships."""

    name = "payments.creators"
    label = "creators"
    verbose_name = "Creators"

    def ready(self) -> None:
        # Unlocks and memberships decide who reads locked text on timelines (posts asks
        # through posts.locked, without importing us).
        from payments.creators import selectors
        from payments.creators.services import post_with_extras_publish
        from posts.locked import locked_access_rule_register
        from posts.publishing import paid_post_publisher_register

        locked_access_rule_register(lambda viewer: selectors.shown_locked_access_q(viewer=viewer))
        # The post API and the composer take locked text, a price, a tier and a product
        # in the same request as the post.
        paid_post_publisher_register(post_with_extras_publish)
        # A post's products (title, price, Buy) on its card in every timeline, loaded in
        # the timeline's own query.
        from posts.shown_parts import shown_part_register

        shown_part_register("shown_products", selectors.shown_products_annotation)
        # A creator's profile has Shop and Memberships tabs (posts asks through
        # posts.profile_tabs, without importing us).
        from payments.creators.profile_tabs import MEMBERSHIPS, SHOP
        from posts.profile_tabs import profile_tab_register

        profile_tab_register(SHOP)
        profile_tab_register(MEMBERSHIPS)
        # The wallet statement (on screen and in the CSV) says who each tip, unlock, order
        # and membership line was with; the wallet asks us without importing us.
        # Each kind's detail page too (the wallet's /wallet/payments/<kind>/<id>).
        from payments.creators import payment_details as details
        from payments.wallets.selectors import statement_describer

        statement_describer("tip", detail=details.tip_detail)(selectors.tip_statement_descriptions)
        statement_describer("unlock", detail=details.unlock_detail)(
            selectors.unlock_statement_descriptions
        )
        statement_describer("order", detail=details.order_detail)(
            selectors.order_statement_descriptions
        )
        statement_describer("membership", detail=details.membership_detail)(
            selectors.membership_statement_descriptions
        )
        statement_describer("guest_payment")(selectors.guest_payment_statement_descriptions)

        # A guest's card payments follow the e-mail address once someone verifies it.
        from allauth.account.signals import email_confirmed

        email_confirmed.connect(_claim_guest_payments, dispatch_uid="creators.guest_claim")

        # A person's data export and account closing (accounts sits below us and asks
        # through its registries, without importing us).
        from accounts.closing import closing_check_register, closing_eraser_register
        from accounts.exports import export_section_register
        from payments.creators import privacy

        export_section_register("creators", privacy.export_files)
        closing_check_register("creators", privacy.closing_blockers)
        closing_eraser_register("creators", privacy.closing_erase)


def _claim_guest_payments(sender, request=None, email_address=None, **kwargs) -> None:
    from payments.creators.services.guests import guest_payments_claim

    if email_address is not None and email_address.user_id:
        guest_payments_claim(user=email_address.user)
