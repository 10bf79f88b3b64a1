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
        # The wallet statement (on screen and in the CSV) says who each tip, unlock, order
        # and membership line was with; the wallet asks us without importing us.
        from payments.wallets.selectors import statement_describer

        statement_describer("tip")(selectors.tip_statement_descriptions)
        statement_describer("unlock")(selectors.unlock_statement_descriptions)
        statement_describer("order")(selectors.order_statement_descriptions)
        statement_describer("membership")(selectors.membership_statement_descriptions)
