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
        from posts.locked import locked_access_rule_register

        locked_access_rule_register(lambda viewer: selectors.shown_locked_access_q(viewer=viewer))
