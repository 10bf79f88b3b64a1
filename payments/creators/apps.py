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
        from payments.creators.api import paid_post_publish
        from posts.locked import locked_access_rule_register
        from posts.publishing import paid_post_publisher_register

        locked_access_rule_register(lambda viewer: selectors.shown_locked_access_q(viewer=viewer))
        # The post API takes locked text, a price and a tier in the same request.
        paid_post_publisher_register(paid_post_publish)
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
